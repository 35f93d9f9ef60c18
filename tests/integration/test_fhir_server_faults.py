"""The test server's fault hooks and auth modes behave as the sync tests will rely on: 5xx and
429 with Retry-After, slow answers, dropped and cut connections, malformed bodies, answers lost
after a commit, 401/403, and the SMART Backend Services token flow."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fhir_server.fixture import FhirServer, FhirServerError
from tests.fhir_server.rest import request
from tests.fhir_server.smart import client_assertion, key_pair, token_form, write_clients

PATIENT = {"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "A1"}]}
IF_NONE = {"If-None-Exist": "identifier=urn:mrn|A1"}


def test_a_5xx_fault_answers_for_its_count_then_the_server_does(fhir_server: FhirServer) -> None:
    fault = fhir_server.inject(match="^GET /fhir/R4/Patient$", times=2, status=503,
                               headers={"Retry-After": "1"})  # fmt: skip
    url = fhir_server.base_url + "/Patient"
    for _ in range(2):
        resp = request("GET", url)
        assert (resp.status, resp.headers["Retry-After"]) == (503, "1")
        assert resp.json()["issue"][0]["code"] == "transient"
    assert request("GET", fhir_server.base_url + "/metadata").status == 200  # not matched
    assert request("GET", url).status == 200
    log = fhir_server.requests()
    assert [(r["status"], r["fault"], r["handled"]) for r in log] == [
        (503, fault, False), (503, fault, False), (200, None, True), (200, None, True)
    ]  # fmt: skip
    assert fhir_server.faults() == []


def test_a_throttled_answer(fhir_server: FhirServer) -> None:
    fhir_server.inject(times=1, status=429, headers={"Retry-After": "2"})
    resp = request("GET", fhir_server.base_url + "/Patient")
    assert (resp.status, resp.json()["issue"][0]["code"]) == (429, "throttled")


def test_a_slow_answer_times_the_client_out_but_is_still_committed(
    fhir_server: FhirServer,
) -> None:
    fhir_server.inject(times=1, delay_ms=1500)
    with pytest.raises(TimeoutError):
        request("POST", fhir_server.base_url + "/Patient", PATIENT, IF_NONE, timeout=0.3)
    deadline = time.monotonic() + 10
    while fhir_server.stats().get("Patient") != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fhir_server.stats() == {"Patient": 1}
    again = request("POST", fhir_server.base_url + "/Patient", PATIENT, IF_NONE)
    assert again.status == 200  # the resend finds it: no duplicate


def test_an_answer_lost_after_the_commit(fhir_server: FhirServer) -> None:
    fhir_server.inject(times=1, status=502, process=True)
    lost = request("POST", fhir_server.base_url + "/Patient", PATIENT, IF_NONE)
    assert lost.status == 502
    assert request("POST", fhir_server.base_url + "/Patient", PATIENT, IF_NONE).status == 200
    assert fhir_server.stats() == {"Patient": 1}


def test_a_dropped_connection(fhir_server: FhirServer) -> None:
    fhir_server.inject(times=1, drop=True)
    with pytest.raises(ConnectionError):
        request("POST", fhir_server.base_url + "/Patient", PATIENT, IF_NONE)
    assert fhir_server.stats() == {"Patient": 1}  # dropped after handling it


def test_a_cut_answer(fhir_server: FhirServer) -> None:
    fhir_server.inject(times=1, truncate=True)
    with pytest.raises(http.client.IncompleteRead):
        request("GET", fhir_server.base_url + "/metadata")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [("{not json", "application/fhir+json"), ("<html>Bad gateway</html>", "text/html"),
     ('{"resourceType": "Patient"}', "application/fhir+json")],
)  # fmt: skip
def test_malformed_answers(fhir_server: FhirServer, body: str, content_type: str) -> None:
    fhir_server.inject(times=1, body=body, content_type=content_type)
    resp = request("POST", fhir_server.base_url, {"resourceType": "Bundle", "type": "batch"})
    assert (resp.status, resp.body.decode(), resp.headers["Content-Type"]) == (
        200, body, content_type
    )  # fmt: skip
    assert fhir_server.stats() == {}  # a fault with its own answer never reaches the store


def test_a_mistyped_fault_is_refused(fhir_server: FhirServer) -> None:
    with pytest.raises(FhirServerError, match="unknown fault key"):
        fhir_server.inject(**json.loads('{"stauts": 500}'))
    with pytest.raises(FhirServerError, match="exclude"):
        fhir_server.inject(drop=True, truncate=True)


def test_a_static_bearer_token(fhir_server_factory: Callable[..., FhirServer]) -> None:
    server = fhir_server_factory({"FHIR_AUTH": "static", "FHIR_STATIC_TOKEN": "s3cret"})
    url = server.base_url + "/Patient"
    refused = request("GET", url)
    assert refused.status == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert request("GET", url, headers={"Authorization": "Bearer wrong"}).status == 401
    assert request("GET", url, headers={"Authorization": "Bearer s3cret"}).status == 200
    assert request("GET", server.base_url + "/metadata").status == 200  # public


def smart_server(
    factory: Callable[..., FhirServer], tmp_path: Path
) -> tuple[FhirServer, dict[str, Any]]:
    private, public = key_pair("ES384", "ec1")
    clients = write_clients(tmp_path / "clients.json", "station-7",
                            "system/Patient.cruds system/Observation.c", [public])  # fmt: skip
    server = factory({"FHIR_AUTH": "smart", "FHIR_AUTH_CLIENTS": str(clients)})
    return server, private


def get_token(server: FhirServer, private: dict[str, Any], scope: str, **claims: Any) -> Any:
    config = request("GET", server.base_url + "/.well-known/smart-configuration").json()
    token_url = config["token_endpoint"]
    assertion = client_assertion(private, "station-7", token_url, **claims)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    return request("POST", token_url, token_form(assertion, scope), form).json()


def test_the_smart_backend_services_flow(
    fhir_server_factory: Callable[..., FhirServer], tmp_path: Path
) -> None:
    server, private = smart_server(fhir_server_factory, tmp_path)
    assert request("GET", server.base_url + "/Patient").status == 401
    token = get_token(server, private, "system/Patient.cruds system/Observation.c")
    assert (token["token_type"], token["expires_in"]) == ("bearer", 300)
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    assert request("POST", server.base_url + "/Patient", PATIENT, auth).status == 201
    assert request("GET", server.base_url + "/Observation", headers=auth).status == 403  # c only
    assert server.revoke_tokens() == 1
    assert request("GET", server.base_url + "/Patient", headers=auth).status == 401


def test_smart_refuses_bad_assertions(
    fhir_server_factory: Callable[..., FhirServer], tmp_path: Path
) -> None:
    server, private = smart_server(fhir_server_factory, tmp_path)
    wrong_aud = get_token(server, private, "system/Patient.rs", aud="https://elsewhere/token")
    assert wrong_aud["error"] == "invalid_client"
    too_long = get_token(server, private, "system/Patient.rs", exp=int(time.time()) + 3600)
    assert too_long["error"] == "invalid_client"
    assert get_token(server, private, "system/Device.cruds")["error"] == "invalid_scope"
