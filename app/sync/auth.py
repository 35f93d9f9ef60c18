"""Credentials for the EHR: none, a static bearer token, or SMART Backend Services.

SMART Backend Services (SMART App Launch 2.x, "client-confidential-asymmetric"): the station
signs a short-lived client assertion (a JWT, RS384 or ES384, ``iss`` = ``sub`` = client id,
``aud`` = the token URL, a fresh ``jti``) with its private key and trades it for an access
token (``client_credentials``). There is no refresh token; the token is cached until
:data:`EXPIRY_MARGIN` before it expires, and a new assertion is signed after that or after a
401. The token URL comes from ``.well-known/smart-configuration`` unless given.

Secrets (the token, the key, the assertion) are never put in a message, a log record or a
``repr``; a server's error text is scrubbed of them in case it echoes the request.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Literal, NoReturn, Protocol
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from app.sync.errors import AuthError, ConfigError, TransientError, scrub
from app.sync.transport import HttpResponse, HttpTransport, TransportError

log = logging.getLogger(__name__)

Algorithm = Literal["RS384", "ES384"]
ALGORITHMS: tuple[Algorithm, ...] = ("RS384", "ES384")
# Least privilege for what the sync does: conditional creates (c + s) and the admit dialog's
# lookup (r + s) of Patients, Devices and Observations.
DEFAULT_SCOPE = "system/Patient.crs system/Device.crs system/Observation.crs"
EXPIRY_MARGIN = 30.0  # s: a token is renewed this long before it expires
ASSERTION_LIFETIME = 240  # s: SMART allows at most 5 min
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class Auth(Protocol):
    def authorization(self, transport: HttpTransport) -> str | None:
        """The ``Authorization`` header's value, or None for no header."""

    def invalidate(self) -> bool:
        """Forget a cached token after a 401; True if a new one may succeed (retry once)."""


class NoAuth:
    def authorization(self, transport: HttpTransport) -> str | None:
        return None

    def invalidate(self) -> bool:
        return False


class BearerAuth:
    """A fixed token (e.g. from a file the site provisions); a 401 is final."""

    def __init__(self, token: str) -> None:
        token = token.strip()
        if not token or any(c.isspace() for c in token):
            raise ConfigError("the bearer token is empty or contains white space")
        self._token = token

    def __repr__(self) -> str:
        return "BearerAuth(token=[secret])"

    def authorization(self, transport: HttpTransport) -> str | None:
        return f"Bearer {self._token}"

    def invalidate(self) -> bool:
        return False


PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def load_private_key(path: Path, alg: Algorithm) -> PrivateKey:
    """The PEM private key at ``path``, checked to fit ``alg`` (the message never shows it)."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"cannot read the key file {path}: {err.strerror}") from err
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{path} is not an unencrypted PEM private key") from err
    if alg == "RS384" and isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise ConfigError(f"{path}: RS384 needs an RSA key of at least 2048 bits")
        return key
    if alg == "ES384" and isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP384R1):
            raise ConfigError(f"{path}: ES384 needs a P-384 key, not {key.curve.name}")
        return key
    raise ConfigError(f"{path} holds a {type(key).__name__}, which cannot sign {alg}")


class SmartAuth:
    """SMART Backend Services with a private_key_jwt client assertion; thread-safe."""

    def __init__(
        self,
        fhir_base: str,
        client_id: str,
        key: PrivateKey,
        key_id: str,
        alg: Algorithm,
        *,
        scope: str = DEFAULT_SCOPE,
        token_url: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if alg not in ALGORITHMS:
            raise ConfigError(f"SMART assertions are signed with one of {ALGORITHMS}, not {alg}")
        if not client_id or not key_id:
            raise ConfigError("SMART needs a client id and the key's id (kid)")
        self._base = fhir_base.rstrip("/")
        self._client_id = client_id
        self._key = key
        self._key_id = key_id
        self._alg = alg
        self._scope = scope
        self._token_url = token_url
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires = 0.0
        self.tokens_fetched = 0  # how many tokens were requested (tests, diagnostics)

    def __repr__(self) -> str:
        return f"SmartAuth(client_id={self._client_id!r}, alg={self._alg}, key=[secret])"

    def authorization(self, transport: HttpTransport) -> str | None:
        with self._lock:
            if self._token is None or self._clock() >= self._expires - EXPIRY_MARGIN:
                self._token = None
                self._fetch(transport)
            return f"Bearer {self._token}"

    def invalidate(self) -> bool:
        with self._lock:
            self._token = None
        return True

    def _fetch(self, transport: HttpTransport) -> None:
        url = self._token_url or self._discover(transport)
        now = self._clock()
        claims = {
            "iss": self._client_id,
            "sub": self._client_id,
            "aud": url,
            "iat": int(now),
            "exp": int(now) + ASSERTION_LIFETIME,
            "jti": str(uuid.uuid4()),
        }
        assertion = jwt.encode(
            claims, self._key, algorithm=self._alg, headers={"kid": self._key_id, "typ": "JWT"}
        )
        form = urlencode(
            {
                "grant_type": "client_credentials",
                "scope": self._scope,
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion,
            }
        ).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        resp = _call(transport, "POST", url, form, headers)
        self.tokens_fetched += 1
        answer = _json_object(resp)
        if resp.status != 200:
            _token_refused(resp, answer, (assertion,))
        token, lifetime = answer.get("access_token"), answer.get("expires_in", 300)
        if not isinstance(token, str) or not token or not isinstance(lifetime, int | float):
            raise TransientError("the token endpoint answered without an access token")
        self._token, self._expires = token, now + float(lifetime)
        log.info("SMART access token obtained for %s, valid %.0f s", self._client_id, lifetime)

    def _discover(self, transport: HttpTransport) -> str:
        url = f"{self._base}/.well-known/smart-configuration"
        resp = _call(transport, "GET", url, None, {"Accept": "application/json"})
        endpoint = _json_object(resp).get("token_endpoint") if resp.status == 200 else None
        if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
            raise ConfigError(
                f"{url} names no token_endpoint (HTTP {resp.status}); give the token URL explicitly"
            )
        self._token_url = endpoint
        return endpoint


def _call(
    transport: HttpTransport, method: str, url: str, body: bytes | None, headers: dict[str, str]
) -> HttpResponse:
    try:
        resp = transport.request(method, url, body, headers)
    except TransportError as err:
        raise TransientError(f"token service: {err}") from err
    if resp.status >= 500 or resp.status == 429:
        raise TransientError(f"token service: HTTP {resp.status}")
    return resp


def _json_object(resp: HttpResponse) -> dict[str, object]:
    try:
        found = json.loads(resp.body)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _token_refused(
    resp: HttpResponse, answer: dict[str, object], secrets: tuple[str, ...]
) -> NoReturn:
    """An OAuth error (400 invalid_client, invalid_scope, 401, ...): the credentials or the
    client's registration must be fixed, so it is an AuthError, with the server's reason."""
    error = str(answer.get("error", "")) or f"HTTP {resp.status}"
    reason = scrub(str(answer.get("error_description", "")), secrets)[:300]
    raise AuthError(
        f"the token request was refused: {error}" + (f" ({reason})" if reason else ""), resp.status
    )
