"""A small FHIR R4 client: JSON over HTTP(S), auth, and every answer sorted into what the
sync does with it (:mod:`app.sync.errors`).

- 2xx with a readable body: success.
- 5xx, 429 (honouring ``Retry-After``), 408, 409 (another writer got there first: a resend
  finds the resource), time-outs, connection errors and bodies that are not the JSON
  expected: :class:`TransientError`; sending again is safe (conditional creates).
- Other 4xx with an OperationOutcome: :class:`RejectedError` with its diagnostics.
- 4xx without one (a proxy's HTML page, a wrong path): :class:`ConfigError`; the data are
  not at fault, so nothing is dead-lettered for it.
- 401/403: :class:`AuthError`. After a 401 a SMART token is dropped and the request is sent
  once more with a new one.

Bundles: each entry of a (transaction|batch)-response has its own status; ``post_bundle``
returns them one by one, so one refused entry of a batch never fails its neighbours.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from app.sync.auth import Auth, NoAuth
from app.sync.errors import AuthError, ConfigError, RejectedError, SyncError, TransientError
from app.sync.transport import HttpResponse, HttpTransport, TransportError

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
MAX_MESSAGE = 500  # characters of a server's diagnostics kept for the dead-letter list
_TRANSIENT_4XX = (408, 409, 425, 429)
_LOOPBACK = ("127.0.0.1", "::1", "localhost")

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class EntryOutcome:
    """One bundle entry's result: ``error`` is None when it was stored (or found)."""

    status: int
    location: str
    error: SyncError | None


class FhirClient:
    def __init__(
        self,
        base_url: str,
        auth: Auth | None = None,
        *,
        timeout: float = 10.0,
        ca_file: str | None = None,
        transport: HttpTransport | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"the FHIR base must be an http(s) URL, got {base_url!r}")
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
            log.warning(
                "FHIR base %s is plain http: patient data would cross the network "
                "unencrypted; use https",
                base_url,
            )
        self.base_url = base_url.rstrip("/")
        self.auth: Auth = auth or NoAuth()
        self._http = transport or HttpTransport(timeout, ca_file)

    @property
    def timeout(self) -> float:
        return self._http.timeout

    def close(self) -> None:
        self._http.close()

    def capabilities(self) -> Json:
        """The server's CapabilityStatement; ConfigError if it is not a FHIR R4 server."""
        found = self.request("GET", "metadata")
        version = str(found.get("fhirVersion", ""))
        if found.get("resourceType") != "CapabilityStatement" or not version.startswith("4.0"):
            raise ConfigError(
                f"{self.base_url} is not a FHIR R4 server "
                f"(metadata: {found.get('resourceType')} {version})"
            )
        return found

    def search(self, resource_type: str, params: Mapping[str, str]) -> list[Json]:
        """The resources of the first page of a search (``GET type?params``)."""
        found = self.request("GET", f"{resource_type}?{urlencode(params)}")
        if found.get("resourceType") != "Bundle":
            raise TransientError(f"search {resource_type}: the answer is not a Bundle")
        return [
            e["resource"]
            for e in found.get("entry", [])
            if isinstance(e, dict) and isinstance(e.get("resource"), dict)
        ]

    def post_bundle(self, bundle: Json) -> list[EntryOutcome]:
        """POST a transaction or batch; one outcome per entry, in order. A transaction that
        fails as a whole raises (RejectedError when the server refused its content)."""
        answer = self.request("POST", "", bundle)
        entries = bundle.get("entry", [])
        got = answer.get("entry")
        expected = f"{bundle.get('type')}-response"
        if answer.get("type") != expected or not isinstance(got, list) or len(got) != len(entries):
            raise TransientError(
                f"malformed answer to a {bundle.get('type')}: expected a "
                f"{expected} with {len(entries)} entries"
            )
        return [_entry_outcome(e) for e in got]

    def request(self, method: str, path: str, body: Json | None = None) -> Json:
        """One FHIR interaction, relative to the base; the answer's JSON object."""
        url = f"{self.base_url}/{path}" if path else self.base_url
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        resp = self._send(method, url, data)
        if resp.status == 401 and self.auth.invalidate():
            resp = self._send(method, url, data)  # once, with a new token
        return _judge(method, urlsplit(url).path, resp)

    def _send(self, method: str, url: str, data: bytes | None) -> HttpResponse:
        headers = {"Accept": FHIR_JSON}
        if data is not None:
            headers["Content-Type"] = FHIR_JSON
        authorization = self.auth.authorization(self._http)
        if authorization:
            headers["Authorization"] = authorization
        try:
            return self._http.request(method, url, data, headers)
        except TransportError as err:
            raise TransientError(str(err)) from err


