"""Respiration rate from thoracic impedance: accuracy, apnoea, gaps, junk, and the simulator."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.signal import butter, find_peaks, sosfiltfilt

from app.analysis.quality import RateStatus, Verdict, hop_samples
from app.analysis.respiration import RespirationRate, RespirationRateAnalyser, respiration_rates
from drivers.sim import PhysiologyState
from tests.unit.chunking import assert_any_chunking_matches, assert_fixed_chunks_match
from tests.unit.sim_helpers import run

Array = npt.NDArray[np.float64]


def breath_onsets(
    rate: Callable[[float], float], seconds: float, *, jitter: float = 0.02, seed: int = 0
) -> Array:
    """Breath onsets for a rate per minute that may change with time; ``jitter`` is relative."""
    rng = np.random.default_rng(seed)
    t, onsets = -rng.uniform(0.0, 60.0 / rate(0.0)), []
    while t < seconds + 20.0:
        onsets.append(t)
        t += 60.0 / rate(t) * (1.0 + jitter * rng.standard_normal())
    return np.array(onsets)


def impedance(
    onsets: Array,
    fs: float,
    seconds: float,
    *,
    depth: float = 0.5,
    hr: float = 75.0,
    cardiac: float = 0.06,
    noise: float = 0.01,
    seed: int = 0,
) -> Array:
    """Impedance in ohms: breaths rising over 40 % of the cycle and falling slowly, varying in
    depth, a cardiogenic pulse at every heartbeat, slow electrode drift and white noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * fs)) / fs
    k = np.searchsorted(onsets, t, side="right") - 1
    phase = (t - onsets[k]) / (onsets[k + 1] - onsets[k])
    rise = 0.5 * (1.0 - np.cos(np.pi * phase / 0.4))
    fall = 0.5 * (1.0 + np.cos(np.pi * (phase - 0.4) / 0.6))
    depths = depth * (1.0 + 0.1 * rng.standard_normal(onsets.size))
    y = depths[k] * np.where(phase < 0.4, rise, fall)
    y += cardiac * np.maximum(0.0, np.sin(2 * np.pi * hr / 60.0 * t)) ** 8
    y += 0.3 * np.sin(2 * np.pi * 0.01 * t + 0.5)
    return np.asarray(y + rng.normal(0.0, noise, t.size), dtype=np.float64)


def steady(rate: float, fs: float, seconds: float, *, hr: float = 75.0) -> Array:
    return impedance(breath_onsets(lambda _: rate, seconds, jitter=0.005), fs, seconds, hr=hr)


def at(
    estimates: list[RespirationRate], fs: float, t0: float, t1: float = np.inf
) -> list[RespirationRate]:
    """The estimates made with samples up to a time in [t0, t1) seconds."""
    return [e for e in estimates if t0 <= e.sample_index / fs < t1]


def statuses(estimates: list[RespirationRate]) -> set[RateStatus]:
    return {e.status for e in estimates}


def within(estimates: list[RespirationRate], rate: float, tolerance: float) -> bool:
    return bool(estimates) and all(
        e.per_min is not None and abs(e.per_min - rate) <= tolerance for e in estimates
    )


@pytest.mark.parametrize(
    ("rate", "fs"),
    [(6.0, 62.5), (12.0, 62.5), (30.0, 62.5), (60.0, 62.5), (12.0, 25.0), (30.0, 250.0),
     (60.0, 1000.0)],
)  # fmt: skip
def test_a_steady_respiration_rate_is_measured_within_1_per_min(rate: float, fs: float) -> None:
    # Adults' hearts beat 4-5 times per breath, neonates' about 2.5 times.
    x = steady(rate, fs, 90.0, hr=max(70.0, 2.5 * rate))
    estimates = at(respiration_rates(x, fs), fs, 45.0)
    assert statuses(estimates) == {RateStatus.VALID}
    assert within(estimates, rate, 1.0), [e.per_min for e in estimates]


def test_the_first_rate_comes_after_three_breaths() -> None:
    fs = 62.5
    estimates = respiration_rates(steady(20.0, fs, 40.0), fs)
    first = next(e for e in estimates if e.per_min is not None)
    assert first.sample_index / fs <= 3.0 + 4 * 3.0 + 1.0  # settling, then 3 breaths and a bit
    assert first.intervals_used == 2


def test_a_large_standing_impedance_does_not_matter() -> None:
    fs = 62.5
    x = steady(16.0, fs, 60.0) + 480.0  # a front end that reports the total, not the AC part
    assert within(at(respiration_rates(x, fs), fs, 30.0), 16.0, 1.0)


def test_a_step_from_12_to_30_per_min_is_followed_within_15_s() -> None:
    fs = 62.5
    x = impedance(breath_onsets(lambda t: 12.0 if t < 40.0 else 30.0, 90.0), fs, 90.0)
    estimates = respiration_rates(x, fs)
    assert within(at(estimates, fs, 25.0, 40.0), 12.0, 1.0)
    assert within(at(estimates, fs, 55.0), 30.0, 1.0)


