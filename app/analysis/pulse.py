"""Pulse rate from the photoplethysmogram (pleth), streaming and causal.

1. A causal 0.5-8 Hz Butterworth band-pass removes drift and the respiratory swing and
   smooths noise; its state is carried between blocks, and it restarts after every gap (NaN,
   ±inf) from a steady state, so a gap never rings through the filter. Above 50 Hz the
   filtered pleth is decimated to at least 50 Hz: 8 Hz needs no more, and it bounds the cost.
2. The detection function is the rise of the filtered pleth across 128 ms, centred on each
   sample (a slope-sum: it follows an upstroke, whose rise takes 100-200 ms, and averages
   noise out far better than a one-sample slope). A pulse is a local maximum of it that is
   the largest within ±85 ms, at least half of the largest of the previous 2.5 s (longer than
   one beat at 25 bpm, so the threshold follows a falling perfusion within 2.5 s), and at
   least ``min_pulse``. Its time is where the upstroke crosses half of that rise, interpolated
   between samples: near its steepest point an upstroke is almost straight.
3. Two candidates within 170 ms (refractory, 350 bpm), or within 65 % of the usual interval
   unless they rise by similar amounts (within 70 %), cannot both be beats: the larger is
   kept. At fast rates the dicrotic wave lies half-way between beats and can pass the
   threshold, and so can noise, while a real beat that early is as large as the last, or is a
   weak ectopic pulse, which the rate ignores. After a pause longer than a lost pulse (see 4)
   the earlier beats are forgotten.
4. The rate is 60 over the median of the last 8 beat intervals that ended in the last 15 s,
   once there are 4. There is none unless the pleth's signal quality is GOOD (a noisy pleth
   yields beats from its noise), when the intervals scatter (median absolute deviation over
   40 % of the median: noise, not a rhythm), or when no beat came for 3 median intervals
   (at least 4.8 s, two beats at 25 bpm): the pulse is lost. Estimates are made every
   ``HOP`` s of input, at fixed sample indices, so any chunking of the input gives the same
   results.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.signal import butter

from app.analysis.quality import (
    ChannelConfig,
    Quality,
    RateStatus,
    Verdict,
)
from app.analysis.wave_rate import WaveRateAnalyser

FloatArray = npt.NDArray[np.float64]

MIN_BPM, MAX_BPM = 25.0, 300.0
BAND_HZ = (0.5, 8.0)
DECIMATED_MIN_HZ = 50.0
UPSTROKE = 0.128  # s the detection function measures the rise over
HALF_WIDTH = 0.085  # s: a pulse is the largest rise within this either side
LOOKBACK = 2.5  # s of rises the threshold is relative to (one beat at 25 bpm, and some)
RELATIVE_THRESHOLD = 0.5  # of the largest recent rise; a dicrotic wave rises ~20-40 % as much
# A pulse rises at least this much (pleth units, a typical pulse being ~1) in 128 ms: 2 % of a
# typical pulse, several times below a weak ectopic pulse at poor perfusion, yet above what
# noise and the respiratory swing of a pulseless pleth reach after the band-pass. Without it a
# pleth in cardiac arrest yields a "rate" from its noise.
MIN_PULSE = 0.02
REFRACTORY = 0.17  # s between beats
EARLY = 0.65  # of the median interval: two beats this close must rise by similar amounts,
EARLY_MIN_RISE = 0.7  # the smaller by at least this share of the larger
SETTLE = 1.0  # s after a (re)start before beats count: the band-pass is still settling
INTERVALS = 8  # beat intervals the median is taken over
MIN_INTERVALS = 4
MAX_AGE = 15.0  # s: older intervals no longer describe the current rate
# Median absolute deviation / median of the intervals: AF reaches ~0.2-0.3, bigeminy with
# 1:2 intervals 0.33, beats at random ~0.6.
MAX_SPREAD = 0.4
OVERDUE_BEATS = 3.0  # no beat for this many median intervals: the pulse is lost
OVERDUE_MIN = 2 * 60.0 / MIN_BPM  # s; two beats missed at the slowest rate we report


@dataclass(frozen=True, slots=True)
class PulseRate:
    """The pulse rate estimate at one moment, and why there is none when there is none."""

    bpm: float | None  # None unless status is VALID
    status: RateStatus
    reason: str
    sample_index: int  # samples [0, sample_index) have been analysed
    intervals_used: int
    seconds_since_beat: float | None  # since the last detected pulse, None if none yet
    signal_quality: Quality  # of the pleth window ending at sample_index


class PulseRateAnalyser(WaveRateAnalyser[PulseRate]):
    """Streaming pulse rate of one pleth channel sampled at ``fs`` Hz (25-1000 Hz)."""

    def __init__(
        self, fs: float, config: ChannelConfig | str = "pleth", *, min_pulse: float = MIN_PULSE
    ) -> None:
        if not 2.5 * BAND_HZ[1] <= fs <= 100_000.0:
            raise ValueError(f"pleth sample rate {fs} Hz is outside 20-100000 Hz")
        super().__init__(
            fs, config, butter(2, BAND_HZ, btype="bandpass", fs=fs, output="sos"), DECIMATED_MIN_HZ
        )
        self.min_pulse = min_pulse
        rate = fs / self._step
        self._reach = max(1, round(UPSTROKE / 2 * rate))  # the rise at p is y[p+r] - y[p-r]
        self._half = max(self._reach + 1, round(HALF_WIDTH * rate))
        self._lookback = round(LOOKBACK * rate)
        self._last_beat: float | None = None  # sample index (fractional), kept across gaps
        self._reset(0)
        self._estimate = PulseRate(
            None, RateStatus.ACQUIRING, "no samples yet", 0, 0, None, self._sqi.quality()
        )

    def recent_beats(self) -> tuple[float, ...]:
        """Sample indices (fractional) of the last beats since the start or the last gap; the
        newest may still be replaced by a better candidate close after it."""
        return tuple(self._beats)

    def _reset(self, index: int) -> None:
        """Forget the filter and the beats: what follows a gap starts afresh at ``index``."""
        self._filter.reset()
        self._wave = np.empty(0)  # the decimated, filtered pleth since the reset
        self._wave_start = 0  # decimated index of _wave[0]
        self._scan_from = 0  # decimated index of the first undecided sample
        self._detect_from = index + SETTLE * self.fs  # sample index
        self._beats: deque[float] = deque(maxlen=INTERVALS + 1)  # since the reset
        self._last_rise = 0.0  # of the latest beat
        self._typical: float | None = None  # median beat interval, in samples

    def _run(self, x: FloatArray, start: int) -> None:
        """Filter and scan an unbroken run of valid samples starting at sample ``start``."""
        y = self._filter.run(x)
        first = (-start) % self._step  # keep sample indices that are multiples of the step
        kept = y[first :: self._step]
        if kept.size == 0:
            return
        if self._wave.size == 0:
            self._wave_start = (start + first) // self._step
        self._wave = np.concatenate((self._wave, kept))
        self._scan()

    def _scan(self) -> None:
        """Decide every sample whose rises within ±HALF_WIDTH are all known."""
        y, base, reach, half = self._wave, self._wave_start, self._reach, self._half
        detect_from = math.ceil(self._detect_from / self._step)
        lo = max(self._scan_from, detect_from, base + reach) - base
        hi = y.size - half - reach
        if hi > lo:
            rise = np.full(y.size, -np.inf)  # -inf where the 128 ms are not all there
            rise[reach:-reach] = y[2 * reach :] - y[: -2 * reach]
            centre = rise[lo:hi]
            # Cheap tests first: a local maximum above the minimal pulse.
            peaks = (centre > rise[lo - 1 : hi - 1]) & (centre >= rise[lo + 1 : hi + 1])
            for p in (np.flatnonzero(peaks & (centre >= self.min_pulse)) + lo).tolist():
                size = float(rise[p])
                if size >= rise[max(0, p - half) : p + half + 1].max() and (
                    size >= RELATIVE_THRESHOLD * rise[max(0, p - self._lookback) : p + 1].max()
                ):
                    self._accept((base + _mid_rise(y, p, reach)) * self._step, size)
            self._scan_from = base + hi
        keep_from = max(0, min(hi, y.size) - self._lookback - half - reach)
        self._wave = y[keep_from:]
        self._wave_start = base + keep_from

    def _accept(self, t: float, rise: float) -> None:
        """A candidate beat at sample index ``t`` whose upstroke rises by ``rise``."""
        if self._beats:
            since = t - self._beats[-1]
            typical = self._typical
            if typical is not None and since > _overdue(typical / self.fs) * self.fs:
                # After a pause longer than a lost pulse, earlier beats say nothing about now.
                self._beats.clear()
                self._typical = None
            elif since < REFRACTORY * self.fs or (
                typical is not None
                and since < EARLY * typical
                and min(rise, self._last_rise) < EARLY_MIN_RISE * max(rise, self._last_rise)
            ):
                # Too close to both be beats: the larger is the pulse, the other a dicrotic
                # wave, noise, or a weak ectopic pulse.
                if rise <= self._last_rise:
                    return
                self._beats.pop()
        self._beats.append(t)
        self._last_beat = t
        self._last_rise = rise
        if len(self._beats) >= 3:
            self._typical = statistics.median(b - a for a, b in itertools.pairwise(self._beats))

    def _rate(self) -> PulseRate:
        now, fs = self._count, self.fs
        quality = self._sqi.quality()
        since = None if self._last_beat is None else (now - self._last_beat) / fs
        beats = list(self._beats)
        oldest_end = now - MAX_AGE * fs
        intervals = [(b - a) / fs for a, b in itertools.pairwise(beats) if b >= oldest_end]
        intervals = intervals[-INTERVALS:]
        n = len(intervals)

        def result(status: RateStatus, reason: str, bpm: float | None = None) -> PulseRate:
            return PulseRate(bpm, status, reason, now, n, since, quality)

        if quality.verdict is not Verdict.GOOD:
            noisy = quality.verdict in {Verdict.NOISY, Verdict.ARTEFACT}
            return result(RateStatus.LOW_QUALITY if noisy else RateStatus.NO_SIGNAL, quality.reason)
        median = statistics.median(intervals) if n else 0.0
        waited = (now - (beats[-1] if beats else self._detect_from)) / fs
        if waited > _overdue(median):
            return result(RateStatus.NOT_DETECTED, f"no pulse detected for {waited:.0f} s")
        if n < MIN_INTERVALS:
            return result(RateStatus.ACQUIRING, f"{n} of {MIN_INTERVALS} beat intervals")
        spread = statistics.median(abs(x - median) for x in intervals) / median
        if spread > MAX_SPREAD:
            return result(RateStatus.IRREGULAR, f"beat intervals scatter by {spread:.0%}")
        bpm = 60.0 / median
        if not MIN_BPM <= bpm <= MAX_BPM:
            return result(RateStatus.OUT_OF_RANGE, f"{bpm:.0f} bpm is outside 25-300")
        return result(RateStatus.VALID, f"median of {n} beat intervals", bpm)


def _overdue(median_interval: float) -> float:
    """Seconds without a beat after which the pulse counts as lost."""
    return max(OVERDUE_MIN, OVERDUE_BEATS * median_interval)


def _mid_rise(y: FloatArray, p: int, reach: int) -> float:
    """Where the rise from y[p-reach] to y[p+reach] crosses half its height, in samples."""
    level = 0.5 * (float(y[p - reach]) + float(y[p + reach]))
    m = p  # find m with y[m] < level <= y[m+1], starting from the middle
    while m + 1 < p + reach and y[m + 1] < level:
        m += 1
    while m > p - reach and y[m] >= level:
        m -= 1
    step = float(y[m + 1] - y[m])
    fraction = (level - float(y[m])) / step if step > 0.0 else 0.5
    return m + min(max(fraction, 0.0), 1.0)


def pulse_rates(
    samples: npt.ArrayLike,
    fs: float,
    config: ChannelConfig | str = "pleth",
    *,
    min_pulse: float = MIN_PULSE,
) -> list[PulseRate]:
    """Batch helper: the estimate after every hop of ``samples``, fed through the analyser."""
    return PulseRateAnalyser(fs, config, min_pulse=min_pulse).estimates_over(samples)