def _judge(method: str, path: str, resp: HttpResponse) -> Json:
    what = f"{method} {path}: HTTP {resp.status}"
    body = _json(resp.body)
    if resp.status in (401, 403):
        hint = (
            "the server refused the credentials"
            if resp.status == 401
            else "the credentials do not permit this (scope or registration)"
        )
        detail = outcome_text(body) if body is not None else ""
        raise AuthError(f"{what}: {hint}" + (f" ({detail})" if detail else ""), resp.status)
    if resp.status >= 500 or resp.status in _TRANSIENT_4XX:
        detail = outcome_text(body) if body is not None else ""
        raise TransientError(
            f"{what}" + (f": {detail}" if detail else ""),
            retry_after(resp.headers.get("retry-after")),
        )
    if resp.status >= 400:
        if body is not None and body.get("resourceType") == "OperationOutcome":
            raise RejectedError(f"HTTP {resp.status}: {outcome_text(body)}", resp.status)
        raise ConfigError(f"{what} without an OperationOutcome: is the FHIR base right?")
    if resp.status >= 300:
        raise ConfigError(f"{what}: redirected to {resp.headers.get('location', '?')}")
    if body is None:
        raise TransientError(f"{what}: the answer is not a JSON object")
    return body


def _entry_outcome(entry: object) -> EntryOutcome:
    response = entry.get("response") if isinstance(entry, dict) else None
    if not isinstance(response, dict):
        return EntryOutcome(0, "", TransientError("a response entry without a status"))
    text = str(response.get("status", ""))
    code = int(text[:3]) if text[:3].isdigit() else 0
    location = str(response.get("location", ""))
    outcome = response.get("outcome")
    detail = outcome_text(outcome) if isinstance(outcome, dict) else text
    if 200 <= code < 300:
        return EntryOutcome(code, location, None)
    if code >= 500 or code in _TRANSIENT_4XX or code == 0:
        return EntryOutcome(code, location, TransientError(f"entry: {detail or text}"))
    if code in (401, 403):
        return EntryOutcome(code, location, AuthError(f"entry: HTTP {code} {detail}", code))
    return EntryOutcome(code, location, RejectedError(f"HTTP {code}: {detail}", code))


def outcome_text(outcome: Mapping[str, Any]) -> str:
    """An OperationOutcome's issues as one line: severity, text and where."""
    parts = []
    for issue in outcome.get("issue", []) if isinstance(outcome.get("issue"), list) else []:
        if not isinstance(issue, dict):
            continue
        details = issue.get("details")
        text = (
            issue.get("diagnostics")
            or (details.get("text") if isinstance(details, dict) else None)
            or issue.get("code", "")
        )
        where = ", ".join(str(e) for e in issue.get("expression", []) or [])
        parts.append(f"{text}" + (f" @ {where}" if where else ""))
    return "; ".join(parts)[:MAX_MESSAGE] or "(no diagnostics)"


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds to wait: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _json(body: bytes) -> Json | None:
    try:
        found = json.loads(body)
    except ValueError:  # includes UnicodeDecodeError
        return None
    return found if isinstance(found, dict) else None


def rejected_entries(outcomes: Sequence[EntryOutcome]) -> list[int]:
    """The indexes of entries the server refused for their content."""
    return [i for i, o in enumerate(outcomes) if isinstance(o.error, RejectedError)]
