"""How a send to the EHR can fail, as the sync engine acts on it.

- :class:`TransientError`: try again later (5xx, 429, time-out, connection error, an answer
  that cannot be read). The item stays in the outbox; ``retry_after`` is the server's wish.
- :class:`RejectedError`: the server refused the content (4xx with an OperationOutcome). The
  item goes to the dead-letter list with the server's message; resending cannot help.
- :class:`AuthError`: 401/403 or a refused token request. Nothing is wrong with the data, and
  retrying will not help until someone fixes the credentials or the client's registration.
- :class:`ConfigError`: the other end is not the FHIR R4 server Vigil was told to use.

Messages never hold a secret (token, key, client assertion): callers log and show them.
"""

from __future__ import annotations


class SyncError(Exception):
    """A failure to deliver; ``str()`` is a message for the operator."""


class TransientError(SyncError):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RejectedError(SyncError):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class AuthError(SyncError):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ConfigError(SyncError):
    """The base URL does not lead to a FHIR R4 server (or the options do not fit together)."""


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every non-empty secret replaced: a server may echo what it was sent."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[secret]")
    return text
