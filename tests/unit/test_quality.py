"""Signal-quality index: each verdict on signals built to show it, on the simulator, and on junk."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from app.analysis.quality import (
    CHANNEL_CONFIGS,
    Quality,
    QualityAnalyser,
    Verdict,
    assess,
    config_for,
    hop_samples,
    with_lead_off,
)
from drivers.sim import PhysiologyState
from tests.unit.sim_helpers import run

Array = npt.NDArray[np.float64]


# (offset from the R peak in s, amplitude in mV, Gaussian width in s) of P, R, S and T
WAVES = ((-0.17, 0.12, 0.02), (0.0, 1.1, 0.011), (0.03, -0.25, 0.01), (0.26, 0.3, 0.045))


def ecg(fs: float, seconds: float, *, hr: float = 72.0, seed: int = 0) -> Array:
    """A lead-II-like ECG in mV: P, QRS and T waves, respiratory wander and front-end noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * fs)) / fs
    y = 0.08 * np.sin(2 * np.pi * 0.25 * t) + rng.normal(0.0, 0.01, t.size)
    for beat in np.arange(rng.uniform(0.2, 0.6), seconds, 60.0 / hr):
        for offset, amplitude, width in WAVES:
            y += amplitude * np.exp(-0.5 * ((t - beat - offset) / width) ** 2)
    return y


def pleth(fs: float, seconds: float, *, hr: float = 72.0, seed: int = 0) -> Array:
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * fs)) / fs
    phase = (t * hr / 60.0) % 1.0
    y = np.exp(-0.5 * ((phase - 0.2) / 0.08) ** 2) + 0.3 * np.exp(-0.5 * ((phase - 0.5) / 0.1) ** 2)
    return y + 0.1 * np.sin(2 * np.pi * 0.25 * t) + rng.normal(0.0, 0.005, t.size)


def resp(fs: float, seconds: float, *, rate: float = 15.0, seed: int = 0) -> Array:
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * fs)) / fs
    cardiac = 0.03 * np.maximum(0.0, np.sin(2 * np.pi * 1.2 * t)) ** 6
    return 0.25 * np.sin(2 * np.pi * rate / 60.0 * t) + cardiac + rng.normal(0.0, 0.005, t.size)


CLEAN: dict[str, Callable[[float, float], Array]] = {"ecg": ecg, "pleth": pleth, "resp": resp}


def after(qualities: list[Quality], fs: float, t0: float, t1: float = np.inf) -> list[Quality]:
    """The judgements whose window ends in [t0, t1) seconds."""
    return [q for q in qualities if t0 <= q.sample_index / fs < t1]


def verdicts(qualities: list[Quality]) -> set[Verdict]:
    return {q.verdict for q in qualities}


@pytest.mark.parametrize(
    ("kind", "fs"),
    [("ecg", 125.0), ("ecg", 250.0), ("ecg", 500.0), ("ecg", 1000.0), ("pleth", 25.0),
     ("pleth", 62.5), ("pleth", 125.0), ("pleth", 500.0), ("resp", 25.0), ("resp", 62.5),
     ("resp", 250.0)],
)  # fmt: skip
def test_clean_channels_are_good(kind: str, fs: float) -> None:
    window = CHANNEL_CONFIGS[kind].window_s
    judged = after(assess(CLEAN[kind](fs, 20.0), fs, kind), fs, window)
    assert verdicts(judged) == {Verdict.GOOD}
    assert all(0.5 < q.score <= 1.0 for q in judged)
    label = CHANNEL_CONFIGS[kind].label
    assert all(q.reason.endswith("p-p)") and q.channel == label for q in judged)


@pytest.mark.parametrize("kind", sorted(CHANNEL_CONFIGS))
def test_a_flat_line_is_flat(kind: str) -> None:
    fs = 125.0
    floor = CHANNEL_CONFIGS[kind].flat_pp
    rng = np.random.default_rng(1)
    # A disconnected amplifier: a constant offset and a little noise, well under the floor.
    x = 1.3 + rng.normal(0.0, floor / 40, round(20 * fs))
    judged = after(assess(x, fs, kind), fs, 5.0)
    assert verdicts(judged) == {Verdict.FLAT}
    assert all(q.score <= 0.5 and "flat" in q.reason for q in judged)


