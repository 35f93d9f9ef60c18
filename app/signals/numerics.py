"""The latest reading of every numeric parameter of one device, safe to share across threads."""

from __future__ import annotations

import threading

from drivers.base import Reading


class NumericStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[str, Reading] = {}
        self._count = 0

    def put(self, reading: Reading) -> None:
        with self._lock:
            self._latest[reading.code] = reading
            self._count += 1

    def latest(self, code: str) -> Reading | None:
        with self._lock:
            return self._latest.get(code)

    def snapshot(self) -> dict[str, Reading]:
        with self._lock:
            return dict(self._latest)

    @property
    def count(self) -> int:
        """Readings received so far."""
        with self._lock:
            return self._count
