"""Heart rate from RR intervals, averaged as disclosed under IEC 60601-2-27, and HRV.

Averaging (the disclosure the standard asks for): the mean of the last 12 RR intervals. When
the last 4 intervals all differ from the 8 before them by more than 20 % in the same direction (a
sudden change of rate, e.g. the 80 -> 120 and 80 -> 40 bpm step tests) the mean of the last 4
is used, and so it is when the last 3 intervals all exceed 1.2 s (the usual vendor rule for
bradycardia). Once a beat is 1.5 RR overdue, the rate shown falls as 60 / time since the last beat,
so a pause or asystole never leaves a stale normal rate on the screen.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

AVERAGE_BEATS = 12
FAST_BEATS = 4
STEP_CHANGE = 0.2  # relative change of RR that counts as a sudden change of rate
SLOW_RR = 1.2  # s
OVERDUE = 1.5  # x mean RR: later than a compensatory pause, the shown rate starts falling
MIN_INTERVALS = 3  # before any rate is shown
HRV_SPAN = 300.0  # s: the short-term HRV standard (Task Force 1996)
HRV_MIN_INTERVALS = 30


@dataclass(frozen=True, slots=True)
class Hrv:
    sdnn_ms: float
    rmssd_ms: float
    intervals: int  # normal-to-normal intervals used
    span_s: float


class HeartRateMeter:
    def __init__(self) -> None:
        self._rr: deque[float] = deque(maxlen=AVERAGE_BEATS)

    def add_interval(self, rr: float) -> None:
        if rr > 0:
            self._rr.append(rr)

    def reset(self) -> None:
        self._rr.clear()

    def bpm(self, since_last_beat: float) -> float | None:
        """The displayed rate, or None until enough intervals have been seen."""
        if len(self._rr) < MIN_INTERVALS:
            return None
        rr = list(self._rr)
        mean = sum(rr) / len(rr)
        recent, before = rr[-FAST_BEATS:], rr[:-FAST_BEATS]
        if before:
            previous = sum(before) / len(before)
            faster = all(r < previous * (1 - STEP_CHANGE) for r in recent)
            slower = all(r > previous * (1 + STEP_CHANGE) for r in recent)
            if faster or slower or all(r > SLOW_RR for r in rr[-3:]):
                mean = sum(recent) / len(recent)
        if since_last_beat > OVERDUE * mean:
            mean = since_last_beat
        return 60.0 / mean


class HrvMeter:
    """SDNN and RMSSD over the last five minutes of normal-to-normal intervals."""

    def __init__(self) -> None:
        self._nn: deque[tuple[float, float]] = deque()  # (time of the beat, interval)

    def add(self, time: float, interval: float, normal_pair: bool) -> None:
        if normal_pair and 0.25 <= interval <= 2.5:
            self._nn.append((time, interval))
        while self._nn and self._nn[0][0] < time - HRV_SPAN:
            self._nn.popleft()

    def reset(self) -> None:
        self._nn.clear()

    def value(self) -> Hrv | None:
        if len(self._nn) < HRV_MIN_INTERVALS:
            return None
        intervals = np.array([interval for _, interval in self._nn])
        successive = np.diff(intervals)
        return Hrv(
            sdnn_ms=float(intervals.std(ddof=1) * 1000.0),
            rmssd_ms=float(np.sqrt(np.mean(successive * successive)) * 1000.0),
            intervals=len(intervals),
            span_s=self._nn[-1][0] - self._nn[0][0],
        )
