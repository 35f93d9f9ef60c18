"""SMART Backend Services pieces for tests of the server: keys, a client registration file and
signed client assertions, made by ``jwt_tool.cjs`` (node's crypto; no Python JWT library).

The station's own client (the sync engine) signs with its own library; these helpers only let
the server's token endpoint be tested on its own.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tests.fhir_server.fixture import SERVER_DIR

Jwk = dict[str, Any]
TOOL = SERVER_DIR / "jwt_tool.cjs"


def _node(*args: str, stdin: str = "") -> str:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("Node.js is not installed; the FHIR test server needs it")
    done = subprocess.run(
        [node, str(TOOL), *args], input=stdin, capture_output=True, text=True, check=True
    )
    return done.stdout


def key_pair(alg: str, kid: str) -> tuple[Jwk, Jwk]:
    """A new (private, public) JWK pair for RS384, ES384 or RS256."""
    pair = json.loads(_node("keys", alg, kid))
    return pair["private"], pair["public"]


def write_clients(path: Path, client_id: str, scope: str, public_keys: list[Jwk]) -> Path:
    """The server's ``FHIR_AUTH_CLIENTS`` file registering one client."""
    path.write_text(json.dumps([{"client_id": client_id, "scope": scope,
                                 "jwks": {"keys": public_keys}}]))  # fmt: skip
    return path


def client_assertion(private: Jwk, client_id: str, token_url: str, **claims: Any) -> str:
    """A signed client assertion (iss = sub = client_id, aud = token URL, exp in 4 min, a fresh
    jti); ``claims`` override or add claims."""
    now = int(time.time())
    body = {"iss": client_id, "sub": client_id, "aud": token_url, "exp": now + 240,
            "iat": now, "jti": str(uuid.uuid4()), **claims}  # fmt: skip
    request = {"alg": private["alg"], "kid": private["kid"], "private": private, "claims": body}
    return _node("sign", stdin=json.dumps(request))


def token_form(assertion: str, scope: str) -> bytes:
    """The token request body (application/x-www-form-urlencoded)."""
    return urlencode({
        "grant_type": "client_credentials",
        "scope": scope,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }).encode()  # fmt: skip
