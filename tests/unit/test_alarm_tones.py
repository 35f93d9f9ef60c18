"""The alarm sounds meet IEC 60601-1-8 Tables 3/4, measured from the rendered samples.

Pulses are found on an amplitude envelope (|analytic signal|, averaged over one period of the
measured fundamental) at half its peak; the pattern constants are only the expected values.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pytest
from scipy import signal

from app.alarms.priority import Priority
from app.alarms.tones import (
    PATTERNS,
    REMINDER,
    BurstPattern,
    onsets_from_gaps,
    render_burst,
    render_cycle,
)

FloatArray = npt.NDArray[np.float64]
PCM = npt.NDArray[np.int16]
RATES = (22050, 48000)
FULL_SCALE = 32767
PAD = 0.05  # s of silence around a burst, so that every pulse has two edges to find

# IEC 60601-1-8 Table 4 (pulse) and Table 3 (burst) ranges, in s.
TD_RANGE = {
    Priority.HIGH: (0.075, 0.200),
    Priority.MEDIUM: (0.125, 0.250),
    Priority.LOW: (0.125, 0.250),
}
SPACING_RANGE = {Priority.HIGH: (0.050, 0.125), Priority.MEDIUM: (0.125, 0.250)}
INTER_BURST_RANGE = {
    Priority.HIGH: (2.5, 15.0),
    Priority.MEDIUM: (2.5, 30.0),
    Priority.LOW: (15.0, np.inf),  # "> 15 s"
}
PULSES = {Priority.HIGH: 10, Priority.MEDIUM: 3, Priority.LOW: 1}


@dataclass(frozen=True)
class Pulse:
    start: float  # s, half-amplitude point on the way up
    end: float  # s, half-amplitude point on the way down
    rise: float  # s, 10 % → 90 % of the plateau
    fall: float  # s, 90 % → 10 % of the plateau

    @property
    def duration(self) -> float:
        return self.end - self.start


def envelope(pcm: PCM, sample_rate: int, period: float) -> FloatArray:
    """RMS of the analytic signal over ``period`` s: flat on a pulse, whatever its harmonics."""
    padded = np.pad(pcm.astype(np.float64), round(PAD * sample_rate))
    power = np.abs(signal.hilbert(padded)) ** 2
    # A centred moving average over exactly one period (a fractional number of samples), taken
    # from the running sum: harmonics beat at multiples of f0, and a whole period cancels them.
    total = np.concatenate([[0.0], np.cumsum(power)])
    width = period * sample_rate
    centre = np.arange(power.size) + 0.5
    at = np.arange(total.size)
    ahead = np.interp(centre + width / 2, at, total)
    behind = np.interp(centre - width / 2, at, total)
    rms: FloatArray = np.sqrt(np.maximum(ahead - behind, 0.0) / width)
    return rms


def crossing(env: FloatArray, level: float, i: int) -> float:
    """Sub-sample position where env crosses ``level`` between samples i-1 and i."""
    a, b = env[i - 1], env[i]
    return i - 1 + float((level - a) / (b - a))


def edges(env: FloatArray, level: float) -> tuple[list[float], list[float]]:
    above = (env >= level).astype(np.int8)
    ups = np.flatnonzero(np.diff(above) == 1) + 1
    downs = np.flatnonzero(np.diff(above) == -1) + 1
    return [crossing(env, level, int(i)) for i in ups], [
        crossing(env, level, int(i)) for i in downs
    ]


def ramp_time(env: FloatArray, lo: float, hi: float, window: slice, rising: bool) -> float:
    """Samples between the crossings of lo and hi on one edge inside env[window]."""
    side = 0 if rising else 1
    (t_lo,), (t_hi,) = edges(env[window], lo)[side], edges(env[window], hi)[side]
    return abs(t_hi - t_lo)


def pulses_in(pcm: PCM, sample_rate: int, period: float) -> list[Pulse]:
    env = envelope(pcm, sample_rate, period)
    ups, downs = edges(env, env.max() / 2)
    assert len(ups) == len(downs)
    pad = PAD * sample_rate
    found = []
    for up, down in zip(ups, downs, strict=True):
        a, b = round(up), round(down)
        quarter = (b - a) // 4  # wider than half a ramp, shorter than any pulse spacing
        plateau = float(np.median(env[a + quarter : b - quarter]))
        lo, hi = 0.1 * plateau, 0.9 * plateau
        rise = ramp_time(env, lo, hi, slice(a - quarter, a + quarter), rising=True)
        fall = ramp_time(env, lo, hi, slice(b - quarter, b + quarter), rising=False)
        start, end = (up - pad) / sample_rate, (down - pad) / sample_rate
        found.append(Pulse(start, end, rise / sample_rate, fall / sample_rate))
    return found


def spectrum(pcm: PCM, sample_rate: int) -> tuple[FloatArray, FloatArray]:
    """Frequencies and levels (dB) of a Hann-windowed, zero-padded segment."""
    x = pcm.astype(np.float64) * np.hanning(pcm.size)
    n = 1 << 19
    levels: FloatArray = 20 * np.log10(np.abs(np.fft.rfft(x, n)) + 1e-12)
    freqs = np.fft.rfftfreq(n, 1 / sample_rate).astype(np.float64)
    return freqs, levels


def plateau_of_first_pulse(pcm: PCM, sample_rate: int) -> PCM:
    """The middle half of the first pulse: clear of its ramps, which take under td/5 each."""
    # Before f0 is known: a 20-ms Hann-weighted average, whose sidelobes flatten the beating
    # of any fundamental above 150 Hz (three periods or more).
    padded = np.pad(pcm.astype(np.float64), round(PAD * sample_rate))
    power = np.abs(signal.hilbert(padded)) ** 2
    window = np.hanning(round(0.020 * sample_rate))
    rough = np.sqrt(np.convolve(power, window / window.sum(), mode="same"))
    ups, downs = edges(rough, rough.max() / 2)
    quarter = (downs[0] - ups[0]) / 4
    pad = round(PAD * sample_rate)
    return pcm[round(ups[0] + quarter) - pad : round(downs[0] - quarter) - pad]


def fundamental(pcm: PCM, sample_rate: int) -> float:
    """The lowest strong spectral peak of the first pulse's steady part, Hz."""
    freqs, levels = spectrum(plateau_of_first_pulse(pcm, sample_rate), sample_rate)
    peaks, _ = signal.find_peaks(levels, height=levels.max() - 30, prominence=20)
    return float(freqs[peaks[0]])


