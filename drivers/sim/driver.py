"""The simulated bedside monitor as a real driver, paced against the clock by a simulation
host's thread (its own, or one shared by a simulated ward).

It implements the same protocol as every other device, so the station cannot tell it from
hardware except by ``DeviceInfo.simulated``, which the UI turns into a SIMULATED tag.
Scenario timeline events are ground-truth annotations, not device data: they are delivered
even while the simulated connection is down.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable

from drivers.base import (
    ChannelSpec,
    ColourRole,
    DeviceCondition,
    DeviceDescription,
    DeviceEvent,
    DeviceInfo,
    DriverState,
    DriverStatus,
    NumericSpec,
    Reading,
    SampleSink,
)
from drivers.pacing import Pacer
from drivers.sim.generator import PLETH_RATE, RESP_RATE, STEP, BedSimulator, SimStep
from drivers.sim.host import SimulationHost
from drivers.sim.vitals import CONDITION_TEXT

log = logging.getLogger(__name__)

NUMERICS: tuple[NumericSpec, ...] = (
    NumericSpec("HR", "HR", "/min", "bpm", ColourRole.ECG, stale_after=10.0),
    NumericSpec("SPO2", "SpO2", "%", "%", ColourRole.PLETH, stale_after=10.0),
    NumericSpec("PR", "PR", "/min", "bpm", ColourRole.PLETH, stale_after=10.0),
    NumericSpec("RR", "RR", "/min", "rpm", ColourRole.RESP, stale_after=10.0),
    NumericSpec("TEMP", "Temp", "Cel", "°C", ColourRole.TEMP, stale_after=60.0, decimals=1),
    # An NIBP value is as old as its last cycle; it is shown with its age and goes stale
    # when a whole cycle and a margin have passed without a new one.
    NumericSpec("NIBP_SYS", "NIBP", "mm[Hg]", "mmHg", ColourRole.NIBP, stale_after=20 * 60.0),
    NumericSpec("NIBP_DIA", "NIBP dia", "mm[Hg]", "mmHg", ColourRole.NIBP, stale_after=20 * 60.0),
    NumericSpec("NIBP_MEAN", "NIBP mean", "mm[Hg]", "mmHg", ColourRole.NIBP, stale_after=20 * 60.0),
    NumericSpec("BATTERY", "Battery", "%", "%", ColourRole.DEVICE, stale_after=90.0),
)
UNITS = {spec.code: spec.unit for spec in NUMERICS}
DISPLAY_LATENCY = 0.35  # seconds: one step plus scheduling margin


class SimulatedMonitor:
    """A multiparameter bedside monitor playing one scenario for one patient."""

    def __init__(
        self,
        simulator: BedSimulator,
        *,
        speed: float | None = 1.0,
        duration: float | None = None,
        epoch: float | None = None,
        clock: Callable[[], float] = time.time,
        label: str = "",
        host: SimulationHost | None = None,
    ) -> None:
        self._sim = simulator
        self._pacer = Pacer(speed)
        self._duration = duration
        self._epoch = epoch
        self._clock = clock
        self._label = label
        self._host = host or SimulationHost(f"sim-{label or id(self)}")
        self._stop = threading.Event()
        self._done = threading.Event()
        self._step_lock = threading.Lock()  # held while a step runs; stop() waits on it
        self._started = False
        self._sink: SampleSink | None = None
        self._connected = True
        self._nibp_lock = threading.Lock()
        self._nibp_requests = 0
        self._delivered = 0.0
        self._status = DriverStatus(DriverState.STOPPED, clock())
        digest = hashlib.sha256(f"{simulator.scenario.name}:{label}".encode()).hexdigest()
        self._serial = f"SIM-{digest[:8].upper()}"

    @property
    def kind(self) -> str:
        return "simulator"

    @property
    def status(self) -> DriverStatus:
        return self._status

    @property
    def elapsed(self) -> float:
        """Seconds of signal generated so far."""
        return self._sim.elapsed

    @property
    def delivered(self) -> float:
        """Everything timed before this (driver seconds) has been handed to the sink."""
        return self._delivered

    def describe(self) -> DeviceDescription:
        fs = float(self._sim.ecg_rate)
        channels = (
            ChannelSpec("ECG_II", "II", "mV", fs, 200.0, ColourRole.ECG, (-1.5, 2.0)),
            ChannelSpec("PLETH", "Pleth", "1", PLETH_RATE, 10000.0, ColourRole.PLETH, (-0.3, 1.6)),
            ChannelSpec("RESP", "Resp", "Ohm", RESP_RATE, 1000.0, ColourRole.RESP, (-0.4, 0.6)),
        )
        info = DeviceInfo("simulator", "Vigil", "SimMonitor 1", self._serial, simulated=True)
        return DeviceDescription(info, channels, NUMERICS, DISPLAY_LATENCY)

    def request_nibp(self) -> None:
        with self._nibp_lock:
            self._nibp_requests += 1

    def start(self, sink: SampleSink) -> None:
        if self._started:
            raise RuntimeError("a simulated monitor can be started only once")
        self._started = True
        if self._epoch is None:
            self._epoch = self._clock()
        self._sink = sink
        self._set_status(DriverState.CONNECTED, "simulated")
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
        """Wait for a run with a ``duration`` to finish; True when it has."""
        return not self._started or self._done.wait(timeout)

    # -- stepping, called by the host's thread ---------------------------------------------

    def due_at(self) -> float:
        return self._pacer.due(self._sim.elapsed + STEP)

    def step_once(self) -> bool:
        """Generate and deliver one step; False once the run is over."""
        with self._step_lock:
            if self._stop.is_set() or self._done.is_set():
                return False
            if self._duration is not None and self._sim.elapsed >= self._duration - 1e-9:
                self._finish(DriverState.STOPPED, at=self._duration)
                return False
            try:
                self._take_nibp_requests()
                step = self._sim.step()
                if step.connected != self._connected:
                    self._connected = step.connected
                    self._on_connection_change(step.connected, step.t0)
                self._deliver(step)
                self._delivered = step.t0 + STEP
            except Exception as exc:  # a dying driver must be seen on the screen, never vanish
                log.exception("simulated monitor %s failed", self._label)
                self._finish(DriverState.FAILED, f"simulator failed: {exc}")
                return False
            return True

    def _finish(self, state: DriverState, message: str = "", at: float | None = None) -> None:
        """The last status; the run counts as over even if delivering that status fails."""
        try:
            self._set_status(state, message, at=at)
        finally:
            self._delivered = math.inf  # nothing more will come
            self._done.set()

    def _set_status(self, state: DriverState, message: str = "", at: float | None = None) -> None:
        # Stamped in the driver's own time line, which runs ahead of the wall at --speed max.
        t = self._sim.elapsed if at is None else at
        self._status = DriverStatus(state, self._time(t), message)
        self._require_sink().write_status(self._status)

    def _require_sink(self) -> SampleSink:
        if self._sink is None:
            raise RuntimeError("the simulated monitor has not been started")
        return self._sink

    def _take_nibp_requests(self) -> None:
        with self._nibp_lock:
            pending, self._nibp_requests = self._nibp_requests, 0
        if pending:
            self._sim.request_nibp()

    def _on_connection_change(self, connected: bool, t: float) -> None:
        """At ``t`` the first block with the new connection state starts."""
        if not connected:
            self._set_status(DriverState.DISCONNECTED, "connection lost", at=t)
            return
        self._set_status(DriverState.CONNECTED, "reconnected", at=t)
        # What changed while the link was down is sent again in full.
        now = self._time(t)
        for code, active in self._sim.conditions.items():
            self._require_sink().write_condition(
                DeviceCondition(code, active, now, CONDITION_TEXT[code])
            )

    def _time(self, t: float) -> float:
        epoch = self._epoch if self._epoch is not None else 0.0
        return epoch + t

    def _deliver(self, step: SimStep) -> None:
        sink = self._require_sink()
        end = math.inf if self._duration is None else self._duration  # nothing past --duration
        for event in step.events:
            if event.t < end and (event.kind == "scenario" or step.connected):
                sink.write_event(DeviceEvent(event.kind, event.name, self._time(event.t)))
        if not step.connected:
            return
        t_first = self._time(step.t0)
        for key, block in step.waveforms.items():
            keep = len(block)
            if step.t0 + STEP > end:  # the last step of a run ends part-way
                keep = math.ceil((end - step.t0) * len(block) / STEP - 1e-9)
            sink.write_samples(key, block[:keep], t_first)
        readings = [
            Reading(r.code, r.value, UNITS[r.code], self._time(r.t), r.quality, r.message)
            for r in step.readings
            if r.t < end
        ]
        if readings:
            sink.write_readings(readings)
        for c in step.conditions:
            if c.t < end:
                sink.write_condition(DeviceCondition(c.code, c.active, self._time(c.t), c.message))
