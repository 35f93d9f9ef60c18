"""The auditory alarm signals Vigil generates, after IEC 60601-1-8 (Tables 3 and 4).

A burst is a fixed rhythm of harmonic-rich pulses; a player repeats it every ``period``
seconds. Timing conventions, which the tests measure from the samples:

- ``td`` is a pulse's duration between the half-amplitude points of its envelope;
- a pulse spacing is the silence from one pulse's half-amplitude end to the next one's start;
- ``rise`` and ``fall`` are 10 %→90 % (90 %→10 %) envelope times, shaped as linear ramps;
- ``inter_burst`` is the standard's interburst interval: the silence from the end of a
  burst's last pulse to the start of the next burst's first pulse (so a 10-pulse high burst
  of 3.5 s with a 5-s interburst interval repeats every 8.5 s).

Qt-free on purpose: the sounds are checked headless, and a player only has to copy samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.alarms.priority import Priority

MIN_SAMPLE_RATE = 8_000
MAX_SAMPLE_RATE = 192_000
# Peak level as a fraction of int16 full scale: -6 dBFS leaves headroom for mixing/resampling.
PEAK = 0.5
# A linear ramp spends 80 % of its length between 10 % and 90 % of the amplitude.
_RAMP_10_90 = 0.8


@dataclass(frozen=True)
class BurstPattern:
    """One burst: when each pulse starts, how long it lasts and what it sounds like.

    Attributes:
        onsets: start of each pulse's envelope, in s from the start of the burst.
        td: pulse duration at half amplitude, s.
        rise: 10→90 % rise time, s.
        fall: 90→10 % fall time, s.
        inter_burst: s from the end of the last pulse to the next burst; None plays it once.
        f0: fundamental frequency, Hz.
        harmonics: linear amplitude of harmonic k+1 (``harmonics[0]`` is f0 itself).
    """

    onsets: tuple[float, ...]
    td: float
    rise: float
    fall: float
    inter_burst: float | None
    f0: float
    harmonics: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.onsets or self.onsets[0] != 0.0:
            raise ValueError("a burst starts with a pulse at 0 s")
        if self.plateau <= 0.0:
            raise ValueError(f"td {self.td} s is too short for rise {self.rise} + fall {self.fall}")
        steps = np.diff(self.onsets)
        if np.any(steps < self.pulse_length):
            raise ValueError("pulses overlap: onsets must be at least one pulse length apart")
        if self.f0 <= 0.0 or not self.harmonics or min(self.harmonics) < 0.0:
            raise ValueError("f0 must be positive, with non-negative harmonic amplitudes")
        period = self.period
        if period is not None and (period < self.duration or period <= self.onsets[-1] + self.td):
            raise ValueError(f"inter-burst {self.inter_burst} s leaves no silence")

    @property
    def rise_ramp(self) -> float:
        """Full length of the linear attack ramp, s."""
        return self.rise / _RAMP_10_90

    @property
    def fall_ramp(self) -> float:
        """Full length of the linear release ramp, s."""
        return self.fall / _RAMP_10_90

    @property
    def plateau(self) -> float:
        """Time at full amplitude, s (the ramps each put half their length inside td)."""
        return self.td - (self.rise_ramp + self.fall_ramp) / 2.0

    @property
    def pulse_length(self) -> float:
        """Envelope length of one pulse from first to last non-zero sample, s."""
        return self.td + (self.rise_ramp + self.fall_ramp) / 2.0

    @property
    def duration(self) -> float:
        """Length of one burst, s."""
        return self.onsets[-1] + self.pulse_length

    @property
    def period(self) -> float | None:
        """s from the start of one burst to the start of the next; None: played once."""
        if self.inter_burst is None:
            return None
        return self.onsets[-1] + self.td + self.inter_burst

    @property
    def top_frequency(self) -> float:
        return self.f0 * len(self.harmonics)


def onsets_from_gaps(td: float, gaps: Sequence[float]) -> tuple[float, ...]:
    """Pulse onsets for pulses of duration ``td`` separated by the given spacings."""
    onsets = [0.0]
    for gap in gaps:
        onsets.append(round(onsets[-1] + td + gap, 9))
    return tuple(onsets)


def _pattern(
    td: float, gaps: Sequence[float], inter_burst: float | None, f0: float
) -> BurstPattern:
    return BurstPattern(
        onsets=onsets_from_gaps(td, gaps),
        td=td,
        rise=0.15 * td,  # IEC: 10–20 % of td
        fall=0.15 * td,
        inter_burst=inter_burst,
        f0=f0,
        # Five harmonics falling gently to -8 dB: all inside 300–4000 Hz and within 15 dB.
        harmonics=(1.0, 0.8, 0.6, 0.5, 0.4),
    )


_HIGH_TD, _HIGH_X = 0.150, 0.100
# IEC high-priority rhythm: x, x, 2x+td, x, then a 0.35–1.30 s pause, and the same again.
_HIGH_LONG = 2 * _HIGH_X + _HIGH_TD
_HIGH_PAUSE = 0.700
_HIGH_GROUPS = (_HIGH_X, _HIGH_X, _HIGH_LONG, _HIGH_X)
_HIGH_GAPS = (*_HIGH_GROUPS, _HIGH_PAUSE, *_HIGH_GROUPS)

PATTERNS: dict[Priority, BurstPattern] = {
    Priority.HIGH: _pattern(_HIGH_TD, _HIGH_GAPS, 5.0, 660.0),
    Priority.MEDIUM: _pattern(0.200, (0.200, 0.200), 15.0, 520.0),
    Priority.LOW: _pattern(0.200, (), 30.0, 440.0),
}

# The AUDIO/ALARM OFF reminder: two short low pulses, played once each time it is due.
REMINDER = _pattern(0.125, (0.150,), None, 440.0)


def _check_rate(pattern: BurstPattern, sample_rate: int) -> None:
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise ValueError(
            f"sample rate must be {MIN_SAMPLE_RATE}–{MAX_SAMPLE_RATE} Hz, got {sample_rate}"
        )
    if pattern.top_frequency >= sample_rate / 2:
        raise ValueError(
            f"harmonics up to {pattern.top_frequency:.0f} Hz need more than {sample_rate} Hz"
        )


def _envelope(pattern: BurstPattern, sample_rate: int) -> npt.NDArray[np.float64]:
    t = np.arange(round(pattern.pulse_length * sample_rate)) / sample_rate
    up = t / pattern.rise_ramp
    down = (pattern.pulse_length - t) / pattern.fall_ramp
    return np.clip(np.minimum(up, down), 0.0, 1.0)


def _pulse(pattern: BurstPattern, sample_rate: int) -> npt.NDArray[np.float64]:
    envelope = _envelope(pattern, sample_rate)
    t = np.arange(envelope.size) / sample_rate
    tone = np.zeros_like(t)
    for k, amplitude in enumerate(pattern.harmonics, start=1):
        tone += amplitude * np.sin(2 * np.pi * k * pattern.f0 * t)
    return envelope * tone


def render_burst(pattern: BurstPattern, sample_rate: int = 44100) -> npt.NDArray[np.int16]:
    """One burst as mono int16 PCM, peaking at ``PEAK`` of full scale."""
    _check_rate(pattern, sample_rate)
    pulse = _pulse(pattern, sample_rate)
    burst = np.zeros(round(pattern.duration * sample_rate) + 1)
    for onset in pattern.onsets:
        start = round(onset * sample_rate)
        burst[start : start + pulse.size] += pulse
    burst *= PEAK * np.iinfo(np.int16).max / np.max(np.abs(burst))
    return np.round(burst).astype(np.int16)


def render_cycle(pattern: BurstPattern, sample_rate: int = 44100) -> npt.NDArray[np.int16]:
    """One burst then silence up to the next burst's start: what a player loops."""
    if pattern.period is None:
        raise ValueError("this pattern is played once; use render_burst")
    burst = render_burst(pattern, sample_rate)
    cycle = np.zeros(round(pattern.period * sample_rate), np.int16)
    cycle[: burst.size] = burst
    return cycle
