"""The alarm engine's own thread: a tick every ``config.tick`` s of wall time, whatever the GUI
is doing. A tick that fails is logged and reported through ``failure`` (the screen shows an
ALARM SYSTEM FAILURE banner from it); the next tick tries again."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from app.alarms.engine import AlarmEngine

log = logging.getLogger(__name__)


class AlarmService:
    def __init__(self, engine: AlarmEngine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._failure: str | None = None
        self.ticks = 0

    @property
    def failure(self) -> str | None:
        """Why the last tick failed, or None while the engine runs."""
        with self._lock:
            return self._failure

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="vigil-alarms", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> bool:
        self._stop.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        stopped = not self._thread.is_alive()
        if stopped:
            self._thread = None
        return stopped

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

    def _run(self) -> None:
        period = self.engine.config.tick
        next_tick = time.monotonic()
        while not self._stop.is_set():
            self.step()
            next_tick += period
            delay = next_tick - time.monotonic()
            if delay < 0:  # fell behind (a stall): tick again at once, then keep the rate
                next_tick = time.monotonic()
                delay = 0.0
            self._stop.wait(delay)
