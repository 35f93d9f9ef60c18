"""Respiration rate from the thoracic impedance channel, streaming and causal.

1. A causal second-order Butterworth band-pass from 0.05 Hz (4 /min passes at -1 dB, while
   electrode drift over a minute or more is suppressed enough not to shift the breaths off
   zero) to 1.5 Hz (90 /min at -3 dB, 120 /min at -6 dB, and the cardiogenic oscillation of
   an adult heart attenuated), restarted from a steady state after every gap.
   The filtered signal is then decimated to about 10 Hz, plenty for waves below 2 Hz.
2. Breaths are counted with hysteresis around zero: the signal must rise above +h after
   having been below -h. h is a fifth of the median peak-to-peak of the last breaths, so the
   cardiogenic ripple riding on a breath never counts, but never less than half of
   ``min_breath`` (peak-to-peak, in ohms): during apnoea the threshold may decay toward that
   floor and no further, so a heartbeat is not taken for a breath. The breath's time is the
   upward zero crossing that preceded the rise, interpolated between samples.
3. The rate is 60 over the median of the breath intervals that ended in the last 30 s (at most
   15, at least 2); none unless the impedance's signal quality is GOOD (noise crosses any
   threshold and would pass for breathing), or when no breath has been seen for 20 s. Every
   estimate reports the time since the last detected breath (or since the analysis started),
   which an apnoea alarm can use directly; it is meaningful only while the status says the
   signal is there (not NO_SIGNAL or LOW_QUALITY). A flat impedance counts as present but
   without breaths (NOT_DETECTED): with the leads on, that is what apnoea looks like when no
   cardiogenic ripple shows, and calling it "no signal" would hide the apnoea.
"""

from __future__ import annotations

import itertools
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

MIN_PER_MIN, MAX_PER_MIN = 4.0, 120.0
HIGH_PASS_HZ, LOW_PASS_HZ = 0.05, 1.5
DECIMATED_MIN_HZ = 10.0
# Breaths are 0.2-3 ohm peak-to-peak; the cardiogenic oscillation 0.02-0.1 ohm.
MIN_BREATH = 0.15  # ohm peak-to-peak
RELATIVE_HYSTERESIS = 0.2  # of the median recent breath peak-to-peak, each side of zero
AMPLITUDES = 5  # breaths the amplitude median is taken over
DECAY_AFTER = 2.0  # median intervals without a breath before the threshold starts to fall
DECAY_HALF_LIFE = 3.0  # s
SETTLE = 3.0  # s after a (re)start: about one time constant of the 0.05-Hz high-pass
MIN_INTERVAL = 60.0 / MAX_PER_MIN  # s; a second crossing sooner is the same breath
WINDOW = 30.0  # s of breath intervals the rate is taken over
INTERVALS = 15
MIN_INTERVALS = 2
NOT_DETECTED_AFTER = 20.0  # s without a breath: no rate (the usual apnoea alarm delay)


@dataclass(frozen=True, slots=True)
class RespirationRate:
    """The respiration rate estimate at one moment, and the time since the last breath."""

    per_min: float | None  # breaths per minute; None unless status is VALID
    status: RateStatus
    reason: str
    sample_index: int  # samples [0, sample_index) have been analysed
    intervals_used: int
    seconds_since_breath: float  # since the last detected breath, or since the start
    signal_quality: Quality  # of the impedance window ending at sample_index


