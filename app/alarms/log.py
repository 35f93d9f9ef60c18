"""The alarm log (IEC 60601-1-8 6.12): every alarm's lifecycle and every operator action.

Append-only, thread-safe, read by cursor: the screen's history panels, ``main.py simulate``
and (next) the SQLite store each keep their own place in it. Entries are kept in memory up
to ``CAPACITY``; a reader that falls further behind is told how many it missed, so a gap is
never silent.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from app.alarms.priority import AlarmKind, Priority

CAPACITY = 100_000  # entries: days of a busy ward's alarms


@dataclass(frozen=True, slots=True)
class LogEntry:
    t: float  # station time
    bed: str  # "" for a station-wide alarm or action
    # start, priority, condition_end, recur, ack, end, reannounce, escalate, pause, pause_end,
    # pause_break, off, on, reminder, limits, settings_reset
    event: str
    alarm_id: int | None = None
    priority: Priority | None = None
    kind: AlarmKind | None = None
    code: str = ""
    text: str = ""
    user: str = ""  # who acted, for operator actions
    detail: str = ""
    since: float | None = None  # start of a limit alarm: when the value first crossed it


class AlarmLog:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._lock = threading.Lock()
        self._entries: deque[LogEntry] = deque(maxlen=capacity)
        self._count = 0  # entries ever appended; the cursor of the next one

    def append(self, entry: LogEntry) -> None:
        with self._lock:
            self._entries.append(entry)
            self._count += 1

    def since(self, cursor: int) -> tuple[list[LogEntry], int, int]:
        """Entries from ``cursor`` on, the cursor to read from next, and how many entries
        between ``cursor`` and the oldest kept were lost to the capacity."""
        with self._lock:
            oldest = self._count - len(self._entries)
            missed = max(0, oldest - cursor)
            start = max(cursor, oldest) - oldest
            entries = list(self._entries)[start:] if start < len(self._entries) else []
            return entries, self._count, missed

    def entries(self, bed: str | None = None) -> list[LogEntry]:
        """Everything kept, oldest first; only one bed's (and not station-wide) with ``bed``."""
        with self._lock:
            kept = list(self._entries)
        return kept if bed is None else [e for e in kept if e.bed == bed]

    def __len__(self) -> int:
        with self._lock:
            return self._count
