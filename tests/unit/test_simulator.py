"""The physiological simulator: rates measured independently, morphology, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import find_peaks, peak_widths, welch

from drivers.sim import STEP, BedSimulator, PhysiologyState, get_scenario
from drivers.sim.beats import BeatKind, BeatScheduler
from tests.unit.sim_helpers import heart_rate, r_peaks, run


@pytest.mark.parametrize("hr", [40, 55, 75, 100, 130, 160, 180])
@pytest.mark.parametrize("ecg_rate", [250, 500])
def test_ecg_heart_rate_matches_the_set_rate_within_1_bpm(hr: int, ecg_rate: int) -> None:
    for seed in (1, 2, 3):
        sim = run("normal", 60.0, seed=seed, ecg_rate=ecg_rate, baseline=PhysiologyState(hr=hr))
        measured = heart_rate(sim.waves["ECG_II"], ecg_rate)
        assert measured == pytest.approx(hr, abs=1.0), f"seed {seed}: {measured:.2f} bpm"


def test_sinus_rhythm_has_heart_rate_variability_but_stays_regular() -> None:
    sim = run("normal", 120.0, baseline=PhysiologyState(hr=70))
    rr = np.diff(r_peaks(sim.waves["ECG_II"], 250.0)) / 250.0
    sdnn_ms = 1000 * np.std(rr)
    assert 15.0 < sdnn_ms < 80.0  # a resting adult, not a metronome and not AF
    assert np.std(rr) / np.mean(rr) < 0.08


def qrs_widths_ms(ecg: np.ndarray, fs: float) -> np.ndarray:
    """Width at half height of each QRS, on the absolute signal (polarity-free)."""
    signal = np.abs(np.nan_to_num(ecg.astype(np.float64)))
    peaks = r_peaks(signal, fs)
    widths, *_ = peak_widths(signal, peaks, rel_height=0.5)
    return np.asarray(1000.0 * widths / fs, dtype=np.float64)


def test_sinus_qrs_is_narrow_and_p_waves_precede_it() -> None:
    fs = 500.0
    sim = run("normal", 30.0, ecg_rate=500, baseline=PhysiologyState(hr=60))
    ecg = sim.waves["ECG_II"].astype(np.float64)
    assert np.median(qrs_widths_ms(ecg, fs)) < 50.0
    # A P wave: a positive bump 120-220 ms before each R peak, above the baseline.
    bumps = []
    for peak in r_peaks(ecg, fs)[2:-2]:
        pr = ecg[peak - int(0.22 * fs) : peak - int(0.12 * fs)]
        baseline = np.median(ecg[peak - int(0.40 * fs) : peak - int(0.30 * fs)])
        bumps.append(pr.max() - baseline)
    assert np.median(bumps) > 0.06


def test_vt_is_fast_and_wide_from_its_onset() -> None:
    fs = 500.0
    sim = run("vt", 50.0, ecg_rate=500)
    before, during = sim.window("ECG_II", 5, 29), sim.window("ECG_II", 31, 49)
    assert np.median(qrs_widths_ms(before, fs)) < 50.0
    assert np.median(qrs_widths_ms(during, fs)) > 70.0
    assert heart_rate(during, fs) == pytest.approx(170, abs=5)


def test_vf_has_no_organised_qrs_and_a_fibrillation_spectrum() -> None:
    fs = 250.0
    sim = run("vf", 60.0)
    during = np.nan_to_num(sim.window("ECG_II", 35, 60).astype(np.float64))
    freqs, power = welch(during, fs=fs, nperseg=1024)
    peak_hz = freqs[np.argmax(power)]
    assert 3.0 <= peak_hz <= 9.0
    band = power[(freqs >= 3) & (freqs <= 9)].sum() / power[freqs >= 0.5].sum()
    assert band > 0.6
    # No pulse, so no SpO2 or pulse rate.
    spo2 = sim.values("SPO2", 45, 60)
    assert spo2
    assert all(r.value is None for r in spo2)


def test_asystole_has_no_beats_after_its_onset() -> None:
    sim = run("asystole", 60.0)
    peaks_t = r_peaks(sim.waves["ECG_II"], 250.0) / 250.0
    assert (peaks_t < 30.0).sum() >= 25
    beats_after = [t for t in peaks_t if t > 30.8]
    assert beats_after == []
    hr = sim.values("HR", 40, 60)
    assert hr
    assert all(r.value == 0.0 for r in hr)


def test_afib_makes_the_rhythm_irregular_without_p_waves() -> None:
    sim = run("afib", 150.0)
    peaks = r_peaks(sim.waves["ECG_II"], 250.0)
    t = peaks / 250.0
    rr = np.diff(peaks) / 250.0
    before, after = rr[t[1:] < 29], rr[t[1:] > 35]
    assert np.std(before) / np.mean(before) < 0.08
    assert np.std(after) / np.mean(after) > 0.15
    assert 60 / np.mean(after) == pytest.approx(115, abs=10)


def scheduler(scenario: str, seed: int = 11) -> BeatScheduler:
    plan = get_scenario(scenario)
    return BeatScheduler(np.random.default_rng(seed), lambda t: plan.state_at(t, PhysiologyState()))


def beat_kinds(scenario: str, seconds: float) -> list[tuple[float, BeatKind]]:
    return [(b.t, b.kind) for b in scheduler(scenario).beats_until(seconds)]


def test_pvcs_come_early_with_a_compensatory_pause_and_some_couplets() -> None:
    beats = scheduler("pvc").beats_until(630.0)
    after = [b for b in beats if b.t > 30.0]
    pvcs = [i for i, b in enumerate(beats) if b.kind is BeatKind.PVC and b.t > 30.0]
    per_minute = len(pvcs) / 10.0
    assert 5.0 <= per_minute <= 12.0  # set to 8 per minute
    assert any(beats[i + 1].kind is BeatKind.PVC for i in pvcs)  # at least one couplet
    sinus_rr = 60.0 / PhysiologyState().hr
    for i in pvcs:
        if beats[i - 1].kind is BeatKind.SINUS and beats[i + 1].kind is BeatKind.SINUS:
            assert beats[i].rr < 0.7 * sinus_rr  # premature
            assert beats[i + 1].t - beats[i - 1].t == pytest.approx(2 * sinus_rr, rel=0.1)
    assert all(b.kind in (BeatKind.SINUS, BeatKind.PVC) for b in after)


@pytest.mark.parametrize(("scenario", "pattern"), [("bigeminy", "NV"), ("trigeminy", "NNV")])
def test_bigeminy_and_trigeminy_repeat_their_pattern(scenario: str, pattern: str) -> None:
    kinds = "".join(k.value for t, k in beat_kinds(scenario, 120.0) if t > 32.0)
    start = kinds.index("V") + 1
    body = kinds[start : start + 30 * len(pattern)]
    expected = (pattern[pattern.index("V") + 1 :] + pattern) * 40
    assert body == expected[: len(body)]
    assert "V" not in "".join(k.value for t, k in beat_kinds(scenario, 29.0))


def test_pleth_follows_each_beat_and_the_pulse_rate_matches() -> None:
    sim = run("normal", 60.0, baseline=PhysiologyState(hr=84))
    pleth = sim.waves["PLETH"].astype(np.float64)
    peaks, _ = find_peaks(pleth, prominence=0.3, distance=int(0.3 * 125))
    rate = 60.0 * 125 / np.mean(np.diff(peaks))
    assert rate == pytest.approx(84, abs=1.5)
    pr = [r.value for r in sim.values("PR", 20, 60)]
    assert pr
    assert all(v is not None and abs(v - 84) <= 4 for v in pr)


def test_respiration_rate_matches_the_set_rate() -> None:
    sim = run("normal", 120.0, baseline=PhysiologyState(rr=15))
    resp = sim.waves["RESP"].astype(np.float64)
    breaths, _ = find_peaks(resp, prominence=0.25, distance=int(1.5 * 62.5))
    rate = 60.0 * 62.5 / np.mean(np.diff(breaths))
    assert rate == pytest.approx(15, abs=1.5)
    rr = [r.value for r in sim.values("RR", 40, 120)]
    assert rr
    assert all(v is not None and abs(v - 15) <= 3 for v in rr)


def test_same_seed_same_signal_and_different_seed_different_signal() -> None:
    a, b = run("afib", 40.0, seed=5), run("afib", 40.0, seed=5)
    c = run("afib", 40.0, seed=6)
    for key in a.waves:
        np.testing.assert_array_equal(a.waves[key], b.waves[key])
    assert a.readings == b.readings
    assert a.events == b.events
    assert not np.array_equal(a.waves["ECG_II"], c.waves["ECG_II"])


def test_signal_does_not_depend_on_how_fast_steps_are_taken() -> None:
    """Stepping is pure: interleaving other work (as a paced thread does) changes nothing."""
    a = run("pvc", 40.0, seed=3)
    sim = BedSimulator(get_scenario("pvc"), 3)
    chunks = []
    for i in range(round(40.0 / STEP)):
        if i % 7 == 0:
            sim.state_at(i * STEP)  # a reader peeking at the state between steps
        chunks.append(sim.step().waveforms["ECG_II"])
    np.testing.assert_array_equal(a.waves["ECG_II"], np.concatenate(chunks))
