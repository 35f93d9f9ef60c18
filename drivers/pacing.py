"""Pacing: how fast a driver's own time runs against the wall clock."""

from __future__ import annotations

import threading
import time


class Pacer:
    """Maps a driver's elapsed time onto wall time.

    ``speed`` 1.0 is real time, 10.0 ten times faster, and None as fast as the CPU allows (used
    by ``main.py simulate --speed max``; the signal is the same, only the pacing differs).
    """

    def __init__(self, speed: float | None = 1.0) -> None:
        if speed is not None and speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = speed
        self._t0 = time.monotonic()

    def start(self) -> None:
        self._t0 = time.monotonic()

    def wait_until(self, elapsed: float, stop: threading.Event) -> bool:
        """Block until ``elapsed`` driver-seconds have passed; False if ``stop`` was set."""
        if self.speed is None:
            return not stop.is_set()
        delay = self._t0 + elapsed / self.speed - time.monotonic()
        if delay > 0:
            return not stop.wait(delay)
        return not stop.is_set()