def test_a_signal_that_stops_becomes_flat_within_one_window() -> None:
    fs = 250.0
    x = ecg(fs, 30.0)
    x[round(15 * fs) :] = x[round(15 * fs)]
    judged = assess(x, fs, "ecg")
    assert verdicts(after(judged, fs, 4.0, 15.0)) == {Verdict.GOOD}
    assert verdicts(after(judged, fs, 15.0 + 3.0)) == {Verdict.FLAT}


def test_an_ecg_clipped_at_the_rail_is_saturated() -> None:
    fs = 250.0
    x = np.clip(6.0 * ecg(fs, 20.0), -5.0, 5.0)  # an R wave of 6.6 mV hits the +5 mV rail
    judged = after(assess(x, fs, "ecg"), fs, 4.0)
    assert verdicts(judged) == {Verdict.SATURATED}
    assert all(q.reason.endswith("at the rail)") and q.score <= 0.5 for q in judged)


@pytest.mark.parametrize("kind", sorted(CHANNEL_CONFIGS))
def test_clipping_inside_the_range_is_saturated(kind: str) -> None:
    # The front end saturates below its nominal rail: every peak is cut flat at one value.
    fs = 125.0
    x = CLEAN[kind](fs, 30.0)
    ceiling = np.percentile(x, 60)
    judged = after(assess(np.minimum(x, ceiling), fs, kind), fs, 5.0)
    assert verdicts(judged) == {Verdict.SATURATED}


# Noise whose in-band part is about as strong as the signal itself.
@pytest.mark.parametrize(
    ("kind", "sigma", "fs"), [("ecg", 0.5, 250.0), ("pleth", 0.4, 62.5), ("resp", 0.6, 250.0)]
)
def test_strong_white_noise_is_noisy(kind: str, sigma: float, fs: float) -> None:
    rng = np.random.default_rng(2)
    x = CLEAN[kind](fs, 20.0) + rng.normal(0.0, sigma, round(20 * fs))
    judged = after(assess(x, fs, kind), fs, 5.0)
    assert verdicts(judged) == {Verdict.NOISY}
    assert all("noisy" in q.reason and q.score <= 0.5 for q in judged)
    assert all(q.noise_share is not None and q.noise_share > 0.25 for q in judged)


@pytest.mark.parametrize("fs", [25.0, 62.5, 1000.0])
def test_pure_noise_is_noisy_at_any_rate(fs: float) -> None:
    x = np.random.default_rng(3).normal(0.0, 0.5, round(20 * fs))
    assert verdicts(after(assess(x, fs, "pleth"), fs, 5.0)) == {Verdict.NOISY}


def test_a_quiet_ecg_without_beats_is_not_called_noisy() -> None:
    # Asystole: wander and front-end noise only. Calling it noisy could hide the alarm.
    fs = 250.0
    t = np.arange(round(20 * fs)) / fs
    x = 0.05 * np.sin(2 * np.pi * 0.3 * t) + np.random.default_rng(4).normal(0.0, 0.01, t.size)
    assert verdicts(after(assess(x, fs, "ecg"), fs, 4.0)) == {Verdict.GOOD}


@pytest.mark.parametrize(("kind", "swing"), [("ecg", 3.6), ("pleth", 4.0), ("resp", 15.0)])
def test_a_swing_far_beyond_physiology_is_artefact(kind: str, swing: float) -> None:
    fs = 125.0
    x = CLEAN[kind](fs, 20.0)
    t = np.arange(x.size) / fs
    x += swing * np.sign(np.sin(2 * np.pi * 0.4 * t))  # the patient moving, electrode pops
    judged = after(assess(x, fs, kind), fs, 5.0)
    assert verdicts(judged) == {Verdict.ARTEFACT}
    assert all("artefact" in q.reason and q.score <= 0.5 for q in judged)


