"""An MLLP client: one HL7 v2 message out, its acknowledgement back, over TCP.

MLLP frames a message as ``0x0B <message> 0x1C 0x0D`` (fhir.md §6.4). :meth:`MllpClient.send`
writes one frame and waits for the ACK before it returns, so a caller sends one message at a
time (PCD-01's original mode). What the ACK means for the message:

- ``AA`` (or the enhanced-mode ``CA``): accepted; :meth:`send` returns the :class:`Ack`.
- ``AE``/``AR`` (or ``CE``/``CR``): the receiver refused it; :class:`AckRejectedError` with
  the receiver's text (MSA-3 and the ERR segments). Resending the same message cannot help,
  so the feed dead-letters it.
- No ACK within the read time-out, a connection refused, reset or closed before the ACK, an
  answer that is not an ACK, or an ACK for another control id: :class:`TransientError`
  (retry later). After any of these the connection is closed: a late ACK must never be taken
  for the next message's.

MLLP has no exactly-once delivery: a message whose ACK was lost is sent again with the same
MSH-10, and the receiver must de-duplicate by MSH-10.
"""

from __future__ import annotations

import contextlib
import socket
import time
from dataclasses import dataclass
from types import TracebackType

from app.sync.errors import SyncError, TransientError

START = b"\x0b"
END = b"\x1c\x0d"
MAX_ACK = 1 << 20  # bytes: an ACK is small; more is not an ACK
ACCEPTED = frozenset({"AA", "CA"})
REJECTED = frozenset({"AE", "AR", "CE", "CR"})
_UNESCAPE = {"F": "|", "S": "^", "T": "&", "R": "~", "E": "\\", ".br": " "}


class AckRejectedError(SyncError):
    """The receiver answered AE or AR (CE or CR): the message itself was refused."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(f"{code}: {text}" if text else f"{code} (no reason given)")
        self.code = code
        self.text = text


@dataclass(frozen=True, slots=True)
class Ack:
    code: str  # MSA-1
    control_id: str  # MSA-2: the MSH-10 it acknowledges
    text: str = ""  # MSA-3 and the ERR segments' texts


def frame(message: bytes) -> bytes:
    return START + message + END


def parse_ack(data: bytes) -> Ack:
    """An ACK's MSA (and ERR) segments; TransientError if ``data`` is not an ACK."""
    text = data.decode("utf-8", errors="replace")
    segments = [s for s in text.replace("\n", "\r").split("\r") if s]
    if not segments or not segments[0].startswith("MSH") or len(segments[0]) < 8:
        raise TransientError(f"the receiver's answer is not an HL7 message: {text[:80]!r}")
    sep = segments[0][3]
    encoding = segments[0][4:].split(sep, 1)[0]
    component = encoding[0] if encoding else "^"
    esc = encoding[2] if len(encoding) > 2 else "\\"
    msa = [s.split(sep) for s in segments if s.startswith("MSA" + sep)]
    if not msa or len(msa[0]) < 3:
        raise TransientError(f"the receiver's answer has no MSA segment: {text[:80]!r}")
    fields = msa[0]
    texts = [_unescape(fields[3], esc)] if len(fields) > 3 and fields[3] else []
    for err in (s.split(sep) for s in segments if s.startswith("ERR" + sep)):
        texts += _err_texts(err, component, esc)
    return Ack(fields[1].strip(), _unescape(fields[2], esc), "; ".join(dict.fromkeys(texts)))


def _err_texts(fields: list[str], component: str, esc: str) -> list[str]:
    """ERR-3.2 (the HL7 error's text), ERR-7 (diagnostics) and ERR-8 (user message)."""
    found = []
    if len(fields) > 3:
        parts = fields[3].split(component)
        if len(parts) > 1 and parts[1]:
            found.append(parts[1])
    found += [fields[i] for i in (7, 8) if len(fields) > i and fields[i]]
    return [_unescape(t, esc) for t in found]


def _unescape(text: str, esc: str) -> str:
    if esc not in text:
        return text
    out: list[str] = []
    parts = text.split(esc)
    # Even positions are text, odd ones the insides of escape sequences.
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(part)
        else:
            out.append(_UNESCAPE.get(part, f"{esc}{part}{esc}"))
    return "".join(out)


class MllpClient:
    """One connection to the receiver at a time, opened when a message is to go out.

    Not thread-safe: one feed owns it. ``connect_timeout`` bounds the TCP connect,
    ``read_timeout`` the wait for the whole ACK.
    """

    def __init__(
        self, host: str, port: int, *, connect_timeout: float = 5.0, read_timeout: float = 10.0
    ) -> None:
        if connect_timeout <= 0 or read_timeout <= 0:
            raise ValueError("MLLP time-outs must be positive")
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._sock: socket.socket | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def __enter__(self) -> MllpClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def send(self, message: bytes, control_id: str) -> Ack:
        """Send one message and return its ACK (accepted); see the module for the errors."""
        try:
            sock = self._connection()
            sock.sendall(frame(message))
            ack = parse_ack(self._read_frame(sock))
        except TransientError:
            self.close()
            raise
        except OSError as err:  # refused, reset, unreachable, time-out (socket.timeout)
            self.close()
            raise TransientError(self._describe(err)) from err
        if ack.control_id != control_id:
            self.close()
            raise TransientError(
                f"the ACK from {self.address} is for {ack.control_id!r}, not {control_id!r}"
            )
        if ack.code in ACCEPTED:
            return ack
        if ack.code in REJECTED:
            raise AckRejectedError(ack.code, ack.text)
        self.close()
        raise TransientError(f"unknown acknowledgement code {ack.code!r} from {self.address}")

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):  # the peer may have reset it already
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _connection(self) -> socket.socket:
        if self._sock is None:
            self._sock = socket.create_connection(
                (self.host, self.port), timeout=self.connect_timeout
            )
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self._sock

    def _read_frame(self, sock: socket.socket) -> bytes:
        deadline = time.monotonic() + self.read_timeout
        buffer = b""
        while True:
            start = buffer.find(START)
            end = buffer.find(END, start + 1) if start >= 0 else -1
            if end >= 0:
                return buffer[start + 1 : end]
            if len(buffer) > MAX_ACK:
                raise TransientError(f"no MLLP frame in {len(buffer)} bytes from {self.address}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TransientError(f"no ACK from {self.address} within {self.read_timeout:g} s")
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(65536)
            except TimeoutError as err:
                raise TransientError(
                    f"no ACK from {self.address} within {self.read_timeout:g} s"
                ) from err
            if not chunk:
                raise TransientError(f"{self.address} closed the connection before the ACK")
            buffer += chunk

    def _describe(self, err: OSError) -> str:
        if isinstance(err, TimeoutError):
            return f"cannot reach {self.address} within {self.connect_timeout:g} s"
        reason = err.strerror or str(err) or type(err).__name__
        return f"MLLP to {self.address}: {reason}"
