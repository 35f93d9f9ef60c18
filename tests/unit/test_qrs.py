"""The streaming QRS detector: same beats in any chunking, any rate, any input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import resample_poly

from app.analysis.qrs import MAX_RATE, MIN_RATE, QrsDetector, detect_qrs
from drivers.wfdb.annotations import read_annotations
from drivers.wfdb.record import read_record
from tests.unit.sim_helpers import r_peaks, run
from tests.validation.matching import match_beats, outside

EXCERPTS = Path(__file__).resolve().parents[1] / "data" / "mitdb"


def mlii(name: str) -> tuple[np.ndarray, float, np.ndarray, list[tuple[int, int]]]:
    """The MLII lead of a shipped excerpt, its EC57 reference beats and its VF episodes."""
    record = read_record(EXCERPTS / name)
    lead = record.header.signal_index("MLII")
    annotations = read_annotations(EXCERPTS / name)
    beats, _ = annotations.beats()
    starts = [
        int(s) for s, y in zip(annotations.samples, annotations.symbols, strict=True) if y == "["
    ]
    ends = [
        int(s) for s, y in zip(annotations.samples, annotations.symbols, strict=True) if y == "]"
    ]
    episodes = list(zip(starts, ends + [record.n_samples] * (len(starts) - len(ends)), strict=True))
    return record.physical(0 if lead is None else lead), record.fs, beats, episodes


def se_ppv(reference: np.ndarray, detected: np.ndarray, fs: float) -> tuple[float, float]:
    match = match_beats(reference, detected, round(0.15 * fs))
    se = match.true_positives / (match.true_positives + match.false_negatives)
    ppv = match.true_positives / (match.true_positives + match.false_positives)
    return se, ppv


@pytest.mark.parametrize("name", ["201x", "208x", "207x"])
def test_mit_bih_excerpts_are_detected(name: str) -> None:
    ecg, fs, reference, vf = mlii(name)
    detected = detect_qrs(ecg, fs)
    se, ppv = se_ppv(reference[outside(reference, vf)], detected[outside(detected, vf)], fs)
    assert se >= 0.99
    assert ppv >= 0.99


@pytest.mark.parametrize("chunk", [1, 7, 36, 90, 1000, 50_000])
def test_chunked_stream_gives_exactly_the_batch_beats(chunk: int) -> None:
    ecg, fs, _, _ = mlii("208x")
    ecg = ecg[: round((20 if chunk == 1 else 60 if chunk < 50 else 300) * fs)]
    detector = QrsDetector(fs)
    found = [detector.feed(ecg[i : i + chunk]) for i in range(0, len(ecg), chunk)]
    found.append(detector.flush())
    np.testing.assert_array_equal(np.concatenate(found), detect_qrs(ecg, fs))


@pytest.mark.parametrize("fs", [125, 130, 250, 300, 500, 1000])
def test_any_rate_from_125_to_1000_hz(fs: int) -> None:
    ecg, native, reference, vf = mlii("208x")
    resampled = resample_poly(ecg, fs, round(native))
    scaled = np.round(reference * fs / native).astype(np.int64)
    detected = detect_qrs(resampled, fs)
    se, ppv = se_ppv(scaled[outside(scaled, vf)], detected, fs)
    assert se >= 0.98
    assert ppv >= 0.98


@pytest.mark.parametrize(("scenario", "ecg_rate"), [("normal", 250), ("tachycardia", 500)])
def test_simulated_beats_match_an_independent_peak_finder(scenario: str, ecg_rate: int) -> None:
    sim = run(scenario, 60.0, ecg_rate=ecg_rate)
    ecg = sim.waves["ECG_II"].astype(np.float64)
    reference = r_peaks(ecg, ecg_rate)
    se, ppv = se_ppv(reference, detect_qrs(ecg, ecg_rate), ecg_rate)
    assert se >= 0.99
    assert ppv >= 0.99


def test_every_beat_is_reported_within_300_ms_of_its_r_peak() -> None:
    ecg, fs, _, _ = mlii("201x")
    ecg = ecg[: round(60 * fs)]
    detector = QrsDetector(fs)
    detector.beats = type(detector.beats)(maxlen=None)
    for i in range(0, len(ecg), 2):
        detector.feed(ecg[i : i + 2])
    settled = [b for b in detector.beats if b.sample > 3 * fs]  # after the learning period
    delays = np.array([(b.detected_at - b.sample) / fs for b in settled])
    assert len(delays) > 40
    assert delays.max() <= 0.300


def test_a_flat_line_has_no_beats() -> None:
    assert detect_qrs(np.zeros(10_000), 250.0).size == 0
    assert detect_qrs(np.full(10_000, 3.2), 250.0).size == 0


def test_a_gap_of_nan_has_no_beats_and_the_signal_after_it_is_detected() -> None:
    ecg, fs, reference, _ = mlii("208x")
    ecg = ecg[: round(60 * fs)].copy()
    ecg[round(20 * fs) : round(30 * fs)] = np.nan
    detected = detect_qrs(ecg, fs)
    assert not np.any((detected > 20.3 * fs) & (detected < 30 * fs))
    after = reference[(reference > 33 * fs) & (reference < 59 * fs)]
    se, _ = se_ppv(after, detected[detected > 33 * fs], fs)
    assert se >= 0.98


@pytest.mark.parametrize("fs", [MIN_RATE - 1, MAX_RATE + 1, 0.0, float("nan")])
def test_an_impossible_rate_is_a_clear_error(fs: float) -> None:
    with pytest.raises(ValueError, match="QRS detection needs"):
        QrsDetector(fs)


signals = st.one_of(
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), max_size=3000),
    st.builds(
        lambda n, scale, seed: (np.random.default_rng(seed).standard_normal(n) * scale).tolist(),
        st.integers(0, 5000),
        st.sampled_from([1e-12, 1e-3, 1.0, 1e3, 1e12]),
        st.integers(0, 2**16),
    ),
)


@settings(max_examples=60, deadline=None)
@given(values=signals, fs=st.sampled_from([125.0, 360.0, 1000.0]))
def test_any_input_gives_valid_sorted_indices(values: list[float], fs: float) -> None:
    ecg = np.asarray(values, dtype=np.float64)
    peaks = detect_qrs(ecg, fs)
    assert peaks.dtype == np.int64
    assert np.all((peaks >= 0) & (peaks < max(1, len(ecg))))
    assert np.all(np.diff(peaks) > 0)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), saturate=st.floats(0.05, 2.0))
def test_saturated_ecg_gives_valid_indices(seed: int, saturate: float) -> None:
    ecg, fs, _, _ = mlii("208x")
    start = np.random.default_rng(seed).integers(0, len(ecg) - 3000)
    clipped = np.clip(ecg[start : start + 3000], -saturate, saturate)
    peaks = detect_qrs(clipped, fs)
    assert np.all((peaks >= 0) & (peaks < len(clipped)))
    assert np.all(np.diff(peaks) > 0)


def test_an_artefact_while_learning_does_not_blind_the_detector() -> None:
    ecg, fs, reference, _ = mlii("208x")
    spoilt = ecg.copy()
    spoilt[200:230] += 50.0  # a 50 mV electrode pop in the first second
    detected = detect_qrs(spoilt, fs)
    later = reference[reference > 10 * fs]
    se, ppv = se_ppv(later, detected[detected > 10 * fs], fs)
    assert se >= 0.98
    assert ppv >= 0.98


@pytest.mark.parametrize("noise_mv", [0.0, 0.01, 0.05])
def test_a_quiet_line_after_beats_stays_beat_free(noise_mv: float) -> None:
    """Asystole with a noisy baseline must not sprout beats when the detector relearns."""
    ecg, fs, _, _ = mlii("208x")
    quiet = np.random.default_rng(3).standard_normal(round(60 * fs)) * noise_mv
    record = np.concatenate([ecg[: round(20 * fs)], quiet])
    detected = detect_qrs(record, fs)
    assert not np.any(detected > 20.5 * fs)
