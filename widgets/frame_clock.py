"""The fixed-rate display clock: one QTimer drives every visible view's frame.

Views pull snapshots when it ticks; nothing in the data path pushes per-sample Qt signals.
It also measures itself (frames, achieved rate, time spent per tick).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from PySide6 import QtCore

Subscriber = Callable[[float, int], None]  # (wall time now, frame number)


class FrameClock(QtCore.QObject):
    def __init__(self, fps: float, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.fps = fps
        self._timer = QtCore.QTimer(self)
        self._timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._timer.setInterval(max(1, round(1000.0 / fps)))
        self._timer.timeout.connect(self._tick)
        self._subscribers: list[Subscriber] = []
        self.frames = 0
        self._tick_ms: deque[float] = deque(maxlen=300)
        self._stamps: deque[float] = deque(maxlen=int(fps * 2) + 1)

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def measured_fps(self) -> float:
        """Achieved frame rate over the last two seconds."""
        if len(self._stamps) < 2:
            return 0.0
        return (len(self._stamps) - 1) / (self._stamps[-1] - self._stamps[0])

    def tick_ms(self) -> list[float]:
        """Recent per-tick work, in milliseconds (painting happens after, in Qt)."""
        return list(self._tick_ms)

    def _tick(self) -> None:
        t0 = time.perf_counter()
        now = time.time()
        self.frames += 1
        for subscriber in self._subscribers:
            subscriber(now, self.frames)
        self._stamps.append(time.monotonic())
        self._tick_ms.append((time.perf_counter() - t0) * 1000.0)