def test_a_gap_is_no_signal_at_once_and_recovers_within_a_window() -> None:
    fs = 250.0
    x = ecg(fs, 40.0)
    x[round(10 * fs) : round(20 * fs)] = np.nan
    judged = assess(x, fs, "ecg")
    assert verdicts(after(judged, fs, 4.0, 10.0)) == {Verdict.GOOD}
    gap = after(judged, fs, 10.5, 20.0)
    assert verdicts(gap) == {Verdict.NO_SIGNAL}
    assert all(q.score == 0.0 and q.peak_to_peak is None for q in after(judged, fs, 13.0, 20.0))
    assert verdicts(after(judged, fs, 20.0 + 3.0 + 1.0)) == {Verdict.GOOD}


def test_scattered_dropouts_leave_nothing_to_judge() -> None:
    fs = 250.0
    x = ecg(fs, 20.0)
    x[::50] = np.nan  # a sample lost every 0.2 s: no unbroken second is left
    judged = after(assess(x, fs, "ecg"), fs, 4.0)
    assert verdicts(judged) == {Verdict.NO_SIGNAL}
    assert all("intermittent" in q.reason for q in judged)


def test_a_short_gap_lowers_the_score_but_not_the_verdict() -> None:
    fs = 250.0
    x = ecg(fs, 20.0)
    x[round(8 * fs) : round(8.3 * fs)] = np.nan
    judged = after(assess(x, fs, "ecg"), fs, 9.0, 11.0)
    assert verdicts(judged) == {Verdict.GOOD}
    assert all(0.5 < q.score < 0.95 and 0.0 < q.gap_fraction < 0.5 for q in judged)


def test_lead_off_overrides_the_signal_verdict() -> None:
    fs = 250.0
    analyser = QualityAnalyser(fs, "ecg")
    analyser.feed(ecg(fs, 10.0))
    good = analyser.quality()
    assert good.verdict is Verdict.GOOD
    assert with_lead_off(good, False) is good
    off = with_lead_off(good, True)
    assert (off.verdict, off.score, off.reason) == (Verdict.LEAD_OFF, 0.0, "ECG lead off")
    assert off.sample_index == good.sample_index


def test_infinities_are_clipping_not_a_crash() -> None:
    fs = 250.0
    x = ecg(fs, 20.0)
    x[round(5 * fs)] = np.inf  # one over-range sample: too short to call clipping
    x[round(12 * fs) : round(12.5 * fs)] = -np.inf
    judged = assess(x, fs, "ecg")
    assert verdicts(after(judged, fs, 4.0, 12.0)) == {Verdict.GOOD}
    assert verdicts(after(judged, fs, 13.0, 15.0)) == {Verdict.SATURATED}
    assert verdicts(after(judged, fs, 16.0)) == {Verdict.GOOD}


def test_it_is_judged_once_per_hop_and_short_feeds_wait_for_it() -> None:
    fs = 62.5
    analyser = QualityAnalyser(fs, "resp")
    first = analyser.quality()
    assert (first.verdict, first.sample_index) == (Verdict.NO_SIGNAL, 0)
    analyser.feed(np.array([]))
    analyser.feed(np.array([0.1]))
    assert analyser.quality() is first
    analyser.feed(np.zeros(hop_samples(fs) - 1))
    assert analyser.quality().sample_index == hop_samples(fs) == round(fs)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown channel kind"):
        config_for("eeg")
    with pytest.raises(ValueError, match="sample rate"):
        QualityAnalyser(0.0, "ecg")


def test_simulated_lead_off_is_no_signal_only_while_the_leads_are_off() -> None:
    sim = run("lead-off", 70.0)  # leads off from 30 s to 50 s: ECG and impedance lost
    for key, kind in (("ECG_II", "ecg"), ("RESP", "resp")):
        fs = sim.rate(key)
        judged = assess(sim.waves[key], fs, kind)
        assert verdicts(after(judged, fs, 5.0, 30.0)) == {Verdict.GOOD}, key
        assert verdicts(after(judged, fs, 30.5, 50.0)) == {Verdict.NO_SIGNAL}, key
        assert verdicts(after(judged, fs, 55.0)) == {Verdict.GOOD}, key
    pleth_fs = sim.rate("PLETH")
    assert verdicts(after(assess(sim.waves["PLETH"], pleth_fs, "pleth"), pleth_fs, 5.0)) == {
        Verdict.GOOD
    }


