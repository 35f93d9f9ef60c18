"""Pulse rate from the pleth: accuracy, step response, gaps, junk, and the simulator's patients."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from app.analysis.pulse import PulseRate, PulseRateAnalyser, pulse_rates
from app.analysis.quality import RateStatus, Verdict, hop_samples
from drivers.sim import PhysiologyState
from tests.unit.chunking import assert_any_chunking_matches, assert_fixed_chunks_match
from tests.unit.sim_helpers import heart_rate, r_peaks, run

Array = npt.NDArray[np.float64]


def beat_times(
    rate: Callable[[float], float], seconds: float, *, jitter: float, seed: int
) -> Array:
    """Beat onsets for a rate in bpm that may change with time; ``jitter`` is relative."""
    rng = np.random.default_rng(seed)
    t, beats = rng.uniform(0.0, 60.0 / rate(0.0)), []
    while t < seconds:
        beats.append(t)
        t += 60.0 / rate(t) * (1.0 + jitter * rng.standard_normal())
    return np.array(beats)


def pleth(beats: Array, fs: float, seconds: float, *, noise: float = 0.02, seed: int = 0) -> Array:
    """A realistic pleth: a fast upstroke, a slow fall with a dicrotic wave, pulse size varying
    with breathing, respiratory and slow baseline drift, and white noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * fs)) / fs
    y = 0.3 * np.sin(2 * np.pi * 0.25 * t) + 0.2 * np.sin(2 * np.pi * 0.02 * t + 1.0)
    for beat in beats:
        near = (t > beat) & (t < beat + 1.5)
        u = t[near] - beat
        size = 1.0 + 0.15 * np.sin(2 * np.pi * 0.25 * beat)
        y[near] += size * ((u / 0.1) ** 2 * np.exp(2.0 - 2.0 * u / 0.1))
        y[near] += size * 0.25 * np.exp(-0.5 * ((u - 0.35) / 0.06) ** 2)
    return y + rng.normal(0.0, noise, t.size)


def steady(bpm: float, fs: float, seconds: float, *, jitter: float = 0.0, seed: int = 0) -> Array:
    return pleth(beat_times(lambda _: bpm, seconds, jitter=jitter, seed=seed), fs, seconds)


def at(estimates: list[PulseRate], fs: float, t0: float, t1: float = np.inf) -> list[PulseRate]:
    """The estimates made with samples up to a time in [t0, t1) seconds."""
    return [e for e in estimates if t0 <= e.sample_index / fs < t1]


def rates(estimates: list[PulseRate]) -> list[float | None]:
    return [e.bpm for e in estimates]


def statuses(estimates: list[PulseRate]) -> set[RateStatus]:
    return {e.status for e in estimates}


def within(estimates: list[PulseRate], bpm: float, tolerance: float) -> bool:
    return bool(estimates) and all(
        e.bpm is not None and abs(e.bpm - bpm) <= tolerance for e in estimates
    )


@pytest.mark.parametrize("bpm", [40.0, 75.0, 150.0, 220.0])
@pytest.mark.parametrize("fs", [62.5, 125.0, 500.0])
def test_a_steady_pulse_rate_is_measured_within_2_bpm(bpm: float, fs: float) -> None:
    estimates = at(pulse_rates(steady(bpm, fs, 40.0), fs), fs, 15.0)
    assert statuses(estimates) == {RateStatus.VALID}
    assert within(estimates, bpm, 2.0), rates(estimates)


@pytest.mark.parametrize("bpm", [30.0, 280.0])
def test_the_ends_of_the_range_are_measured_within_2_percent(bpm: float) -> None:
    fs = 125.0
    assert within(at(pulse_rates(steady(bpm, fs, 50.0), fs), fs, 25.0), bpm, 0.02 * bpm)


@pytest.mark.parametrize(("bpm", "fs"), [(75.0, 25.0), (150.0, 125.0), (220.0, 1000.0)])
def test_a_sinusoidal_pleth_is_measured_within_2_bpm(bpm: float, fs: float) -> None:
    t = np.arange(round(40 * fs)) / fs
    x = 0.5 * np.sin(2 * np.pi * bpm / 60.0 * t) + np.random.default_rng(5).normal(0, 0.02, t.size)
    assert within(at(pulse_rates(x, fs), fs, 15.0), bpm, 2.0)


