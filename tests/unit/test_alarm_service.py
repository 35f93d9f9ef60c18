"""The alarm engine's own thread: it ticks on its own, reports a failing tick, and stops."""

from __future__ import annotations

import time

from app.alarms.engine import AlarmEngine, AlarmSnapshot
from app.alarms.service import AlarmService
from tests.unit.alarm_harness import Harness


def test_the_service_ticks_at_its_rate_and_stops() -> None:
    harness = Harness()
    service = AlarmService(harness.engine)
    try:
        service.start()
        time.sleep(1.1)
    finally:
        assert service.stop()
        harness.close()
    assert 3 <= service.ticks <= 6  # every 0.25 s
    assert service.failure is None
    assert harness.engine.now > harness.t0 - 1.0  # it ran on the wall clock


class FailingOnce(AlarmEngine):
    calls = 0

    def tick(self, now: float, hold_future: bool = False) -> AlarmSnapshot:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("corrupt state")
        return super().tick(now, hold_future)


def test_a_failing_tick_is_reported_and_the_next_one_tries_again() -> None:
    harness = Harness()
    try:
        service = AlarmService(FailingOnce(harness.station))
        service.step()
        first = service.failure
        service.step()
        assert (first, service.failure, service.ticks) == ("RuntimeError: corrupt state", None, 1)
    finally:
        harness.close()
