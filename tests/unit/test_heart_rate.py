"""Heart-rate averaging as disclosed, and HRV over five minutes."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.heart_rate import AVERAGE_BEATS, HeartRateMeter, HrvMeter


def meter_with(intervals: list[float]) -> HeartRateMeter:
    meter = HeartRateMeter()
    for rr in intervals:
        meter.add_interval(rr)
    return meter


def test_no_rate_before_three_intervals() -> None:
    assert meter_with([0.8, 0.8]).bpm(0.0) is None
    assert meter_with([0.8, 0.8, 0.8]).bpm(0.0) == pytest.approx(75.0)


def test_the_mean_of_the_last_twelve_intervals() -> None:
    intervals = [0.5] * 5 + [0.8, 0.9, 0.7, 0.8, 0.85, 0.75, 0.8, 0.82, 0.78, 0.8, 0.8, 0.8]
    expected = 60.0 / np.mean(intervals[-AVERAGE_BEATS:])
    assert meter_with(intervals).bpm(0.0) == pytest.approx(expected)


@pytest.mark.parametrize(("new_rate", "beats_to_follow"), [(120.0, 4), (40.0, 4)])
def test_a_step_of_rate_is_followed_within_four_beats(
    new_rate: float, beats_to_follow: int
) -> None:
    """The IEC 60601-2-27 step tests, 80 -> 120 and 80 -> 40 bpm."""
    meter = meter_with([0.75] * 20)
    for _ in range(beats_to_follow):
        meter.add_interval(60.0 / new_rate)
    assert meter.bpm(0.0) == pytest.approx(new_rate, abs=1.0)


def test_an_overdue_beat_pulls_the_rate_down() -> None:
    meter = meter_with([1.0] * 12)
    assert meter.bpm(1.4) == pytest.approx(60.0)  # a late beat is not yet a pause
    assert meter.bpm(3.0) == pytest.approx(20.0)


def test_hrv_of_a_known_series() -> None:
    hrv = HrvMeter()
    rr = np.tile([0.8, 0.9], 100)
    t = np.cumsum(rr)
    for time, interval in zip(t, rr, strict=True):
        hrv.add(float(time), float(interval), normal_pair=True)
    value = hrv.value()
    assert value is not None
    kept = rr[t >= t[-1] - 300.0]
    assert value.sdnn_ms == pytest.approx(np.std(kept, ddof=1) * 1000.0)
    assert value.rmssd_ms == pytest.approx(100.0)


def test_hrv_ignores_ectopic_intervals_and_needs_enough_beats() -> None:
    hrv = HrvMeter()
    for i in range(40):
        hrv.add(float(i), 0.8 if i % 2 else 0.4, normal_pair=bool(i % 2))
    value = hrv.value()
    assert value is None  # only 20 normal-to-normal intervals
    for i in range(40, 60):
        hrv.add(float(i), 0.8, normal_pair=True)
    value = hrv.value()
    assert value is not None
    assert value.sdnn_ms == pytest.approx(0.0)