def test_a_rate_with_beat_to_beat_variability_is_measured_without_bias() -> None:
    fs = 125.0
    estimates = at(pulse_rates(steady(90.0, fs, 120.0, jitter=0.03, seed=3), fs), fs, 15.0)
    measured = np.array(rates(estimates), dtype=float)
    assert statuses(estimates) == {RateStatus.VALID}
    assert abs(measured.mean() - 90.0) < 1.0
    assert np.abs(measured - 90.0).max() < 5.0  # the median of 8 beats varies with them


def test_a_step_from_70_to_120_bpm_is_followed_within_10_s() -> None:
    fs = 125.0
    beats = beat_times(lambda t: 70.0 if t < 30.0 else 120.0, 60.0, jitter=0.01, seed=1)
    estimates = pulse_rates(pleth(beats, fs, 60.0), fs)
    assert within(at(estimates, fs, 15.0, 30.0), 70.0, 2.0)
    assert within(at(estimates, fs, 40.0), 120.0, 2.0)
    settled = [e for e in at(estimates, fs, 30.0) if e.bpm is not None and abs(e.bpm - 120) <= 2]
    assert settled[0].sample_index / fs <= 35.0  # the median flips after 5 of 8 new intervals


def test_a_gap_gives_no_rate_then_it_recovers() -> None:
    fs = 125.0
    x = steady(80.0, fs, 60.0)
    x[round(20 * fs) : round(30 * fs)] = np.nan  # probe off
    estimates = pulse_rates(x, fs)
    assert within(at(estimates, fs, 10.0, 20.0), 80.0, 2.0)
    gap = at(estimates, fs, 20.1, 30.1)
    assert statuses(gap) == {RateStatus.NO_SIGNAL}
    assert set(rates(gap)) == {None}
    assert within(at(estimates, fs, 38.0), 80.0, 2.0)
    assert (gap[-1].seconds_since_beat or 0.0) > 9.0


def test_a_flat_pleth_gives_no_rate() -> None:
    fs = 125.0
    x = np.full(round(30 * fs), 0.7) + np.random.default_rng(6).normal(0.0, 1e-4, round(30 * fs))
    estimates = pulse_rates(x, fs)
    assert set(rates(estimates)) == {None}
    assert statuses(estimates) == {RateStatus.NO_SIGNAL}
    assert all(e.signal_quality.verdict is Verdict.FLAT for e in at(estimates, fs, 4.0))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_noise_alone_never_gives_a_rate(seed: int) -> None:
    fs = 125.0
    x = np.random.default_rng(seed).normal(0.0, 0.3, round(40 * fs))
    estimates = at(pulse_rates(x, fs), fs, 4.0)
    assert set(rates(estimates)) == {None}
    assert statuses(estimates) == {RateStatus.LOW_QUALITY}
    assert all("noisy" in e.reason for e in estimates)


def test_a_noisy_but_readable_pleth_still_gives_the_rate() -> None:
    fs = 125.0
    beats = beat_times(lambda _: 75.0, 60.0, jitter=0.0, seed=0)
    estimates = at(pulse_rates(pleth(beats, fs, 60.0, noise=0.3), fs), fs, 15.0)
    assert within(estimates, 75.0, 2.0)


def test_a_pleth_without_pulses_says_none_detected() -> None:
    # Cardiac arrest: only the respiratory swing and noise are left, a perfectly good signal.
    fs = 125.0
    t = np.arange(round(40 * fs)) / fs
    x = 0.06 * np.sin(2 * np.pi * 0.25 * t) + np.random.default_rng(7).normal(0.0, 0.006, t.size)
    estimates = at(pulse_rates(x, fs), fs, 6.0)
    assert statuses(estimates) == {RateStatus.NOT_DETECTED}
    assert all(e.signal_quality.verdict is Verdict.GOOD for e in estimates)
    assert all(e.seconds_since_beat is None for e in estimates)


def test_pulses_that_stop_are_reported_lost_within_5_s() -> None:
    fs = 125.0
    x = steady(100.0, fs, 40.0)
    t = np.arange(x.size) / fs
    stopped = t >= 20.0
    x[stopped] = 0.3 * np.sin(2 * np.pi * 0.25 * t[stopped]) + 0.01 * np.cos(9 * t[stopped])
    estimates = pulse_rates(x, fs)
    assert within(at(estimates, fs, 10.0, 20.0), 100.0, 2.0)
    assert at(estimates, fs, 25.0, 26.0)[0].status is RateStatus.NOT_DETECTED
    # The strong respiratory swing left may pass for a pulse now and then; never for a rate.
    assert set(rates(at(estimates, fs, 25.0))) == {None}