class RespirationRateAnalyser(WaveRateAnalyser[RespirationRate]):
    """Streaming respiration rate of one impedance channel sampled at ``fs`` Hz (25-1000)."""

    def __init__(
        self, fs: float, config: ChannelConfig | str = "resp", *, min_breath: float = MIN_BREATH
    ) -> None:
        if not 4.0 * LOW_PASS_HZ <= fs <= 100_000.0:
            raise ValueError(f"respiration sample rate {fs} Hz is outside 6-100000 Hz")
        band = (HIGH_PASS_HZ, LOW_PASS_HZ)
        sos = butter(2, band, btype="bandpass", fs=fs, output="sos")
        super().__init__(fs, config, sos, DECIMATED_MIN_HZ)
        self.min_breath = min_breath
        self._last_breath: float | None = None  # sample index (fractional), kept across gaps
        self._reset(0)
        self._estimate = RespirationRate(
            None, RateStatus.ACQUIRING, "no samples yet", 0, 0, 0.0, self._sqi.quality()
        )

    def recent_breaths(self) -> tuple[float, ...]:
        """Sample indices (fractional) of the last breaths since the start or the last gap."""
        return tuple(self._breaths)

    def _reset(self, index: int) -> None:
        """Forget the filter and the breaths: what follows a gap starts afresh at ``index``."""
        self._filter.reset()
        self._count_from = index + SETTLE * self.fs  # sample index
        self._side = 0  # +1 above +h, -1 below -h, 0 not known yet
        self._previous: float | None = None  # last decimated value
        self._rise_at: float | None = None  # upward zero crossing since the last fall below -h
        self._cycle = (np.inf, -np.inf)  # lowest and highest value since the last breath
        self._amplitudes: deque[float] = deque(maxlen=AMPLITUDES)
        self._breaths: deque[float] = deque(maxlen=INTERVALS + 1)  # since the reset
        self._base = 0.5 * self.min_breath  # hysteresis while breathing goes on as before
        self._typical: float | None = None  # median breath interval, in samples

    def _run(self, x: FloatArray, start: int) -> None:
        """Filter an unbroken run of valid samples and follow the breaths through it."""
        y = self._filter.run(x)
        first = (-start) % self._step  # keep sample indices that are multiples of the step
        for k, value in enumerate(y[first :: self._step].tolist()):
            self._follow(start + first + k * self._step, value)

    def _follow(self, t: int, value: float) -> None:
        """One decimated sample of the hysteresis state machine; ``t`` is its sample index."""
        previous = self._previous
        self._previous = value
        if previous is not None and self._side <= 0 and previous <= 0.0 < value:
            self._rise_at = t - self._step * value / (value - previous)
        low, high = self._cycle
        self._cycle = (min(low, value), max(high, value))
        h = self._hysteresis(t)
        if self._side != 1 and value > h:
            if self._side == -1:
                self._breath(t if self._rise_at is None else self._rise_at, decayed=h < self._base)
            self._side = 1
        elif self._side != -1 and value < -h:
            self._side = -1
            self._rise_at = None

    def _hysteresis(self, t: float) -> float:
        if self._typical is None:
            return self._base
        overdue = t - self._breaths[-1] - DECAY_AFTER * self._typical
        if overdue <= 0.0:
            return self._base
        decayed: float = self._base * 0.5 ** (overdue / (DECAY_HALF_LIFE * self.fs))
        return max(0.5 * self.min_breath, decayed)

    def _breath(self, t: float, *, decayed: bool) -> None:
        if t < self._count_from:
            return
        if self._breaths and t - self._breaths[-1] < MIN_INTERVAL * self.fs:
            return
        low, high = self._cycle
        self._cycle = (np.inf, -np.inf)
        if decayed:  # breathing came back shallower: judge by the new breaths only
            self._amplitudes.clear()
        if self._breaths:
            self._amplitudes.append(high - low)
        self._breaths.append(t)
        self._last_breath = t
        floor = 0.5 * self.min_breath
        relative = RELATIVE_HYSTERESIS * statistics.median(self._amplitudes or [0.0])
        self._base = max(floor, relative)
        if len(self._breaths) >= 2:
            self._typical = statistics.median(b - a for a, b in itertools.pairwise(self._breaths))

    def _rate(self) -> RespirationRate:
        now, fs = self._count, self.fs
        quality = self._sqi.quality()
        since = (now - (0.0 if self._last_breath is None else self._last_breath)) / fs
        breaths = list(self._breaths)
        # A 30-s window holds two intervals down to 4 /min only if it stretches with them.
        latest = breaths[-1] - breaths[-2] if len(breaths) >= 2 else 0.0
        oldest_end = now - max(WINDOW * fs, 2.5 * latest)
        intervals = [(b - a) / fs for a, b in itertools.pairwise(breaths) if b >= oldest_end]
        intervals = intervals[-INTERVALS:]
        n = len(intervals)

        def result(status: RateStatus, reason: str, rate: float | None = None) -> RespirationRate:
            return RespirationRate(rate, status, reason, now, n, since, quality)

        if quality.verdict is Verdict.FLAT:
            # With the leads on, a flat impedance is apnoea without a cardiogenic ripple.
            return result(RateStatus.NOT_DETECTED, quality.reason)
        if quality.verdict is not Verdict.GOOD:
            noisy = quality.verdict in {Verdict.NOISY, Verdict.ARTEFACT}
            return result(RateStatus.LOW_QUALITY if noisy else RateStatus.NO_SIGNAL, quality.reason)
        if since > NOT_DETECTED_AFTER:
            return result(RateStatus.NOT_DETECTED, f"no breath detected for {since:.0f} s")
        if n < MIN_INTERVALS:
            return result(RateStatus.ACQUIRING, f"{n} of {MIN_INTERVALS} breath intervals")
        rate = 60.0 / statistics.median(intervals)
        if not MIN_PER_MIN <= rate <= MAX_PER_MIN:
            return result(RateStatus.OUT_OF_RANGE, f"{rate:.0f} /min is outside 4-120")
        return result(RateStatus.VALID, f"median of {n} breath intervals", rate)


def respiration_rates(
    samples: npt.ArrayLike,
    fs: float,
    config: ChannelConfig | str = "resp",
    *,
    min_breath: float = MIN_BREATH,
) -> list[RespirationRate]:
    """Batch helper: the estimate after every hop of ``samples``, fed through the analyser."""
    return RespirationRateAnalyser(fs, config, min_breath=min_breath).estimates_over(samples)
