"""How the FHIR client sorts answers: success, transient (retry), rejected (dead letter),
auth and configuration errors; per-entry outcomes of bundles; Retry-After; one retry with a
new token after a 401."""

from __future__ import annotations

import inspect
import json
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from app.sync.auth import BearerAuth
from app.sync.client import FhirClient, outcome_text, retry_after
from app.sync.errors import AuthError, ConfigError, RejectedError, TransientError
from app.sync.transport import HttpResponse, HttpTransport, TransportError, tls_context

BASE = "https://ehr.example.org/fhir/R4"
OUTCOME = {
    "resourceType": "OperationOutcome",
    "issue": [
        {
            "severity": "error",
            "code": "code-invalid",
            "details": {"text": "bad unit"},
            "expression": ["Observation.valueQuantity.code"],
        }
    ],
}
Answer = HttpResponse | Exception


class FakeTransport(HttpTransport):
    """Answers from a script; remembers what was asked."""

    def __init__(self, *answers: Answer) -> None:
        super().__init__()
        self.answers = list(answers)
        self.sent: list[tuple[str, str, dict[str, str]]] = []

    def request(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        self.sent.append((method, url, dict(headers or {})))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def answer(status: int, body: object, headers: Mapping[str, str] | None = None) -> HttpResponse:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    # Names in lower case, as HttpTransport gives them.
    return HttpResponse(status, {k.lower(): v for k, v in (headers or {}).items()}, data)


def client(*answers: Answer) -> tuple[FhirClient, FakeTransport]:
    transport = FakeTransport(*answers)
    return FhirClient(BASE, transport=transport), transport


def bundle(n: int) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "batch", "entry": [{}] * n}


def response(*statuses: str, outcome: dict[str, Any] | None = None) -> HttpResponse:
    entries = [
        {"response": {"status": s, **({"outcome": outcome} if outcome and s[0] == "4" else {})}}
        for s in statuses
    ]
    return answer(200, {"resourceType": "Bundle", "type": "batch-response", "entry": entries})


def test_each_entry_of_a_batch_response_has_its_own_outcome() -> None:
    fhir, _ = client(response("201 Created", "200", "400 Bad Request", "503", outcome=OUTCOME))
    ok, found, bad, busy = fhir.post_bundle(bundle(4))
    assert (ok.status, ok.error, found.status, found.error) == (201, None, 200, None)
    assert isinstance(bad.error, RejectedError)
    assert str(bad.error) == "HTTP 400: bad unit @ Observation.valueQuantity.code"
    assert isinstance(busy.error, TransientError)


@pytest.mark.parametrize(
    ("reply", "error", "text"),
    [
        (answer(503, OUTCOME, {"Retry-After": "12"}), TransientError, "HTTP 503"),
        (answer(429, b"", {"Retry-After": "3"}), TransientError, "HTTP 429"),
        (answer(409, OUTCOME), TransientError, "HTTP 409"),
        (TransportError("POST to ehr: timed out", timed_out=True), TransientError, "timed out"),
        (answer(200, b"<html>maintenance</html>"), TransientError, "not a JSON object"),
        (
            answer(200, {"resourceType": "Bundle", "type": "batch-response", "entry": []}),
            TransientError,
            "malformed answer",
        ),
        (answer(400, OUTCOME), RejectedError, "HTTP 400: bad unit"),
        (answer(422, OUTCOME), RejectedError, "HTTP 422"),
        (answer(404, b"<html>Not Found</html>"), ConfigError, "is the FHIR base right"),
        (answer(302, b"", {"Location": "https://sso/"}), ConfigError, "redirected"),
        (answer(401, OUTCOME), AuthError, "refused the credentials"),
        (answer(403, OUTCOME), AuthError, "do not permit"),
    ],
)
def test_answers_are_sorted_into_what_the_sync_does(
    reply: Answer, error: type[Exception], text: str
) -> None:
    fhir, _ = client(reply)
    with pytest.raises(error, match=text) as raised:
        fhir.post_bundle(bundle(2))
    if isinstance(raised.value, TransientError) and isinstance(reply, HttpResponse):
        expected = {"12": 12.0, "3": 3.0}.get(reply.headers.get("retry-after", ""))
        assert raised.value.retry_after == expected


def test_a_401_gets_one_retry_only_when_the_auth_can_renew() -> None:
    fhir, transport = client(answer(401, OUTCOME), answer(401, OUTCOME))
    fhir.auth = BearerAuth("static")  # cannot renew: no retry
    with pytest.raises(AuthError):
        fhir.request("GET", "Patient")
    assert len(transport.sent) == 1

    class Renewing(BearerAuth):
        renewed = 0

        def invalidate(self) -> bool:
            self.renewed += 1
            return True

    renewing = Renewing("tok")
    fhir, transport = client(answer(401, OUTCOME), answer(200, {"resourceType": "Bundle"}))
    fhir.auth = renewing
    assert fhir.request("GET", "Patient") == {"resourceType": "Bundle"}
    assert (len(transport.sent), renewing.renewed) == (2, 1)
    fhir, transport = client(answer(401, OUTCOME), answer(401, OUTCOME))
    fhir.auth = renewing
    with pytest.raises(AuthError):
        fhir.request("GET", "Patient")
    assert len(transport.sent) == 2  # once more, not forever


def test_requests_carry_json_headers_and_the_token() -> None:
    fhir, transport = client(
        answer(200, {"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1"})
    )
    fhir.auth = BearerAuth("abc")
    fhir.capabilities()
    method, url, headers = transport.sent[0]
    assert (method, url) == ("GET", BASE + "/metadata")
    assert headers == {"Accept": "application/fhir+json", "Authorization": "Bearer abc"}


def test_only_an_r4_server_is_accepted() -> None:
    fhir, _ = client(answer(200, {"resourceType": "CapabilityStatement", "fhirVersion": "5.0.0"}))
    with pytest.raises(ConfigError, match="not a FHIR R4 server"):
        fhir.capabilities()


def test_a_base_must_be_http_and_plain_http_off_loopback_is_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(ConfigError, match="http"):
        FhirClient("ftp://ehr/fhir")
    FhirClient("http://127.0.0.1:8103/fhir/R4").close()
    assert caplog.records == []
    FhirClient("http://ehr.example.org/fhir").close()
    assert "unencrypted" in caplog.text


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after("120") == 120.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0
    assert retry_after("soon") is None
    assert retry_after(None) is None


def test_outcome_text_joins_issues() -> None:
    two = {"issue": [{"diagnostics": "a"}, {"code": "processing", "expression": ["X.y"]}]}
    assert outcome_text(two) == "a; processing @ X.y"
    assert outcome_text({}) == "(no diagnostics)"


def test_tls_is_always_verified(tmp_path: Path) -> None:
    context = tls_context()
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
    # A CA bundle that cannot be used is an error, never a connection without checks.
    with pytest.raises(ConfigError, match="cannot use the CA bundle"):
        tls_context(str(tmp_path / "missing-ca.pem"))
    assert "verify" not in inspect.signature(HttpTransport).parameters
    assert "verify" not in inspect.signature(FhirClient).parameters
