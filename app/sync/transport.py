"""HTTP(S) on the standard library: one keep-alive connection per host, TLS verified.

TLS verification is always on: :func:`tls_context` trusts the system's CAs, or the CA bundle
given (a hospital's own CA); there is deliberately no switch to turn it off. Error messages
name the method, host and reason, never a header (they may carry a bearer token).

A connection is used by one request at a time (a lock); the sync worker and the admit
dialog's lookup each own their transport.
"""

from __future__ import annotations

import http.client
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import urlsplit

from app.sync.errors import ConfigError

# A reused keep-alive connection the server has closed meanwhile fails like this before any
# answer; one resend on a fresh connection is then safe (every POST Vigil makes is idempotent:
# conditional creates).
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class TransportError(OSError):
    """No usable answer: refused or dropped connection, time-out, short read, TLS failure."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # names in lower case
    body: bytes


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """Certificate and host-name verification on; ``ca_file`` replaces the system's CAs."""
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as err:  # never fall back to an unverified connection
        raise ConfigError(f"cannot use the CA bundle {ca_file}: {err}") from err


class HttpTransport:
    def __init__(self, timeout: float = 10.0, ca_file: str | None = None) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.timeout = timeout
        self._tls = tls_context(ca_file)
        self._lock = threading.Lock()
        self._connections: dict[tuple[str, str, int], http.client.HTTPConnection] = {}

    def request(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        default_port = 443 if parts.scheme == "https" else 80
        key = (parts.scheme, parts.hostname, parts.port or default_port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        with self._lock:
            reused = key in self._connections
            try:
                return self._exchange(key, method, target, body, dict(headers or {}))
            except _STALE as err:
                if not reused:
                    _fail(method, key[1], err)
            except (OSError, http.client.HTTPException) as err:
                _fail(method, key[1], err)
            try:  # the stale keep-alive case: once more, on a new connection
                return self._exchange(key, method, target, body, dict(headers or {}))
            except (OSError, http.client.HTTPException) as err:
                _fail(method, key[1], err)

    def close(self) -> None:
        with self._lock:
            for conn in self._connections.values():
                conn.close()
            self._connections.clear()

    def _exchange(
        self,
        key: tuple[str, str, int],
        method: str,
        target: str,
        body: bytes | None,
        headers: dict[str, str],
    ) -> HttpResponse:
        conn = self._connections.get(key) or self._connect(key)
        self._connections[key] = conn
        try:
            conn.request(method, target, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except BaseException:
            conn.close()
            del self._connections[key]
            raise
        if resp.will_close:
            conn.close()
            del self._connections[key]
        found = {name.lower(): value for name, value in resp.getheaders()}
        return HttpResponse(resp.status, found, data)

    def _connect(self, key: tuple[str, str, int]) -> http.client.HTTPConnection:
        scheme, host, port = key
        if scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=self.timeout, context=self._tls)
        return http.client.HTTPConnection(host, port, timeout=self.timeout)


def _fail(method: str, host: str, reason: BaseException) -> NoReturn:
    timed_out = isinstance(reason, TimeoutError)
    if timed_out:
        text = "timed out"
    elif isinstance(reason, http.client.IncompleteRead):
        text = "the answer was cut short"
    else:
        text = str(reason) or type(reason).__name__
    raise TransportError(f"{method} to {host}: {text}", timed_out=timed_out) from reason
