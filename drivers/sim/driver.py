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
    NumericSpec,
    Reading,
)
from drivers.sim.generator import PLETH_RATE, RESP_RATE, STEP, BedSimulator, SimStep
from drivers.sim.host import SimulationHost
from drivers.sim.hosted import HostedDriver
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


class SimulatedMonitor(HostedDriver):
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
        super().__init__(
            speed=speed, epoch=epoch, clock=clock, host=host, host_name=f"sim-{label or id(self)}"
        )
        self._sim = simulator
        self._duration = duration
        self._label = label
        self._connected = True
        self._nibp_lock = threading.Lock()
        self._nibp_requests = 0
        self._delivered = 0.0
        digest = hashlib.sha256(f"{simulator.scenario.name}:{label}".encode()).hexdigest()
        self._serial = f"SIM-{digest[:8].upper()}"

    @property
    def kind(self) -> str:
        return "simulator"

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

    def _connected_message(self) -> str:
        return "simulated"

    def _now(self) -> float:
        return self._sim.elapsed

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

    def _finished(self) -> None:
        self._delivered = math.inf  # nothing more will come

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
