"""The simulated monitor as a driver: the protocol, pacing, dropouts, NIBP on demand, failure."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np
import pytest

from app.bus import EventBus
from app.signals.stream import DeviceStream
from drivers.base import (
    DeviceCondition,
    DeviceEvent,
    Driver,
    DriverState,
    DriverStatus,
    Mark,
    NibpControl,
    Reading,
    SampleBlock,
)
from drivers.sim import STEP, BedSimulator, SimulatedMonitor, get_scenario
from drivers.sim.generator import SimStep


class RecordingSink:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: list[tuple[str, np.ndarray, float]] = []
        self.readings: list[Reading] = []
        self.statuses: list[DriverStatus] = []
        self.conditions: list[DeviceCondition] = []
        self.events: list[DeviceEvent] = []
        self.marks: list[tuple[str, Mark]] = []

    def write_samples(self, channel: str, samples: SampleBlock, t_first: float) -> None:
        with self.lock:
            self.samples.append((channel, samples.copy(), t_first))

    def write_readings(self, readings: Sequence[Reading]) -> None:
        with self.lock:
            self.readings += readings

    def write_status(self, status: DriverStatus) -> None:
        with self.lock:
            self.statuses.append(status)

    def write_condition(self, condition: DeviceCondition) -> None:
        with self.lock:
            self.conditions.append(condition)

    def write_event(self, event: DeviceEvent) -> None:
        with self.lock:
            self.events.append(event)

    def write_marks(self, channel: str, marks: Sequence[Mark]) -> None:
        with self.lock:
            self.marks += [(channel, mark) for mark in marks]


def monitor(scenario: str, seconds: float, speed: float | None = None) -> SimulatedMonitor:
    sim = BedSimulator(get_scenario(scenario), 4)
    return SimulatedMonitor(sim, speed=speed, duration=seconds, epoch=1000.0, label="Bed 01")


def test_it_implements_the_driver_protocol_and_describes_itself() -> None:
    driver: Driver = monitor("normal", 1.0)
    description = driver.describe()
    assert driver.kind == "simulator"
    assert description.info.simulated
    keys = {c.key: c for c in description.channels}
    assert keys["ECG_II"].sample_rate == 250
    assert keys["ECG_II"].unit == "mV"
    assert keys["PLETH"].sample_rate == 125
    assert keys["RESP"].sample_rate == 62.5
    codes = {n.code for n in description.numerics}
    assert {"HR", "SPO2", "RR", "TEMP", "NIBP_SYS", "NIBP_DIA", "NIBP_MEAN", "BATTERY"} <= codes
    assert isinstance(driver, NibpControl)


def test_run_at_max_speed_delivers_the_generators_signal_with_timestamps() -> None:
    driver = monitor("normal", 20.0)
    sink = RecordingSink()
    driver.start(sink)
    assert driver.wait(10.0)
    ecg = [(block, t) for key, block, t in sink.samples if key == "ECG_II"]
    assert len(ecg) == round(20.0 / STEP)
    assert [t for _, t in ecg][:3] == pytest.approx([1000.0, 1000.0 + STEP, 1000.0 + 2 * STEP])
    reference = BedSimulator(get_scenario("normal"), 4)
    expected = np.concatenate([reference.step().waveforms["ECG_II"] for _ in ecg])
    np.testing.assert_array_equal(np.concatenate([b for b, _ in ecg]), expected)
    states = [s.state for s in sink.statuses]
    assert states == [DriverState.CONNECTED, DriverState.STOPPED]


def test_realtime_pacing_follows_the_wall_clock() -> None:
    driver = monitor("normal", 1.0, speed=1.0)
    sink = RecordingSink()
    t0 = time.monotonic()
    driver.start(sink)
    assert driver.wait(5.0)
    elapsed = time.monotonic() - t0
    assert 0.9 <= elapsed <= 3.0  # never early; late only as far as a busy machine makes it


def test_stop_ends_an_endless_run_promptly() -> None:
    sim = BedSimulator(get_scenario("normal"), 4)
    driver = SimulatedMonitor(sim, speed=1.0)
    driver.start(RecordingSink())
    time.sleep(0.3)
    t0 = time.monotonic()
    assert driver.stop(2.0)
    assert time.monotonic() - t0 < 0.5
    assert driver.status.state is DriverState.STOPPED


def test_a_dropout_shows_as_disconnection_and_a_gap_in_the_buffers() -> None:
    bus = EventBus()
    driver = monitor("dropout", 60.0)
    stream = DeviceStream("Bed 01", driver, bus)
    stream.start()
    assert driver.wait(10.0)
    statuses = [e.payload for e in bus.drain() if isinstance(e.payload, DriverStatus)]
    changes = [(round(s.timestamp - 1000.0, 2), s.state) for s in statuses]
    assert (30.08, DriverState.DISCONNECTED) in changes  # the first step starting after 30 s
    assert any(t >= 38.0 and st is DriverState.CONNECTED for t, st in changes)
    stats = stream.buffers["ECG_II"].stats
    # 30.08 .. 38.08 s missing at 250 Hz: the gap is counted and held as NaN.
    assert stats.gap_samples == pytest.approx(8.0 * 250, abs=2 * STEP * 250)
    ecg = stream.buffers["ECG_II"]
    assert ecg.span().end == 60 * 250
    data, _ = ecg.read(0, 60 * 250)
    assert np.isnan(data[(31 * 250) : (37 * 250)]).all()


def test_nibp_on_demand_starts_a_measurement() -> None:
    sim = BedSimulator(get_scenario("normal"), 4)
    driver = SimulatedMonitor(sim, speed=20.0, duration=90.0, epoch=0.0)
    sink = RecordingSink()
    driver.start(sink)
    deadline = time.monotonic() + 5
    while driver.elapsed < 50.0 and time.monotonic() < deadline:
        time.sleep(0.01)
    driver.request_nibp()
    assert driver.wait(10.0)
    starts = [e.timestamp for e in sink.events if e.name == "NIBP measurement started"]
    assert starts[0] == 10.0  # the automatic first measurement
    assert len(starts) == 2
    assert starts[1] >= 50.0
    systolic = [r for r in sink.readings if r.code == "NIBP_SYS"]
    assert len(systolic) == 2
    assert all(r.value is not None for r in systolic)


class ExplodingSimulator(BedSimulator):
    def step(self) -> SimStep:
        if self.elapsed > 1.0:
            raise ArithmeticError("model diverged")
        return super().step()


def test_a_failing_driver_reports_failed_with_the_reason() -> None:
    driver = SimulatedMonitor(ExplodingSimulator(get_scenario("normal"), 1), speed=None)
    sink = RecordingSink()
    driver.start(sink)
    assert driver.wait(5.0)
    assert sink.statuses[-1].state is DriverState.FAILED
    assert "model diverged" in sink.statuses[-1].message
    assert driver.status.state is DriverState.FAILED
