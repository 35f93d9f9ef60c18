"""Marks (labels at instants of a waveform) kept for the views, and the rows a view draws.

A :class:`MarkStore` holds the recent marks of one channel, in time order, for any thread to
read while one writer adds. A :class:`MarkSource` is one row of labels under a trace: the
reference annotations of a replayed record, or Vigil's own beat detections.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from drivers.base import Mark

MARK_HISTORY_SECONDS = 60.0  # as long as the waveform history: a mark outlives no sample
MARK_CAPACITY = 4096  # far above 60 s of beats and flutter waves; beyond it the oldest go


def _time_of(mark: Mark) -> float:
    return mark.timestamp


class MarkStore:
    """The marks of the last ``seconds`` (counted back from the newest), at most ``capacity``.

    Thread-safe: a driver thread adds while views and analysis read."""

    def __init__(
        self, seconds: float = MARK_HISTORY_SECONDS, capacity: int = MARK_CAPACITY
    ) -> None:
        if seconds <= 0 or capacity <= 0:
            raise ValueError("a mark store needs a positive duration and capacity")
        self._seconds = seconds
        self._capacity = capacity
        self._lock = threading.Lock()
        self._marks: list[Mark] = []  # sorted by timestamp
        self._overflow = 0

    def add(self, marks: Sequence[Mark]) -> None:
        with self._lock:
            for mark in marks:
                # Usually an append; a late mark still lands in its place.
                bisect.insort_right(self._marks, mark, key=_time_of)
            self._trim()

    def _trim(self) -> None:
        if not self._marks:
            return
        oldest_kept = self._marks[-1].timestamp - self._seconds
        expired = bisect.bisect_left(self._marks, oldest_kept, key=_time_of)
        excess = len(self._marks) - expired - self._capacity
        if excess > 0:  # more marks than a store this size should ever hold: say so
            self._overflow += excess
            expired += excess
        if expired:
            del self._marks[:expired]

    def between(self, t_from: float, t_to: float) -> list[Mark]:
        """The marks with ``t_from <= timestamp < t_to``, oldest first."""
        with self._lock:
            lo = bisect.bisect_left(self._marks, t_from, key=_time_of)
            hi = bisect.bisect_left(self._marks, t_to, key=_time_of)
            return self._marks[lo:hi]

    @property
    def overflow(self) -> int:
        """Marks dropped before their time because the store was full."""
        with self._lock:
            return self._overflow

    def __len__(self) -> int:
        with self._lock:
            return len(self._marks)


MarkFetch = Callable[[float, float], Sequence[Mark]]


@dataclass(frozen=True, slots=True)
class MarkSource:
    """One row of labels drawn under a trace.

    ``fetch(t_from, t_to)`` returns the marks with ``t_from <= timestamp < t_to``; it is
    called on the GUI thread every frame, so it must be quick and must not block for long.
    """

    channel: str  # the key of the trace the row belongs under, e.g. "ECG_MLII"
    label: str  # the row's name in the gutter, e.g. "Ref", "Vigil"
    colour: str  # "#rrggbb"
    fetch: MarkFetch
