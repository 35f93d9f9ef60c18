"""A few lines of HTTP for tests that talk to the FHIR test server, on the standard library.

Every response and error is closed before it is returned: the suite turns warnings into errors,
and an unclosed socket is a ResourceWarning.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON (a FHIR resource, an OperationOutcome or an admin answer)."""
        return json.loads(self.body)


def request(
    method: str,
    url: str,
    body: object = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> Response:
    """One request; HTTP error statuses are returned, not raised (tests look at them).

    ``body`` is sent as JSON, or as is when it is bytes (set its Content-Type in ``headers``).
    Connection failures, time-outs and short reads still raise, as the client would see them.
    """
    if isinstance(body, bytes):
        data: bytes | None = body
        sent = {"Accept": FHIR_JSON, **(headers or {})}
    else:
        data = None if body is None else json.dumps(body).encode()
        sent = {"Accept": FHIR_JSON, **({"Content-Type": FHIR_JSON} if data else {}),
                **(headers or {})}  # fmt: skip
    req = urllib.request.Request(url, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Response(resp.status, dict(resp.headers.items()), resp.read())
    except urllib.error.HTTPError as err:
        with err:
            return Response(err.code, dict(err.headers.items()), err.read())
