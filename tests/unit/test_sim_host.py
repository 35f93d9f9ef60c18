"""The simulation host: one thread paces many simulated monitors; one failing spares others."""

from __future__ import annotations

import threading
import time

from drivers.base import DriverState, DriverStatus
from drivers.sim import BedSimulator, SimulatedMonitor, get_scenario
from drivers.sim.generator import SimStep
from drivers.sim.host import SimulationHost
from tests.unit.test_sim_driver import RecordingSink


class FailingSimulator(BedSimulator):
    def step(self) -> SimStep:
        if self.elapsed > 1.0:
            raise ArithmeticError("model diverged")
        return super().step()


class SinkGoneAtTheEnd(RecordingSink):
    """Fails when told the run is over: the error path inside the error path."""

    def write_status(self, status: DriverStatus) -> None:
        if status.state in (DriverState.FAILED, DriverState.STOPPED):
            raise OSError("sink is gone")
        super().write_status(status)


def monitor(
    host: SimulationHost, simulator: BedSimulator | None = None, duration: float = 5.0
) -> SimulatedMonitor:
    sim = simulator or BedSimulator(get_scenario("normal"), 2)
    return SimulatedMonitor(sim, speed=None, duration=duration, epoch=0.0, host=host)


def test_a_failing_monitor_leaves_the_others_running() -> None:
    host = SimulationHost()
    healthy, failing = monitor(host), monitor(host, FailingSimulator(get_scenario("normal"), 3))
    good_sink, bad_sink = RecordingSink(), RecordingSink()
    healthy.start(good_sink)
    failing.start(bad_sink)
    assert failing.wait(5.0)
    assert healthy.wait(5.0)
    assert bad_sink.statuses[-1].state is DriverState.FAILED
    assert good_sink.statuses[-1].state is DriverState.STOPPED
    assert healthy.elapsed >= 5.0
    assert host.join(2.0)


def test_even_a_failure_while_reporting_failure_spares_the_others() -> None:
    host = SimulationHost()
    healthy = monitor(host)
    doomed = monitor(host, FailingSimulator(get_scenario("normal"), 3))
    good_sink = RecordingSink()
    healthy.start(good_sink)
    doomed.start(SinkGoneAtTheEnd())
    assert doomed.wait(5.0)  # over, though its last status could not be delivered
    assert healthy.wait(5.0)
    assert good_sink.statuses[-1].state is DriverState.STOPPED
    assert host.join(2.0)


def test_stopping_one_monitor_mid_run_reports_stopped_last_and_spares_the_others() -> None:
    host = SimulationHost()
    first = SimulatedMonitor(BedSimulator(get_scenario("normal"), 1), speed=5.0, host=host)
    second = SimulatedMonitor(BedSimulator(get_scenario("normal"), 2), speed=5.0, host=host)
    sinks = RecordingSink(), RecordingSink()
    first.start(sinks[0])
    second.start(sinks[1])
    time.sleep(0.3)
    assert first.stop(2.0)
    stopped_at = second.elapsed
    with sinks[0].lock:
        last = sinks[0].statuses[-1].state
        blocks = len(sinks[0].samples)
    assert last is DriverState.STOPPED
    time.sleep(0.3)
    assert len(sinks[0].samples) == blocks  # nothing after STOPPED
    assert second.elapsed > stopped_at  # the other monitor goes on
    assert second.stop(2.0)
    assert host.join(2.0)
    assert not any(t.name == "sim-host" for t in threading.enumerate())


def test_at_full_speed_monitors_advance_together() -> None:
    """Round robin: once all have joined, the gap between monitors stays what it was (the
    first may have had a head start while the others were being started). Within one pass
    the gap swings by one catch-up burst either way, so any two readings of it differ by
    at most two bursts; a host that favoured one monitor would drift far beyond that."""
    host = SimulationHost()
    monitors = [monitor(host, duration=30.0) for _ in range(3)]
    for m in monitors:
        m.start(RecordingSink())

    def spread() -> float:
        elapsed = [m.elapsed for m in monitors]
        return max(elapsed) - min(elapsed)

    head_start = spread()
    worst = head_start
    while not all(m.wait(0) for m in monitors):
        worst = max(worst, spread())
        time.sleep(0.001)
    assert worst <= head_start + 2 * 8 * 0.16 + 1e-9
    assert all(m.elapsed >= 30.0 for m in monitors)
    assert host.join(2.0)
