"""The sync's health per bed and for the station: ok, retrying, failing after 5 min of
continuous failure; any delivery ends a failure; a bed waiting on a station-wide failure
shares it."""

from __future__ import annotations

from collections import Counter

from app.sync.delivery import RoundReport
from app.sync.errors import TransientError
from app.sync.state import FAILING_AFTER, Health, SyncTracker

T = 1000.0


def failed(*beds: str) -> RoundReport:
    return RoundReport(
        rows=1, failed_beds=dict.fromkeys(beds, "HTTP 503"), failure=TransientError("HTTP 503")
    )


def sent(*beds: str) -> RoundReport:
    return RoundReport(rows=1, sent=Counter(vital=len(beds)), sent_beds=Counter(beds))


def test_health_moves_from_ok_to_retrying_to_failing_and_back() -> None:
    tracker = SyncTracker({"ICU-1": T - 50})
    state = tracker.state(T, {"ICU-1": 3}, {}, running=True)
    assert (state.station.health, state.station.last_success, state.station.backlog) == (
        Health.OK,
        T - 50,
        3,
    )
    tracker.record(failed("ICU-1"), T)
    tracker.record(failed("ICU-1"), T + 100)
    state = tracker.state(T + 100, {"ICU-1": 3}, {}, running=True)
    assert state.station.health is Health.RETRYING
    assert state.station.failing_since == T
    assert state.for_bed("ICU-1").last_error == "HTTP 503"
    state = tracker.state(T + FAILING_AFTER, {"ICU-1": 3}, {}, running=True)
    assert state.station.health is Health.FAILING
    assert state.for_bed("ICU-1").health is Health.FAILING
    tracker.record(sent("ICU-1"), T + 400)
    state = tracker.state(T + 400, {}, {}, running=True)
    assert (state.station.health, state.station.last_error) == (Health.OK, "")
    assert state.for_bed("ICU-1").last_success == T + 400


def test_a_bed_waiting_on_a_station_wide_failure_shares_it() -> None:
    tracker = SyncTracker()
    tracker.record(RoundReport(rows=5, failure=TransientError("connection refused")), T)
    state = tracker.state(T + 1, {"ICU-2": 5, "ICU-3": 0}, {"ICU-3": 1}, running=True)
    assert state.for_bed("ICU-2").health is Health.RETRYING
    assert state.for_bed("ICU-2").last_error == "connection refused"
    assert state.for_bed("ICU-3").health is Health.OK  # nothing waiting there
    assert state.for_bed("ICU-3").dead_letters == 1
    assert state.station.dead_letters == 1
    assert state.for_bed("ICU-9").backlog == 0  # unknown beds read as empty


def test_progress_between_failures_is_not_continuous_failure() -> None:
    tracker = SyncTracker()
    for minute in range(10):  # a flaky EHR: each round delivers some, then fails
        tracker.record(sent("ICU-1"), T + 60 * minute)
        tracker.record(failed("ICU-1"), T + 60 * minute)
    state = tracker.state(T + 600, {"ICU-1": 1}, {}, running=True)
    assert state.station.health is Health.RETRYING