def test_apnoea_shows_as_the_time_since_the_last_breath() -> None:
    fs = 62.5
    onsets = breath_onsets(lambda _: 15.0, 90.0)
    x = impedance(onsets, fs, 90.0, hr=110.0, cardiac=0.08)
    t = np.arange(x.size) / fs
    stop = onsets[onsets > 40.0][0]  # breathing stops; the heart and the electrodes go on
    x[t >= stop] = impedance(onsets, fs, 90.0, depth=0.0, hr=110.0, cardiac=0.08)[t >= stop]
    estimates = respiration_rates(x, fs)
    assert within(at(estimates, fs, 25.0, stop), 15.0, 1.0)
    apnoea = at(estimates, fs, stop + 1.0)
    since = np.array([e.seconds_since_breath for e in apnoea])
    # No heartbeat is ever taken for a breath: the time since the last one only grows.
    assert np.allclose(np.diff(since), hop_samples(fs) / fs)
    assert since[0] <= 5.0  # the last breath was counted
    assert statuses(at(estimates, fs, stop + 21.0)) == {RateStatus.NOT_DETECTED}
    assert all(e.signal_quality.verdict is Verdict.GOOD for e in apnoea)


def test_breaths_below_the_sensitivity_are_not_counted() -> None:
    fs = 62.5
    onsets = breath_onsets(lambda _: 20.0, 60.0)
    shallow = impedance(onsets, fs, 60.0, depth=0.1, cardiac=0.0, noise=0.002)
    assert statuses(at(respiration_rates(shallow, fs), fs, 25.0)) == {RateStatus.NOT_DETECTED}
    sensitive = at(respiration_rates(shallow, fs, min_breath=0.05), fs, 25.0)
    assert within(sensitive, 20.0, 1.0)


def test_a_gap_gives_no_rate_then_it_recovers() -> None:
    fs = 62.5
    x = steady(15.0, fs, 90.0)
    x[round(30 * fs) : round(45 * fs)] = np.nan  # leads off
    estimates = respiration_rates(x, fs)
    assert within(at(estimates, fs, 20.0, 30.0), 15.0, 1.0)
    gap = at(estimates, fs, 30.1, 45.1)
    assert statuses(gap) == {RateStatus.NO_SIGNAL}
    assert {e.per_min for e in gap} == {None}
    assert within(at(estimates, fs, 65.0), 15.0, 1.0)


def test_a_flat_line_gives_no_rate_and_counts_as_no_breathing() -> None:
    # Leads on and nothing moving: apnoea, not a missing signal, or the alarm would be lost.
    fs = 62.5
    x = steady(15.0, fs, 60.0)
    x[round(20 * fs) :] = 2.0 + np.random.default_rng(1).normal(0.0, 0.001, round(40 * fs))
    estimates = respiration_rates(x, fs)
    flat = at(estimates, fs, 24.0)
    assert statuses(flat) == {RateStatus.NOT_DETECTED}
    assert {e.per_min for e in flat} == {None}
    assert all("flat" in e.reason for e in flat)
    assert flat[-1].seconds_since_breath > 35.0


def test_noise_alone_never_gives_a_rate() -> None:
    fs = 62.5
    x = np.random.default_rng(2).normal(0.0, 0.3, round(60 * fs))
    estimates = at(respiration_rates(x, fs), fs, 5.0)
    assert {e.per_min for e in estimates} == {None}
    assert statuses(estimates) == {RateStatus.LOW_QUALITY}


def test_short_feeds_wait_for_a_whole_hop() -> None:
    fs = 62.5
    analyser = RespirationRateAnalyser(fs)
    first = analyser.estimate()
    assert (first.per_min, first.status, first.sample_index) == (None, RateStatus.ACQUIRING, 0)
    analyser.feed(np.array([]))
    analyser.feed(np.array([0.2]))
    assert analyser.estimate() is first
    analyser.feed(np.zeros(hop_samples(fs) - 1))
    assert analyser.estimate().sample_index == hop_samples(fs)


def test_sample_rates_the_filter_cannot_use_are_refused() -> None:
    with pytest.raises(ValueError, match="sample rate"):
        RespirationRateAnalyser(4.0)


def detected_breaths(x: Array, fs: float) -> Array:
    """Every breath the analyser counted, in seconds, fed one hop at a time."""
    analyser = RespirationRateAnalyser(fs)
    seen: set[float] = set()
    for start in range(0, x.size, analyser.hop):
        analyser.feed(x[start : start + analyser.hop])
        seen.update(analyser.recent_breaths())
    return np.array(sorted(seen)) / fs


def offline_breaths(resp: Array, fs: float) -> Array:
    """Breaths found with a zero-phase filter that sees every sample in advance, in seconds."""
    smooth = sosfiltfilt(butter(2, [0.05, 2.0], btype="bandpass", fs=fs, output="sos"), resp)
    peaks, _ = find_peaks(smooth, prominence=0.2)  # simulated breaths are ~0.6 ohm deep
    return np.asarray(peaks, dtype=np.float64) / fs