def test_intervals_without_any_rhythm_give_no_rate() -> None:
    fs = 125.0
    chaos = [0.3, 1.5, 0.5, 1.9, 0.35, 1.2, 0.45, 1.7]  # spread 0.55 of the median
    beats = np.cumsum(np.tile(chaos, 8))
    estimates = at(pulse_rates(pleth(beats, fs, 60.0), fs), fs, 15.0)
    assert set(rates(estimates)) == {None}
    assert statuses(estimates) == {RateStatus.IRREGULAR}


def test_bigeminy_with_both_beats_felt_still_gives_the_rate() -> None:
    fs = 125.0
    beats = np.cumsum(np.tile([0.55, 1.05], 40))  # alternating 1:2 intervals, 75 /min on average
    estimates = at(pulse_rates(pleth(beats, fs, 60.0), fs), fs, 15.0)
    assert within(estimates, 75.0, 2.0)


def test_a_pleth_far_too_small_for_its_units_gives_no_rate() -> None:
    fs = 125.0
    estimates = at(pulse_rates(steady(75.0, fs, 30.0) / 1000.0, fs), fs, 5.0)
    assert set(rates(estimates)) == {None}


def test_short_feeds_wait_for_a_whole_hop() -> None:
    fs = 62.5
    analyser = PulseRateAnalyser(fs)
    first = analyser.estimate()
    assert (first.bpm, first.status, first.sample_index) == (None, RateStatus.ACQUIRING, 0)
    analyser.feed(np.array([]))
    analyser.feed(np.array([0.5]))
    assert analyser.estimate() is first
    analyser.feed(np.zeros(hop_samples(fs) - 1))
    assert analyser.estimate().sample_index == hop_samples(fs)


def test_sample_rates_the_band_pass_cannot_use_are_refused() -> None:
    with pytest.raises(ValueError, match="sample rate"):
        PulseRateAnalyser(10.0)


@pytest.mark.parametrize(("hr", "seed"), [(40.0, 1), (75.0, 2), (150.0, 3), (220.0, 4)])
def test_simulated_patients_pulse_rate_matches_the_set_heart_rate(hr: float, seed: int) -> None:
    sim = run("normal", 60.0, seed=seed, baseline=PhysiologyState(hr=hr))
    estimates = at(pulse_rates(sim.waves["PLETH"], sim.rate("PLETH")), sim.rate("PLETH"), 30.0)
    measured = np.array(rates(estimates), dtype=float)
    assert statuses(estimates) == {RateStatus.VALID}
    assert abs(measured.mean() - hr) <= 1.0
    # Each estimate is the median of 8 beats, which breathe with the sinus rhythm.
    assert np.abs(measured - hr).max() <= 0.04 * hr


def detected_beats(x: Array, fs: float) -> Array:
    """Every beat the analyser kept, in seconds, fed one hop at a time."""
    analyser = PulseRateAnalyser(fs)
    seen: set[float] = set()
    for start in range(0, x.size, analyser.hop):
        analyser.feed(x[start : start + analyser.hop])
        seen.update(analyser.recent_beats()[:-1])  # the newest may still be replaced
    seen.update(analyser.recent_beats())
    return np.array(sorted(seen)) / fs


@pytest.mark.parametrize(("hr", "seed"), [(40.0, 11), (75.0, 12), (150.0, 13), (220.0, 14)])
def test_simulated_pulses_are_each_found_once(hr: float, seed: int) -> None:
    sim = run("normal", 60.0, seed=seed, baseline=PhysiologyState(hr=hr))
    beats = detected_beats(sim.waves["PLETH"], sim.rate("PLETH"))
    r_waves = r_peaks(sim.waves["ECG_II"], sim.ecg_rate) / sim.ecg_rate
    # Each pulse follows its R wave by the pulse transit time and the rise to mid-upstroke.
    delays = np.array([b - r_waves[r_waves < b].max() for b in beats if b > r_waves[0]])
    lag = float(np.median(delays))
    assert 0.15 < lag < 0.45
    span = (10.0, 58.0)
    found = beats[(beats >= span[0]) & (beats < span[1])]
    expected = r_waves[(r_waves + lag >= span[0]) & (r_waves + lag < span[1])]
    assert abs(found.size - expected.size) <= 1
    intervals = np.diff(found)
    assert np.all(np.abs(intervals / np.median(intervals) - 1.0) < 0.25)  # none missed or extra


def test_simulated_probe_off_gives_no_rate_until_the_probe_is_back() -> None:
    sim = run("probe-off", 70.0, seed=5, baseline=PhysiologyState(hr=80.0))
    fs = sim.rate("PLETH")
    estimates = pulse_rates(sim.waves["PLETH"], fs)
    assert within(at(estimates, fs, 10.0, 30.0), 80.0, 3.0)
    assert statuses(at(estimates, fs, 30.5, 50.0)) == {RateStatus.NO_SIGNAL}
    assert within(at(estimates, fs, 58.0), 80.0, 3.0)