def harmonic_levels(pcm: PCM, sample_rate: int, f0: float) -> dict[int, float]:
    """Level (dB) of each harmonic k·f0 that falls in 300–4000 Hz."""
    freqs, levels = spectrum(plateau_of_first_pulse(pcm, sample_rate), sample_rate)
    found = {}
    for k in range(1, int(4000 // f0) + 1):
        if k * f0 >= 300:
            near = np.abs(freqs - k * f0) < f0 / 4
            found[k] = float(levels[near].max())
    return found


def measure(pattern: BurstPattern, sample_rate: int) -> tuple[list[Pulse], float]:
    pcm = render_burst(pattern, sample_rate)
    f0 = fundamental(pcm, sample_rate)
    return pulses_in(pcm, sample_rate, 1 / f0), f0


def gaps(pulses: list[Pulse]) -> list[float]:
    return [b.start - a.end for a, b in itertools.pairwise(pulses)]


PRIORITIES = sorted(PATTERNS, reverse=True)
CASES = [(p, rate) for p in PRIORITIES for rate in RATES]
SOUNDS = [(p, rate) for p in [*(PATTERNS[q] for q in PRIORITIES), REMINDER] for rate in RATES]


@pytest.mark.parametrize(("priority", "rate"), CASES)
def test_pulse_count_and_duration(priority: Priority, rate: int) -> None:
    pattern = PATTERNS[priority]
    pulses, _ = measure(pattern, rate)
    assert len(pulses) == PULSES[priority]
    lo, hi = TD_RANGE[priority]
    for pulse in pulses:
        assert lo <= pulse.duration <= hi
        assert pulse.duration == pytest.approx(pattern.td, abs=0.002)


@pytest.mark.parametrize(("priority", "rate"), CASES)
def test_rise_and_fall_are_10_to_20_percent_of_td(priority: Priority, rate: int) -> None:
    pulses, _ = measure(PATTERNS[priority], rate)
    for pulse in pulses:
        assert 0.10 <= pulse.rise / pulse.duration <= 0.20
        assert 0.10 <= pulse.fall / pulse.duration <= 0.20
        assert pulse.rise / pulse.duration == pytest.approx(0.15, abs=0.01)


@pytest.mark.parametrize("rate", RATES)
def test_high_rhythm_is_3_plus_2_pause_3_plus_2(rate: int) -> None:
    pulses, _ = measure(PATTERNS[Priority.HIGH], rate)
    spacing = gaps(pulses)
    assert len(spacing) == 9
    short = [spacing[i] for i in (0, 1, 3, 5, 6, 8)]
    x = float(np.mean(short))
    td = float(np.mean([p.duration for p in pulses]))
    lo, hi = SPACING_RANGE[Priority.HIGH]
    assert all(lo <= s <= hi for s in short)
    assert max(short) - min(short) < 0.001  # one spacing x within the groups
    assert spacing[2] == pytest.approx(2 * x + td, abs=0.002)  # pulse 3 → 4
    assert spacing[7] == pytest.approx(2 * x + td, abs=0.002)  # pulse 8 → 9
    assert 0.35 <= spacing[4] <= 1.30  # pulse 5 → 6: the pause between the halves
    assert spacing[4] > spacing[2]
    # The grouping as a listener hears it: split wherever a gap is clearly longer than x.
    groups, size = [], 1
    for s in spacing:
        if s > 1.5 * x:
            groups.append(size)
            size = 0
        size += 1
    groups.append(size)
    assert groups == [3, 2, 3, 2]
    assert spacing == pytest.approx([0.1, 0.1, 0.35, 0.1, 0.7, 0.1, 0.1, 0.35, 0.1], abs=0.002)


@pytest.mark.parametrize("rate", RATES)
def test_medium_pulses_are_evenly_spaced(rate: int) -> None:
    pulses, _ = measure(PATTERNS[Priority.MEDIUM], rate)
    spacing = gaps(pulses)
    lo, hi = SPACING_RANGE[Priority.MEDIUM]
    assert len(spacing) == 2
    assert all(lo <= s <= hi for s in spacing)
    assert spacing == pytest.approx([0.2, 0.2], abs=0.002)


@pytest.mark.parametrize(("priority", "rate"), CASES)
def test_inter_burst_interval_from_two_looped_cycles(priority: Priority, rate: int) -> None:
    pattern = PATTERNS[priority]
    cycle = render_cycle(pattern, rate)
    assert pattern.inter_burst is not None
    assert pattern.period is not None
    assert cycle.size / rate == pytest.approx(pattern.period, abs=1 / rate)
    burst = render_burst(pattern, rate)
    assert np.array_equal(cycle[: burst.size], burst)
    assert not cycle[burst.size :].any()  # silence after the burst
    f0 = fundamental(burst, rate)
    pulses = pulses_in(np.tile(cycle, 2), rate, 1 / f0)
    n = PULSES[priority]
    assert len(pulses) == 2 * n
    # The standard's interburst interval: from the end of the last pulse to the next burst.
    silence = pulses[n].start - pulses[n - 1].end
    lo, hi = INTER_BURST_RANGE[priority]
    assert lo <= silence <= hi
    assert silence == pytest.approx(pattern.inter_burst, abs=2 / rate)
    assert pulses[n].start - pulses[0].start == pytest.approx(pattern.period, abs=2 / rate)


@pytest.mark.parametrize(("pattern", "rate"), SOUNDS)
def test_fundamental_and_harmonics(pattern: BurstPattern, rate: int) -> None:
    pcm = render_burst(pattern, rate)
    f0 = fundamental(pcm, rate)
    assert 150 <= f0 <= 1000
    assert f0 == pytest.approx(pattern.f0, rel=0.01)
    levels = harmonic_levels(pcm, rate, f0)
    strongest = max(levels.values())
    loud = {k: level for k, level in levels.items() if level >= strongest - 15}
    assert len(loud) >= 4
    assert max(loud.values()) - min(loud.values()) <= 15
    # The levels are the designed ones, so nothing else (e.g. clipping) shapes the spectrum.
    designed = np.asarray(pattern.harmonics)
    for k, level in levels.items():
        if k <= designed.size:
            want = 20 * np.log10(designed[k - 1] / designed[0])
            assert level - levels[1] == pytest.approx(want, abs=0.5)


@pytest.mark.parametrize(("pattern", "rate"), SOUNDS)
def test_every_strong_partial_is_a_harmonic(pattern: BurstPattern, rate: int) -> None:
    pcm = render_burst(pattern, rate)
    f0 = fundamental(pcm, rate)
    freqs, levels = spectrum(plateau_of_first_pulse(pcm, rate), rate)
    peaks, _ = signal.find_peaks(levels, height=levels.max() - 30, prominence=20)
    ratios = freqs[peaks] / f0
    assert np.allclose(ratios, np.round(ratios), atol=0.02)
    assert len(peaks) == len(pattern.harmonics)


@pytest.mark.parametrize(("pattern", "rate"), SOUNDS)
def test_peak_is_safely_below_full_scale(pattern: BurstPattern, rate: int) -> None:
    pcm = render_burst(pattern, rate)
    assert pcm.dtype == np.int16
    assert pcm.ndim == 1
    peak = int(np.abs(pcm.astype(np.int32)).max())
    assert 0.25 * FULL_SCALE <= peak <= 0.71 * FULL_SCALE  # audible, and at least 3 dB headroom


@pytest.mark.parametrize("rate", RATES)
def test_reminder_is_two_short_pulses_played_once(rate: int) -> None:
    pulses, f0 = measure(REMINDER, rate)
    assert len(pulses) == 2
    low = PATTERNS[Priority.LOW]
    assert all(p.duration == pytest.approx(REMINDER.td, abs=0.002) for p in pulses)
    assert all(p.duration < low.td for p in pulses)  # short
    assert f0 <= fundamental(render_burst(low, rate), rate) + 1  # low: no higher than LOW
    assert REMINDER.inter_burst is None
    with pytest.raises(ValueError, match="played once"):
        render_cycle(REMINDER, rate)


@pytest.mark.parametrize("rate", [7999, 192001, 0, -44100])
def test_sample_rate_out_of_range_is_refused(rate: int) -> None:
    for render in (render_burst, render_cycle):
        with pytest.raises(ValueError, match="sample rate must be 8000–192000 Hz"):
            render(PATTERNS[Priority.LOW], rate)


@pytest.mark.parametrize("rate", [8000, 192000])
def test_sample_rate_limits_are_accepted(rate: int) -> None:
    pulses, f0 = measure(PATTERNS[Priority.MEDIUM], rate)
    assert len(pulses) == 3
    assert f0 == pytest.approx(PATTERNS[Priority.MEDIUM].f0, rel=0.01)


def test_inconsistent_patterns_are_refused() -> None:
    good = PATTERNS[Priority.MEDIUM]
    with pytest.raises(ValueError, match="overlap"):
        BurstPattern((0.0, 0.1), 0.2, 0.03, 0.03, 15.0, 520.0, (1.0,))
    with pytest.raises(ValueError, match="leaves no silence"):
        BurstPattern(good.onsets, good.td, good.rise, good.fall, 0.0, good.f0, good.harmonics)
    with pytest.raises(ValueError, match="too short"):
        BurstPattern((0.0,), 0.02, 0.02, 0.02, None, 440.0, (1.0,))
    with pytest.raises(ValueError, match="f0"):
        BurstPattern((0.0,), 0.2, 0.03, 0.03, None, 0.0, (1.0,))


def test_onsets_from_gaps() -> None:
    assert onsets_from_gaps(0.2, [0.2, 0.2]) == (0.0, 0.4, 0.8)
    assert onsets_from_gaps(0.15, []) == (0.0,)
