"""The sync's credentials against a real server: a static bearer token (401 when wrong), 403
for what the credentials do not permit, and SMART Backend Services (RS384 and ES384 client
assertions, the token requested once, cached, and renewed after a 401). No secret ever
reaches a log record or an error message."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlite_utils import Database

from app.sync.auth import Algorithm, Auth, BearerAuth, PrivateKey, SmartAuth
from app.sync.client import FhirClient
from app.sync.errors import AuthError
from app.sync.naming import FhirNaming
from app.sync.outbox import Outbox
from app.sync.service import SyncReport, sync_once
from app.sync.transport import HttpResponse, HttpTransport
from tests.fakes.sync_record import MRN_SYSTEM, T0, BedRef, add_bed, fill_vitals, make_record
from tests.fhir_server.fixture import FhirServer

NAMING = FhirNaming(station_id="station-7", mrn_system=MRN_SYSTEM)
BED = BedRef("ICU-1", "A1234567", "SN-1")
CLIENT_ID = "vigil-station-7"
READ_ONLY = "vigil-reader"
ALL = "system/Patient.cruds system/Device.cruds system/Observation.cruds"
Make = Callable[..., FhirServer]


class RecordingTransport(HttpTransport):
    """The real transport, remembering every secret it carried (to look for them later)."""

    def __init__(self) -> None:
        super().__init__(timeout=5.0)
        self.secrets: list[str] = []

    def request(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        if headers and "Authorization" in headers:
            self.secrets.append(headers["Authorization"].split()[-1])
        if body and b"client_assertion=" in body:
            self.secrets += parse_qs(body.decode())["client_assertion"]
        resp = super().request(method, url, body, headers)
        if b"access_token" in resp.body:
            self.secrets.append(str(json.loads(resp.body)["access_token"]))
        return resp


@pytest.fixture
def record(tmp_path: Path) -> Iterator[tuple[Database, Path]]:
    path = tmp_path / "record.db"
    db = make_record(path)
    add_bed(db, BED)
    yield db, path
    db.close()


def push(path: Path, base: str, auth: Auth, transport: HttpTransport | None = None) -> SyncReport:
    outbox = Outbox.open(path)
    client = FhirClient(base, auth, transport=transport or HttpTransport(5.0))
    try:
        return sync_once(
            outbox, client, NAMING, sleep=lambda s: None, give_up_after=0.0, rng=random.Random(1)
        )
    finally:
        client.close()
        outbox.close()


@dataclass(frozen=True)
class Smart:
    server: FhirServer
    keys: dict[str, PrivateKey]  # by algorithm; kid = the algorithm's name


@pytest.fixture(scope="module")
def smart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Smart]:
    """One SMART server for the module: CLIENT_ID may do everything, READ_ONLY may not
    create Observations; each has an RS384 and an ES384 key."""
    rsa_key = rsa.generate_private_key(65537, 2048)
    ec_key = ec.generate_private_key(ec.SECP384R1())
    keys: dict[str, PrivateKey] = {"RS384": rsa_key, "ES384": ec_key}
    public = [
        jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True),
        jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True),
    ]
    jwks = [
        {**jwk, "kid": alg, "alg": alg, "use": "sig"} for jwk, alg in zip(public, keys, strict=True)
    ]
    tmp = tmp_path_factory.mktemp("smart")
    clients = [
        {"client_id": CLIENT_ID, "scope": ALL, "jwks": {"keys": jwks}},
        {
            "client_id": READ_ONLY,
            "scope": "system/Patient.crs system/Device.crs system/Observation.rs",
            "jwks": {"keys": jwks},
        },
    ]
    (tmp / "clients.json").write_text(json.dumps(clients))
    env = {"FHIR_AUTH": "smart", "FHIR_AUTH_CLIENTS": str(tmp / "clients.json")}
    with FhirServer(tmp / "server", env=env) as server:
        yield Smart(server, keys)


@pytest.fixture
def smart_server(smart: Smart) -> FhirServer:
    if not smart.server.running:
        smart.server.start()
    smart.server.reset()
    return smart.server


def smart_auth(
    smart: Smart, alg: Algorithm, client_id: str = CLIENT_ID, kid: str = ""
) -> SmartAuth:
    return SmartAuth(smart.server.base_url, client_id, smart.keys[alg], kid or alg, alg)


def token_requests(server: FhirServer) -> int:
    return sum(1 for r in server.requests() if r["url"] == "/auth/token")


def test_a_static_token_is_sent_and_a_wrong_one_stops_without_dead_letters(
    record: tuple[Database, Path], fhir_server_factory: Make
) -> None:
    db, path = record
    n = fill_vitals(db, BED, 2)
    server = fhir_server_factory(env={"FHIR_AUTH": "static", "FHIR_STATIC_TOKEN": "s3cret-t0k"})
    wrong = push(path, server.base_url, BearerAuth("not-it"))
    assert isinstance(wrong.error, AuthError)
    assert wrong.error.status == 401
    assert "refused the credentials" in str(wrong.error)
    assert (wrong.backlog, wrong.dead_letters) == (n, 0)  # the data are not at fault
    posts = [r for r in server.requests() if r["method"] == "POST"]
    assert len(posts) == 1  # no retrying a refusal
    right = push(path, server.base_url, BearerAuth("s3cret-t0k\n"))
    assert (right.drained, right.sent.total()) == (True, n)


def test_a_403_stops_the_sync_with_the_reason(
    record: tuple[Database, Path], fhir_server: FhirServer
) -> None:
    db, path = record
    fill_vitals(db, BED, 1)
    fhir_server.inject(match="^POST", status=403)
    report = push(path, fhir_server.base_url, BearerAuth("t"))
    assert isinstance(report.error, AuthError)
    assert report.error.status == 403
    assert "do not permit" in str(report.error)
    assert report.backlog == 4


@pytest.mark.parametrize("alg", ["RS384", "ES384"])
def test_smart_token_is_fetched_once_cached_and_renewed_after_a_401(
    record: tuple[Database, Path], smart: Smart, smart_server: FhirServer, alg: Algorithm
) -> None:
    db, path = record
    server = smart_server
    auth = smart_auth(smart, alg)
    n = fill_vitals(db, BED, 10)  # several bundles on one token
    report = push(path, server.base_url, auth)
    assert (report.drained, report.sent.total()) == (True, n)
    assert token_requests(server) == 1
    assert auth.tokens_fetched == 1
    server.revoke_tokens()  # e.g. the EHR restarted its auth service
    m = fill_vitals(db, BED, 5, start=T0 + 3600)
    again = push(path, server.base_url, auth)
    assert (again.drained, again.sent.total()) == (True, m)
    assert token_requests(server) == 2
    statuses = [r["status"] for r in server.requests() if r["url"] == "/fhir/R4"]
    assert statuses.count(401) == 1
    assert server.stats()["Observation"] == n + m


def test_smart_scopes_that_do_not_cover_the_write_give_a_403(
    record: tuple[Database, Path], smart: Smart, smart_server: FhirServer
) -> None:
    db, path = record
    fill_vitals(db, BED, 1)
    report = push(path, smart_server.base_url, smart_auth(smart, "ES384", READ_ONLY))
    assert isinstance(report.error, AuthError)
    assert report.error.status == 403
    assert "Observation.c" in str(report.error)


def test_secrets_never_reach_a_log_or_an_error_message(
    record: tuple[Database, Path],
    smart: Smart,
    smart_server: FhirServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    db, path = record
    fill_vitals(db, BED, 2)
    caplog.set_level(logging.DEBUG)
    server, key = smart_server, smart.keys["RS384"]
    transport = RecordingTransport()
    auth = smart_auth(smart, "RS384")
    ok = push(path, server.base_url, auth, transport)
    server.revoke_tokens()
    fill_vitals(db, BED, 1, start=T0 + 600)
    renewed = push(path, server.base_url, auth, transport)
    wrong_kid = smart_auth(smart, "RS384", kid="no-such-key")
    fill_vitals(db, BED, 1, start=T0 + 900)
    refused = push(path, server.base_url, wrong_kid, transport)
    assert ok.drained
    assert renewed.drained
    assert isinstance(refused.error, AuthError)
    assert "invalid_client" in str(refused.error)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    secrets = [*transport.secrets, *pem.splitlines()[1:-1]]
    assert len(transport.secrets) >= 6  # 3 assertions, 2 tokens, and the tokens as sent
    said = "\n".join(
        [
            caplog.text,
            *(r.getMessage() for r in caplog.records),
            str(refused.error),
            repr(auth),
            repr(wrong_kid),
        ]
    )
    assert "SMART access token obtained" in said  # the log does talk about tokens...
    assert [s for s in secrets if s in said] == []  # ...never showing one
