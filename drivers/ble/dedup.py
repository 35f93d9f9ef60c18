"""Drops the copies BlueZ delivers of one notification after a reconnect.

With StartNotify, every reconnect after a link loss adds another copy of each notification
(bleak#2002, reproduced on real BlueZ in ble.md §2.4). The copies arrive back to back with the
same bytes; real notifications of the same characteristic are ≥ 0.25 s apart (HR once a
second, ECG frames twice a second, each with its own timestamp), so identical bytes on one
characteristic within ``window`` seconds are one notification.
"""

from __future__ import annotations

WINDOW = 0.1  # s


class NotificationDeduplicator:
    def __init__(self, window: float = WINDOW) -> None:
        self._window = window
        self._last: dict[str, tuple[bytes, float]] = {}
        self.dropped = 0

    def is_new(self, uuid: str, data: bytes, now: float) -> bool:
        last = self._last.get(uuid)
        self._last[uuid] = (data, now)
        if last is not None and last[0] == data and now - last[1] <= self._window:
            self.dropped += 1
            return False
        return True

    def reset(self) -> None:
        self._last.clear()
