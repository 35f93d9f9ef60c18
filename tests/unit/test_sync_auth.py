"""SMART Backend Services on the client side: the assertion's claims and signature, token
discovery and caching until shortly before expiry, refusals as AuthErrors without secrets,
and keys checked against the algorithm."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qs

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from app.sync.auth import EXPIRY_MARGIN, BearerAuth, SmartAuth, load_private_key
from app.sync.errors import AuthError, ConfigError, TransientError
from app.sync.transport import HttpResponse, HttpTransport

BASE = "https://ehr.example.org/fhir/R4"
TOKEN_URL = "https://ehr.example.org/oauth2/token"
EC_KEY = ec.generate_private_key(ec.SECP384R1())


class TokenServer(HttpTransport):
    """A token endpoint (and its .well-known) that records the assertions it was sent."""

    def __init__(self, *token_answers: tuple[int, dict[str, object]]) -> None:
        super().__init__()
        self.answers = list(token_answers)
        self.assertions: list[str] = []
        self.urls: list[str] = []

    def request(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        self.urls.append(url)
        if url.endswith("/.well-known/smart-configuration"):
            return HttpResponse(200, {}, json.dumps({"token_endpoint": TOKEN_URL}).encode())
        form = parse_qs((body or b"").decode())
        assert form["grant_type"] == ["client_credentials"]
        self.assertions += form["client_assertion"]
        status, answer = self.answers.pop(0)
        return HttpResponse(status, {}, json.dumps(answer).encode())


class Clock:
    t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


def token(value: str, lifetime: int = 300) -> tuple[int, dict[str, object]]:
    return 200, {"access_token": value, "token_type": "bearer", "expires_in": lifetime}


def test_the_assertion_is_what_smart_asks_for_and_the_token_is_cached() -> None:
    server, clock = TokenServer(token("t1"), token("t2")), Clock()
    auth = SmartAuth(BASE, "station-7", EC_KEY, "ec1", "ES384", clock=clock)
    assert auth.authorization(server) == "Bearer t1"
    assert server.urls == [BASE + "/.well-known/smart-configuration", TOKEN_URL]
    (assertion,) = server.assertions
    assert jwt.get_unverified_header(assertion) == {"alg": "ES384", "kid": "ec1", "typ": "JWT"}
    claims = jwt.decode(
        assertion,
        EC_KEY.public_key(),
        algorithms=["ES384"],
        audience=TOKEN_URL,
        options={"verify_exp": False},
    )  # the clock is a fake one
    assert claims["iss"] == claims["sub"] == "station-7"
    assert 0 < claims["exp"] - clock.t <= 300
    clock.t += 300 - EXPIRY_MARGIN - 1
    assert auth.authorization(server) == "Bearer t1"  # cached
    clock.t += 1
    assert auth.authorization(server) == "Bearer t2"  # renewed shortly before expiry
    assert len(server.urls) == 3  # discovered once
    assert len(set(server.assertions)) == 2  # a fresh jti each time
    assert auth.tokens_fetched == 2


def test_after_invalidate_a_new_token_is_fetched() -> None:
    server = TokenServer(token("t1"), token("t2"))
    auth = SmartAuth(BASE, "c", EC_KEY, "ec1", "ES384", token_url=TOKEN_URL)
    assert auth.authorization(server) == "Bearer t1"
    assert auth.invalidate()
    assert auth.authorization(server) == "Bearer t2"
    assert server.urls == [TOKEN_URL, TOKEN_URL]  # no discovery with a given URL


def test_a_refused_token_request_is_an_auth_error_without_the_assertion() -> None:
    server = TokenServer((400, {"error": "invalid_client", "error_description": "bad jwt"}))
    auth = SmartAuth(BASE, "c", EC_KEY, "ec1", "ES384", token_url=TOKEN_URL)
    with pytest.raises(AuthError, match=r"refused: invalid_client \(bad jwt\)"):
        auth.authorization(server)

    class Echoing(TokenServer):
        def request(
            self,
            method: str,
            url: str,
            body: bytes | None = None,
            headers: Mapping[str, str] | None = None,
        ) -> HttpResponse:
            sent = parse_qs((body or b"").decode())["client_assertion"][0]
            return HttpResponse(
                400, {}, json.dumps({"error": "invalid_client", "error_description": sent}).encode()
            )

    with pytest.raises(AuthError) as raised:
        auth.authorization(Echoing())
    assert "eyJ" not in str(raised.value)
    assert "[secret]" in str(raised.value)


def test_a_token_service_that_is_down_is_transient() -> None:
    auth = SmartAuth(BASE, "c", EC_KEY, "ec1", "ES384", token_url=TOKEN_URL)
    with pytest.raises(TransientError, match="HTTP 503"):
        auth.authorization(TokenServer((503, {})))
    with pytest.raises(TransientError, match="without an access token"):
        auth.authorization(TokenServer((200, {"token_type": "bearer"})))


def test_keys_must_fit_the_algorithm(tmp_path: Path) -> None:
    def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, name: str) -> Path:
        path = tmp_path / name
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return path

    rsa_path = pem(rsa.generate_private_key(65537, 2048), "rsa.pem")
    ec_path = pem(EC_KEY, "ec.pem")
    p256 = pem(ec.generate_private_key(ec.SECP256R1()), "p256.pem")
    assert isinstance(load_private_key(rsa_path, "RS384"), rsa.RSAPrivateKey)
    assert isinstance(load_private_key(ec_path, "ES384"), ec.EllipticCurvePrivateKey)
    with pytest.raises(ConfigError, match="cannot sign RS384"):
        load_private_key(ec_path, "RS384")
    with pytest.raises(ConfigError, match="P-384"):
        load_private_key(p256, "ES384")
    (tmp_path / "junk.pem").write_text("-----BEGIN PRIVATE KEY-----\nnope\n")
    with pytest.raises(ConfigError, match="not an unencrypted PEM private key") as raised:
        load_private_key(tmp_path / "junk.pem", "RS384")
    assert "nope" not in str(raised.value)


def test_reprs_hide_the_secrets() -> None:
    assert "s3cret" not in repr(BearerAuth("s3cret"))
    smart = SmartAuth(BASE, "c", EC_KEY, "ec1", "ES384")
    assert "[secret]" in repr(smart)
    with pytest.raises(ConfigError, match="white space"):
        BearerAuth("two words")