@pytest.mark.parametrize("scenario", ["afib", "vf", "asystole"])
def test_simulated_rhythms_are_all_good_signals(scenario: str) -> None:
    # Quality describes the waveform, not the patient: an arrest is no reason to distrust it.
    sim = run(scenario, 45.0, baseline=PhysiologyState(hr=80))
    for key, kind in (("ECG_II", "ecg"), ("PLETH", "pleth"), ("RESP", "resp")):
        fs = sim.rate(key)
        assert verdicts(after(assess(sim.waves[key], fs, kind), fs, 5.0)) == {Verdict.GOOD}, key


CHUNKS = st.lists(st.integers(0, 400), min_size=1, max_size=40).filter(any)


@settings(max_examples=25, deadline=None)
@given(chunks=CHUNKS)
def test_any_chunking_gives_the_same_judgements(chunks: list[int]) -> None:
    fs = 125.0
    x = ecg(fs, 24.0)
    x[round(9 * fs) : round(10 * fs)] = np.nan
    x[round(15 * fs)] = np.inf
    whole = {q.sample_index: q for q in assess(x, fs, "ecg")}
    analyser = QualityAnalyser(fs, "ecg")
    seen, position = [], 0
    while position < x.size:
        for size in chunks:
            analyser.feed(x[position : position + size])
            position += size
            seen.append(analyser.quality())
    assert seen[-1] == whole[max(whole)]
    assert all(q == whole[q.sample_index] for q in seen if q.sample_index)


def check(quality: Quality, fed: int, fs: float) -> None:
    """What every judgement must satisfy, whatever it was fed."""
    assert isinstance(quality.verdict, Verdict)
    assert 0.0 <= quality.score <= 1.0
    assert (quality.score > 0.5) == (quality.verdict is Verdict.GOOD)
    assert 0.0 <= quality.gap_fraction <= 1.0
    assert quality.peak_to_peak is None or np.isfinite(quality.peak_to_peak)
    assert quality.noise_share is None or 0.0 <= quality.noise_share <= 1.0
    assert quality.sample_index == fed - fed % hop_samples(fs)


@settings(max_examples=60, deadline=None)
@given(
    x=arrays(
        np.float64, st.integers(0, 160), elements=st.floats(allow_nan=True, allow_infinity=True)
    ),
    kind=st.sampled_from(sorted(CHANNEL_CONFIGS)),
)
def test_any_values_at_all_give_a_sound_judgement(x: Array, kind: str) -> None:
    fs = 25.0  # a hop of 25 samples, so a short array is judged several times
    for quality in [*assess(x, fs, kind), QualityAnalyser(fs, kind).quality()]:
        check(quality, quality.sample_index, fs)


@st.composite
def odd_signals(draw: st.DrawFn) -> tuple[Array, float, str]:
    """A channel's signal scaled from 1e-300 to 1e300, with gaps and infinities sprinkled in."""
    kind = draw(st.sampled_from(sorted(CHANNEL_CONFIGS)))
    fs = draw(st.sampled_from([25.0, 62.5, 250.0, 1000.0]))
    seconds = draw(st.floats(0.0, 6.0))
    scale = draw(st.sampled_from([0.0, 1e-300, 1e-12, 1e-3, 1.0, 1e3, 1e8, 1e12, 1e300]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = scale * (CLEAN[kind](fs, seconds) + rng.normal(0.0, 0.1, round(seconds * fs)))
    x[rng.random(x.size) < draw(st.floats(0.0, 1.0))] = np.nan
    x[rng.random(x.size) < draw(st.floats(0.0, 0.2))] = np.inf * rng.choice([-1.0, 1.0])
    return x, fs, kind


@settings(max_examples=40, deadline=None)
@given(signal=odd_signals())
def test_tiny_huge_gappy_and_infinite_signals_are_judged_soundly(
    signal: tuple[Array, float, str],
) -> None:
    x, fs, kind = signal
    analyser = QualityAnalyser(fs, kind)
    analyser.feed(x)
    check(analyser.quality(), x.size, fs)
