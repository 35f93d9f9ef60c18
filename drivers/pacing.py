"""Pacing: how fast a driver's own time runs against the wall clock."""

from __future__ import annotations

import math
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

    def due(self, elapsed: float) -> float:
        """The monotonic time at which ``elapsed`` driver-seconds will have passed."""
        if self.speed is None:
            return -math.inf
        return self._t0 + elapsed / self.speed
