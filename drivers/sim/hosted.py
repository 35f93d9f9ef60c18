"""What every driver paced by a :class:`SimulationHost` shares: the simulated monitor and
the recorded-ECG replay step on the host's thread and differ only in what a step delivers.

Started once; ``stop`` waits for a step under way so that the STOPPED status comes last;
``wait`` waits for a run that ends by itself; the last status always marks the run over,
even if delivering it fails. Times are stamped in the driver's own time line (seconds since
its epoch), which runs ahead of the wall clock when nothing paces it.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable

from drivers.base import DriverState, DriverStatus, SampleSink
from drivers.pacing import Pacer
from drivers.sim.host import SimulationHost


class HostedDriver(ABC):
    def __init__(
        self,
        *,
        speed: float | None,
        epoch: float | None,
        clock: Callable[[], float],
        host: SimulationHost | None,
        host_name: str,
    ) -> None:
        self._pacer = Pacer(speed)
        self._epoch = epoch
        self._clock = clock
        self._host = host or SimulationHost(host_name)
        self._stop = threading.Event()
        self._done = threading.Event()
        self._step_lock = threading.Lock()  # held while a step runs; stop() waits on it
        self._started = False
        self._sink: SampleSink | None = None
        self._status = DriverStatus(DriverState.STOPPED, clock())

    @property
    @abstractmethod
    def kind(self) -> str: ...

    @property
    def status(self) -> DriverStatus:
        return self._status

    @abstractmethod
    def _now(self) -> float:
        """Seconds of the driver's own time line delivered so far."""

    @abstractmethod
    def _connected_message(self) -> str: ...

    @abstractmethod
    def due_at(self) -> float: ...

    @abstractmethod
    def step_once(self) -> bool: ...

    def start(self, sink: SampleSink) -> None:
        if self._started:
            raise RuntimeError(f"a {self.kind} driver can be started only once")
        self._started = True
        if self._epoch is None:
            self._epoch = self._clock()
        self._sink = sink
        self._set_status(DriverState.CONNECTED, self._connected_message())
        self._pacer.start()
        self._host.add(self)

    def stop(self, timeout: float = 2.0) -> bool:
        self._stop.set()
        self._host.remove(self)
        if not self._started:
            return True
        deadline = time.monotonic() + timeout
        # Wait for a step under way to finish, so the STOPPED status comes last.
        if not self._step_lock.acquire(timeout=max(timeout, 0.0)):
            return False
        try:
            if not self._done.is_set():
                self._finish(DriverState.STOPPED)
        finally:
            self._step_lock.release()
        return self._host.join(max(0.0, deadline - time.monotonic())) if self._host.idle else True

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a run that ends by itself to end; True when it has."""
        return not self._started or self._done.wait(timeout)

    def _finish(self, state: DriverState, message: str = "", at: float | None = None) -> None:
        """The last status; the run counts as over even if delivering that status fails."""
        try:
            self._set_status(state, message, at=at)
        finally:
            self._finished()
            self._done.set()

    @abstractmethod
    def _finished(self) -> None:
        """What a driver marks when its run is over, besides ``wait`` returning."""

    def _set_status(self, state: DriverState, message: str = "", at: float | None = None) -> None:
        self._status = DriverStatus(state, self._time(self._now() if at is None else at), message)
        self._require_sink().write_status(self._status)

    def _require_sink(self) -> SampleSink:
        if self._sink is None:
            raise RuntimeError(f"the {self.kind} driver has not been started")
        return self._sink

    def _time(self, seconds: float) -> float:
        epoch = self._epoch if self._epoch is not None else 0.0
        return epoch + seconds
