"""A daemon thread that calls one function at a fixed rate until it is stopped.

The analysis and the alarm engine each run on one; a late call (a stall) is followed by the
next at once, then the rate resumes, so a slow pass never piles calls up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class PeriodicThread:
    def __init__(self, name: str, period: float, work: Callable[[], None]) -> None:
        self.name = name
        self.period = period
        self._work = work
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def stopping(self) -> bool:
        """Set once ``stop`` is called: long work may end early."""
        return self._stop.is_set()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        self._stop.set()

    def stop(self, timeout: float = 3.0) -> bool:
        """Stop and wait up to ``timeout`` s; True when the thread has ended."""
        self._stop.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        stopped = not self._thread.is_alive()
        if stopped:
            self._thread = None
        return stopped

    def _run(self) -> None:
        next_call = time.monotonic() + self.period
        while not self._stop.wait(max(0.0, next_call - time.monotonic())):
            self._work()
            # Fell behind (a stall): go again at once, then keep the rate from there.
            next_call = max(next_call + self.period, time.monotonic())
