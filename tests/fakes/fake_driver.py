"""A scripted driver for tests: pushes what the test tells it to, on the test's thread."""

from __future__ import annotations

import time

import numpy as np

from drivers.base import (
    ChannelSpec,
    ColourRole,
    DeviceCondition,
    DeviceDescription,
    DeviceEvent,
    DeviceInfo,
    DriverState,
    DriverStatus,
    Mark,
    NumericSpec,
    Reading,
    SampleSink,
)

ECG = ChannelSpec("ECG_II", "II", "mV", 250.0, 200.0, ColourRole.ECG, (-1.5, 2.0))
PLETH = ChannelSpec("PLETH", "Pleth", "1", 125.0, 10000.0, ColourRole.PLETH, (-0.3, 1.6))
NUMERICS = (
    NumericSpec("HR", "HR", "/min", "bpm", ColourRole.ECG, stale_after=10.0),
    NumericSpec("SPO2", "SpO2", "%", "%", ColourRole.PLETH, stale_after=10.0),
    NumericSpec("NIBP_SYS", "NIBP", "mm[Hg]", "mmHg", ColourRole.NIBP, stale_after=1200.0),
)


class FakeDriver:
    """Implements the driver protocol; the test calls ``push_*`` to deliver data."""

    def __init__(self, serial: str = "FAKE-1", simulated: bool = False) -> None:
        self.serial = serial
        self.simulated = simulated
        self.sink: SampleSink | None = None
        self._status = DriverStatus(DriverState.STOPPED, time.time())
        self.stopped = False

    @property
    def kind(self) -> str:
        return "fake"

    @property
    def status(self) -> DriverStatus:
        return self._status

    def describe(self) -> DeviceDescription:
        info = DeviceInfo("fake", "Tests", "Fake", self.serial, simulated=self.simulated)
        return DeviceDescription(info, (ECG, PLETH), NUMERICS, display_latency=0.2)

    def start(self, sink: SampleSink) -> None:
        self.sink = sink
        self.push_status(DriverState.CONNECTED)

    def stop(self, timeout: float = 2.0) -> bool:
        self.stopped = True
        return True

    def _require_sink(self) -> SampleSink:
        if self.sink is None:
            raise RuntimeError("start the fake driver first")
        return self.sink

    def push_status(self, state: DriverState, t: float | None = None, message: str = "") -> None:
        self._status = DriverStatus(state, time.time() if t is None else t, message)
        self._require_sink().write_status(self._status)

    def push_samples(self, channel: str, values: np.ndarray, t_first: float) -> None:
        self._require_sink().write_samples(channel, values.astype(np.float32), t_first)

    def push_readings(self, *readings: Reading) -> None:
        self._require_sink().write_readings(readings)

    def push_event(self, kind: str, name: str, t: float) -> None:
        self._require_sink().write_event(DeviceEvent(kind, name, t))

    def push_marks(self, channel: str, *marks: Mark) -> None:
        self._require_sink().write_marks(channel, marks)

    def push_condition(self, code: str, active: bool, t: float) -> None:
        self._require_sink().write_condition(DeviceCondition(code, active, t, code))