@pytest.mark.parametrize(("rr", "hr"), [(6.0, 60.0), (12.0, 75.0), (30.0, 110.0), (60.0, 150.0)])
def test_simulated_breaths_are_each_counted_once(rr: float, hr: float) -> None:
    sim = run("normal", 90.0, seed=int(rr), baseline=PhysiologyState(hr=hr, rr=rr))
    fs = sim.rate("RESP")
    resp = sim.waves["RESP"].astype(np.float64)
    reference = offline_breaths(resp, fs)
    counted = detected_breaths(resp, fs)
    # One counted breath between each two breaths found offline, after the first 15 s.
    edges = reference[(reference > 15.0) & (reference < 88.0)]
    assert len(edges) >= 0.9 * rr * 73.0 / 60.0 - 1
    assert set(np.histogram(counted, bins=edges)[0]) == {1}
    estimates = at(respiration_rates(resp, fs), fs, 45.0)
    assert statuses(estimates) == {RateStatus.VALID}
    # Each breath's length varies by 7 % in the simulator, so the set rate is met on average.
    assert np.mean([e.per_min for e in estimates]) == pytest.approx(rr, rel=0.05)


def test_simulated_lead_off_gives_no_rate_until_the_leads_are_back() -> None:
    sim = run("lead-off", 90.0, seed=3, baseline=PhysiologyState(rr=16.0))
    fs = sim.rate("RESP")
    estimates = respiration_rates(sim.waves["RESP"], fs)
    assert statuses(at(estimates, fs, 20.0, 30.0)) == {RateStatus.VALID}
    assert statuses(at(estimates, fs, 30.5, 50.0)) == {RateStatus.NO_SIGNAL}
    assert within(at(estimates, fs, 70.0), 16.0, 2.0)


def test_simulated_arrest_ends_in_apnoea() -> None:
    sim = run("asystole", 110.0, seed=4, baseline=PhysiologyState(rr=14.0))  # none from 70 s
    fs = sim.rate("RESP")
    estimates = respiration_rates(sim.waves["RESP"], fs)
    assert within(at(estimates, fs, 20.0, 40.0), 14.0, 2.0)
    last = estimates[-1]
    assert last.status is RateStatus.NOT_DETECTED
    assert last.seconds_since_breath >= 30.0


def awkward_impedance() -> Array:
    fs = 62.5
    x = steady(24.0, fs, 45.0)
    x[round(20 * fs) : round(21.5 * fs)] = np.nan
    x[round(30 * fs)] = -np.inf
    return x


@settings(max_examples=20, deadline=None)
@given(chunks=st.lists(st.integers(0, 200), min_size=1, max_size=30).filter(any))
def test_any_chunking_gives_the_same_estimates(chunks: list[int]) -> None:
    x = awkward_impedance()
    assert_any_chunking_matches(
        RespirationRateAnalyser(62.5), respiration_rates(x, 62.5), x, chunks
    )


@pytest.mark.parametrize("size", [1, 10, 63, 200])
def test_fixed_chunk_sizes_give_the_same_estimates(size: int) -> None:
    x = awkward_impedance()
    whole = respiration_rates(x, 62.5)
    assert any(e.per_min is not None for e in whole)
    assert_fixed_chunks_match(RespirationRateAnalyser(62.5), whole, x, size, hop_samples(62.5))


ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True)


def check(estimate: RespirationRate) -> None:
    assert isinstance(estimate.status, RateStatus)
    assert (estimate.per_min is not None) == (estimate.status is RateStatus.VALID)
    assert estimate.per_min is None or 4.0 <= estimate.per_min <= 120.0
    assert np.isfinite(estimate.seconds_since_breath)
    assert estimate.seconds_since_breath >= 0.0
    assert 0.0 <= estimate.signal_quality.score <= 1.0


@settings(max_examples=50, deadline=None)
@given(x=arrays(np.float64, st.integers(0, 200), elements=ANY_FLOAT))
def test_any_values_at_all_give_a_sound_estimate(x: Array) -> None:
    for estimate in respiration_rates(x, 25.0):
        check(estimate)


@settings(max_examples=30, deadline=None)
@given(
    scale=st.sampled_from([1e-300, 1e-6, 1.0, 1e4, 1e12, 1e300]),
    missing=st.floats(0.0, 0.3),
    fs=st.sampled_from([25.0, 62.5, 500.0, 1000.0]),
    seed=st.integers(0, 1000),
)
def test_tiny_huge_and_gappy_impedances_give_sound_estimates(
    scale: float, missing: float, fs: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    x = scale * steady(float(rng.uniform(5, 100)), fs, 20.0)
    x[rng.random(x.size) < missing] = np.nan
    x[rng.random(x.size) < 0.01] = np.inf
    analyser = RespirationRateAnalyser(fs)
    for chunk in np.array_split(x, 7):
        analyser.feed(chunk)
        check(analyser.estimate())
