"""The latest reading of every numeric parameter of one device, safe to share across threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from drivers.base import Reading


@dataclass(frozen=True, slots=True)
class Latest:
    reading: Reading
    # Station wall time when it arrived: a device clock that runs ahead cannot make an old
    # value look fresh, because its age is the larger of the two ages.
    received_at: float

    def age(self, now: float) -> float:
        return max(now - self.reading.timestamp, now - self.received_at)


class NumericStore:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._latest: dict[str, Latest] = {}

    def put_many(self, readings: Sequence[Reading]) -> None:
        """Store a set measured together, atomically: readers never see half of it."""
        with self._lock:
            now = self._clock()
            for reading in readings:
                self._latest[reading.code] = Latest(reading, now)

    def latest(self, code: str) -> Latest | None:
        with self._lock:
            return self._latest.get(code)

    def snapshot(self) -> dict[str, Latest]:
        with self._lock:
            return dict(self._latest)
