"""The alarm engine's own thread: a tick every ``config.tick`` s of wall time, whatever the GUI
is doing. A tick that fails is logged and reported through ``failure`` (the screen shows an
ALARM SYSTEM FAILURE banner from it); the next tick tries again."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from app.alarms.engine import AlarmEngine
from app.periodic import PeriodicThread

log = logging.getLogger(__name__)


class AlarmService:
    def __init__(self, engine: AlarmEngine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self._clock = clock
        self._thread = PeriodicThread("vigil-alarms", engine.config.tick, self.step)
        self._lock = threading.Lock()
        self._failure: str | None = None
        self.ticks = 0

    @property
    def failure(self) -> str | None:
        """Why the last tick failed, or None while the engine runs."""
        with self._lock:
            return self._failure

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> bool:
        return self._thread.stop(timeout)

    def step(self) -> None:
        try:
            self.engine.tick(self._clock())
        except Exception as exc:
            log.exception("alarm engine tick failed")
            with self._lock:
                self._failure = f"{type(exc).__name__}: {exc}"
            return
        with self._lock:
            self._failure = None
            self.ticks += 1
