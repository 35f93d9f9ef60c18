"""One thread that paces and steps many simulated monitors: a simulated monitor network.

Each monitor is still its own driver (start, stop, status); the host only decides when each
takes its next step. One thread for a ward instead of one per bed: measured on the demo ward
of 32 beds, per-bed threads cost about twice the CPU of the signal generation itself.
At ``--speed max`` the host steps every monitor in turn, so all beds advance together.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Protocol

log = logging.getLogger(__name__)

MAX_CATCH_UP = 8  # steps one monitor may take in a row before the others get a turn


class Steppable(Protocol):
    def due_at(self) -> float:
        """Monotonic time at which its next step is due (-inf: now, as fast as possible)."""

    def step_once(self) -> bool:
        """Take one step; False when the monitor has finished and should leave the host."""


class SimulationHost:
    def __init__(self, name: str = "sim-host") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._members: list[Steppable] = []
        self._thread: threading.Thread | None = None

    def add(self, member: Steppable) -> None:
        with self._lock:
            self._members.append(member)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
        self._wake.set()

    def remove(self, member: Steppable) -> None:
        with self._lock:
            if member in self._members:
                self._members.remove(member)
        self._wake.set()

    @property
    def idle(self) -> bool:
        """No member left: the thread is ending (or has ended)."""
        with self._lock:
            return not self._members

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread, which ends once the last member has left."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def _run(self) -> None:
        while True:
            with self._lock:
                members = list(self._members)
                if not members:
                    self._thread = None
                    return
            next_due = math.inf
            for member in members:
                next_due = min(next_due, self._serve(member))
            delay = next_due - time.monotonic()
            if delay > 0:
                self._wake.wait(delay)
                self._wake.clear()

    def _serve(self, member: Steppable) -> float:
        """Let one member catch up (a few steps at most); returns when it is next due.

        A member that raises leaves the host, loudly; the others go on."""
        try:
            for _ in range(MAX_CATCH_UP):
                if member.due_at() > time.monotonic():
                    break
                if not member.step_once():
                    self.remove(member)
                    return math.inf
            return member.due_at()
        except Exception:
            log.exception("a simulated monitor failed outside its own error handling")
            self.remove(member)
            return math.inf