def test_simulated_asystole_loses_the_pulse() -> None:
    sim = run("asystole", 50.0, seed=6, baseline=PhysiologyState(hr=70.0))
    fs = sim.rate("PLETH")
    estimates = pulse_rates(sim.waves["PLETH"], fs)
    assert within(at(estimates, fs, 10.0, 30.0), 70.0, 3.0)
    assert statuses(at(estimates, fs, 37.0)) == {RateStatus.NOT_DETECTED}


def test_simulated_tachycardia_is_followed() -> None:
    sim = run("tachycardia", 70.0, seed=7, baseline=PhysiologyState(hr=80.0))
    fs = sim.rate("PLETH")
    estimates = pulse_rates(sim.waves["PLETH"], fs)
    assert within(at(estimates, fs, 10.0, 30.0), 80.0, 3.0)
    assert within(at(estimates, fs, 55.0), 150.0, 4.0)


def test_simulated_atrial_fibrillation_keeps_a_rate_near_the_heart_rate() -> None:
    sim = run("afib", 120.0, seed=8)
    fs = sim.rate("PLETH")
    estimates = at(pulse_rates(sim.waves["PLETH"], fs), fs, 40.0)
    reported = [e.bpm for e in estimates if e.bpm is not None]
    assert len(reported) >= 0.85 * len(estimates)  # irregularly irregular, still a rhythm
    hr = heart_rate(sim.window("ECG_II", 40.0, 120.0), sim.ecg_rate)
    # Weak pulses after short intervals may go uncounted: the pulse deficit of AF.
    assert 0.9 * hr <= float(np.mean(reported)) <= 1.05 * hr


def awkward_pleth() -> Array:
    fs = 125.0
    x = steady(95.0, fs, 30.0, jitter=0.02, seed=9)
    x[round(12 * fs) : round(13.3 * fs)] = np.nan
    x[round(20 * fs)] = np.inf
    return x


@settings(max_examples=20, deadline=None)
@given(chunks=st.lists(st.integers(0, 300), min_size=1, max_size=30).filter(any))
def test_any_chunking_gives_the_same_estimates(chunks: list[int]) -> None:
    x = awkward_pleth()
    assert_any_chunking_matches(PulseRateAnalyser(125.0), pulse_rates(x, 125.0), x, chunks)


@pytest.mark.parametrize("size", [1, 7, 125, 381])
def test_fixed_chunk_sizes_give_the_same_estimates(size: int) -> None:
    x = awkward_pleth()
    whole = pulse_rates(x, 125.0)
    assert any(e.bpm is not None for e in whole)
    assert_fixed_chunks_match(PulseRateAnalyser(125.0), whole, x, size, hop_samples(125.0))


def check(estimate: PulseRate) -> None:
    assert isinstance(estimate.status, RateStatus)
    assert (estimate.bpm is not None) == (estimate.status is RateStatus.VALID)
    assert estimate.bpm is None or 25.0 <= estimate.bpm <= 300.0
    since = estimate.seconds_since_beat
    assert since is None or (np.isfinite(since) and since >= 0.0)
    assert 0.0 <= estimate.signal_quality.score <= 1.0


@settings(max_examples=50, deadline=None)
@given(
    x=arrays(
        np.float64, st.integers(0, 200), elements=st.floats(allow_nan=True, allow_infinity=True)
    )
)
def test_any_values_at_all_give_a_sound_estimate(x: Array) -> None:
    for estimate in pulse_rates(x, 25.0):
        check(estimate)


@settings(max_examples=30, deadline=None)
@given(
    scale=st.sampled_from([1e-300, 1e-6, 1.0, 1e4, 1e12, 1e300]),
    missing=st.floats(0.0, 0.3),
    fs=st.sampled_from([25.0, 62.5, 500.0, 1000.0]),
    seed=st.integers(0, 1000),
)
def test_tiny_huge_and_gappy_pleths_give_sound_estimates(
    scale: float, missing: float, fs: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    x = scale * steady(float(rng.uniform(30, 250)), fs, 12.0, jitter=0.02, seed=seed)
    x[rng.random(x.size) < missing] = np.nan
    x[rng.random(x.size) < 0.01] = np.inf
    analyser = PulseRateAnalyser(fs)
    for chunk in np.array_split(x, 7):
        analyser.feed(chunk)
        check(analyser.estimate())
