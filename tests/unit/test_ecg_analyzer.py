"""The whole ECG analysis on the simulator's scenarios: what a bed would show, and when."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.ecg_analyzer import EcgAnalyzer
from app.analysis.fibrillation import vf_leakage
from app.analysis.rhythm import RhythmEvent, RhythmLabel
from drivers.sim.scenarios import ONSET
from tests.unit.sim_helpers import heart_rate, run

FS = 250.0


def analyse(
    scenario: str, seconds: float, *, seed: int = 7, chunk: float = 0.16
) -> tuple[EcgAnalyzer, list[RhythmEvent], list[tuple[float, float | None, RhythmLabel]]]:
    """Feed the simulated ECG in chunks (the simulator's own step by default)."""
    ecg = run(scenario, seconds, seed=seed, ecg_rate=int(FS)).waves["ECG_II"]
    analyzer = EcgAnalyzer(FS)
    events: list[RhythmEvent] = []
    trace = []
    step = round(chunk * FS)
    for i in range(0, len(ecg), step):
        events += analyzer.feed(ecg[i : i + step])
        snapshot = analyzer.snapshot
        trace.append((snapshot.sample_index / FS, snapshot.heart_rate, snapshot.rhythm))
    return analyzer, events, trace


def first(events: list[RhythmEvent], name: str) -> float:
    times = [e.time for e in events if e.kind == "rhythm" and e.name == name]
    assert times, f"no {name} in {[(round(e.time, 1), e.name) for e in events]}"
    return times[0]


@pytest.mark.parametrize("scenario", ["normal", "tachycardia", "bradycardia"])
def test_heart_rate_matches_an_independent_count(scenario: str) -> None:
    sim = run(scenario, 60.0, ecg_rate=int(FS))
    analyzer, _, trace = analyse(scenario, 60.0)
    truth = heart_rate(sim.window("ECG_II", 50.0, 60.0), FS)
    shown = trace[-1][1]
    assert shown is not None
    assert shown == pytest.approx(truth, abs=max(2.0, 0.05 * truth))
    assert analyzer.snapshot.rhythm in (RhythmLabel.SINUS, RhythmLabel.BRADY, RhythmLabel.TACHY)


def test_normal_is_regular_with_no_ectopy() -> None:
    analyzer, events, _ = analyse("normal", 60.0)
    assert analyzer.snapshot.rhythm is RhythmLabel.SINUS
    assert [e.name for e in events if e.kind == "rhythm"] == ["SINUS"]
    assert analyzer.snapshot.pvc_per_minute == 0.0
    assert analyzer.snapshot.hrv is not None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_asystole_within_4_5_s_of_the_last_beat(seed: int) -> None:
    analyzer, events, _ = analyse("asystole", 45.0, seed=seed)
    last_beat = max(b.sample for b in analyzer.beats) / FS
    assert last_beat < ONSET + 0.5
    assert 4.0 <= first(events, "ASYSTOLE") - last_beat <= 4.5
    assert analyzer.snapshot.heart_rate == 0.0


@pytest.mark.parametrize(("scenario", "seed"), [("vt", 1), ("vt", 2), ("vf", 1), ("vf", 2)])
def test_vt_and_vf_within_5_s_of_onset(scenario: str, seed: int) -> None:
    _, events, _ = analyse(scenario, 50.0, seed=seed)
    label = scenario.upper()
    assert 0.0 < first(events, label) - ONSET <= 5.0
    before = [e.name for e in events if e.kind == "rhythm" and e.time < ONSET]
    assert label not in before


def test_vf_holds_while_it_lasts() -> None:
    _, _, trace = analyse("vf", 60.0, seed=1)
    after = [rhythm for t, _, rhythm in trace if t > ONSET + 6]
    assert after
    assert all(rhythm is RhythmLabel.VF for rhythm in after)


def test_lead_off_is_no_signal_never_asystole() -> None:
    _, events, _ = analyse("lead-off", 60.0)
    names = [e.name for e in events if e.kind == "rhythm"]
    assert "NO_SIGNAL" in names
    assert "ASYSTOLE" not in names


@pytest.mark.parametrize(
    ("scenario", "label"), [("bigeminy", "BIGEMINY"), ("trigeminy", "TRIGEMINY")]
)
def test_ectopic_patterns(scenario: str, label: str) -> None:
    analyzer, events, _ = analyse(scenario, 60.0)
    assert first(events, label) > ONSET
    assert analyzer.snapshot.pvc_per_minute > 10


def test_pvcs_are_counted_and_couplets_reported() -> None:
    analyzer, events, _ = analyse("pvc", 90.0)
    assert analyzer.snapshot.pvc_per_minute >= 4
    assert "COUPLET" in [e.name for e in events if e.kind == "ectopy"]


def test_chunking_does_not_change_the_beats() -> None:
    one, _, _ = analyse("pvc", 60.0, chunk=0.1)
    other, _, _ = analyse("pvc", 60.0, chunk=1.0)
    assert [(b.sample, b.beat_class) for b in one.beats] == [
        (b.sample, b.beat_class) for b in other.beats
    ]


def test_vf_leakage_separates_a_sine_from_a_pulse_train() -> None:
    t = np.arange(0, 4, 1 / FS)
    assert vf_leakage(np.sin(2 * np.pi * 5 * t), FS) < 0.2
    pulses = np.zeros_like(t)
    pulses[:: int(FS * 0.8)] = 1.0
    assert vf_leakage(np.convolve(pulses, np.hanning(20), "same"), FS) > 0.8
    assert vf_leakage(np.full(100, np.nan), FS) == 1.0
