"""A scripted HL7 v2 receiver on loopback: MLLP over TCP, ACKs built with the ``hl7`` package.

Each message it receives is recorded (in arrival order, duplicates included) and answered by
the next step of its script, or ``AA`` when the script is empty:

- ``"AA"``, ``"AE"``, ``"AR"``: an ACK with that code for the message's MSH-10; a
  :class:`Reply` may carry a text (MSA-3 and an ERR segment) or another control id.
- ``SILENT``: no answer (the sender times out); ``CLOSE``: the connection is closed at once.

It runs one thread to accept and one per connection; :meth:`MllpServer.stop` ends them all.
"""

from __future__ import annotations

import collections
import contextlib
import socket
import threading
from dataclasses import dataclass
from types import TracebackType

import hl7

START, END = b"\x0b", b"\x1c\x0d"
SILENT = "silent"
CLOSE = "close"


@dataclass(frozen=True, slots=True)
class Reply:
    code: str = "AA"
    text: str = ""  # MSA-3, and an ERR segment's user message (ERR-8)
    control_id: str | None = None  # acknowledge this MSH-10 instead of the message's


Step = Reply | str


class MllpServer:
    def __init__(self, port: int = 0) -> None:
        self._listener = socket.create_server(("127.0.0.1", port), reuse_port=False)
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._script: collections.deque[Step] = collections.deque()
        self._received: list[str] = []
        self._connections: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._acceptor = threading.Thread(target=self._accept, name="mllp-fake", daemon=True)
        self._acceptor.start()

    def __enter__(self) -> MllpServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def script(self, *steps: Step) -> None:
        with self._lock:
            self._script.extend(steps)

    @property
    def received(self) -> list[str]:
        with self._lock:
            return list(self._received)

    def control_ids(self) -> list[str]:
        return [str(hl7.parse(m).segment("MSH")(10)) for m in self.received]

    def stop(self) -> None:
        self._stop.set()
        self._acceptor.join(5.0)
        self._listener.close()
        with self._lock:
            connections, threads = list(self._connections), list(self._threads)
        for conn in connections:
            with contextlib.suppress(OSError):  # the client may have closed it already
                conn.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(5.0)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(0.05)
            thread = threading.Thread(
                target=self._serve, args=(conn,), name="mllp-fake-conn", daemon=True
            )
            with self._lock:
                self._connections.append(conn)
                self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        with conn:
            while not self._stop.is_set():
                try:
                    chunk = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not chunk:
                    return
                buffer += chunk
                while (end := buffer.find(END)) >= 0:
                    start = buffer.find(START)
                    message, buffer = buffer[start + 1 : end].decode(), buffer[end + 2 :]
                    if not self._answer(conn, message):
                        return

    def _answer(self, conn: socket.socket, message: str) -> bool:
        """Record and answer one message; False when the connection must close."""
        with self._lock:
            self._received.append(message)
            step = self._script.popleft() if self._script else Reply()
        if step == CLOSE:
            return False
        if step == SILENT:
            return True
        reply = step if isinstance(step, Reply) else Reply(step)
        conn.sendall(START + ack(message, reply).encode() + END)
        return True


def ack(message: str, reply: Reply) -> str:
    """The ACK of ``message`` (``hl7``'s original-mode ACK), with the reply's text."""
    parsed = hl7.parse(message)
    text = str(parsed.create_ack(reply.code, message_id="ACK-" + str(parsed.segment("MSH")(10))))
    segments = text.rstrip("\r").split("\r")
    msa = segments[1].split("|")
    if reply.control_id is not None:
        msa[2] = reply.control_id
    if reply.text:
        escaped = str(parsed.escape(reply.text))
        msa.append(escaped)
        segments.append(f"ERR|||207^Application internal error^HL70357|E||||{escaped}")
    segments[1] = "|".join(msa)
    return "\r".join(segments) + "\r"
