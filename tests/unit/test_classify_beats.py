"""classify_beats on real beats and on the edge cases that must give "Q", never an exception."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly

import app.inference.model as model_module
from app.analysis.af_features import LABEL_MULTIPLIERS
from app.analysis.atrial_fibrillation import af_episodes
from app.inference.beats import (
    beat_calls,
    classify_beats,
    label_beats,
    label_beats_many,
    normal_in_af,
)
from app.inference.features import beat_features
from app.inference.model import (
    MODEL_PATH,
    ModelUnavailableError,
    call_indices,
    default_model,
    load_model,
)
from drivers.wfdb.annotations import AAMI_CLASS, read_annotations
from drivers.wfdb.record import read_record
from tests.validation.synthetic import af_strip, sinus_strip

EXCERPTS = Path(__file__).resolve().parents[1] / "data" / "mitdb"
LABELS = set("NSVFQ")


def excerpt(name: str) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    record = read_record(EXCERPTS / name)
    samples, symbols = read_annotations(EXCERPTS / name).beats()
    labels = np.array([AAMI_CLASS[s] for s in symbols])
    return record.physical(0), record.fs, samples, labels


@pytest.fixture(autouse=True)
def _fresh_model_cache() -> Iterator[None]:
    default_model.cache_clear()
    yield
    default_model.cache_clear()


def test_real_beats_get_their_classes() -> None:
    ecg, fs, peaks, reference = excerpt("208x")
    calls = classify_beats(ecg, fs, peaks)
    assert calls.shape == peaks.shape
    assert set(calls.tolist()) <= LABELS
    ventricular = reference == "V"
    # 208 is a DS1 (training) record, so this checks the plumbing, not generalisation.
    assert np.mean(calls[ventricular] == "V") > 0.9
    assert np.mean(calls[reference == "N"] == "N") > 0.8


@pytest.mark.parametrize("fs", [125.0, 250.0, 500.0, 1000.0])
def test_other_sampling_rates_agree_with_360_hz(fs: float) -> None:
    ecg, fs0, peaks, _ = excerpt("208x")
    at_360 = classify_beats(ecg, fs0, peaks)
    resampled = resample_poly(ecg, round(fs), round(fs0))
    moved = peaks * fs / fs0
    calls = classify_beats(resampled, fs, moved)
    assert calls.shape == peaks.shape
    assert np.mean(calls == at_360) > 0.9


def test_int_and_float_peaks_give_the_same_labels() -> None:
    ecg, fs, peaks, _ = excerpt("201x")
    as_int = classify_beats(ecg, fs, peaks.astype(np.int32))
    as_float = classify_beats(ecg, fs, peaks.astype(np.float64))
    np.testing.assert_array_equal(as_int, as_float)


def test_unsorted_and_repeated_peaks_keep_their_order() -> None:
    ecg, fs, peaks, _ = excerpt("201x")
    ordered = classify_beats(ecg, fs, peaks)
    order = np.random.default_rng(1).permutation(peaks.size)
    shuffled = classify_beats(ecg, fs, peaks[order])
    np.testing.assert_array_equal(shuffled, ordered[order])
    doubled = classify_beats(ecg, fs, np.concatenate([peaks, peaks[:5]]))
    np.testing.assert_array_equal(doubled[-5:], ordered[:5])


def test_output_is_one_character_strings() -> None:
    ecg, fs, peaks, _ = excerpt("207x")
    calls = classify_beats(ecg, fs, peaks)
    assert calls.dtype == np.dtype("<U1")
    assert len(calls) == len(peaks)


def test_empty_inputs_give_empty_or_q() -> None:
    assert classify_beats(np.zeros(0), 360.0, np.zeros(0)).shape == (0,)
    assert classify_beats(np.zeros(1000), 360.0, np.zeros(0, dtype=int)).shape == (0,)
    assert classify_beats(np.zeros(0), 360.0, np.array([5, 10])).tolist() == ["Q", "Q"]


def test_one_peak_is_classified_without_error() -> None:
    ecg, fs, peaks, _ = excerpt("208x")
    calls = classify_beats(ecg, fs, peaks[100:101])
    assert calls.shape == (1,)
    assert calls[0] in LABELS


def test_peaks_at_the_ends_or_outside_are_q() -> None:
    ecg, fs, peaks, _ = excerpt("208x")
    edges = np.array([0, 10, ecg.size - 10, ecg.size - 1, -5, ecg.size + 100, np.nan])
    calls = classify_beats(ecg, fs, np.concatenate([peaks, edges]))
    assert calls[-edges.size :].tolist() == ["Q"] * edges.size
    assert np.mean(calls[: peaks.size] != "Q") > 0.99


def test_nan_windows_are_q_and_the_rest_still_classified() -> None:
    ecg, fs, peaks, _ = excerpt("208x")
    damaged = ecg.copy()
    damaged[int(peaks[50]) - 5 : int(peaks[55])] = np.nan
    calls = classify_beats(damaged, fs, peaks)
    assert set(calls[50:55].tolist()) == {"Q"}
    assert np.mean(calls[100:] != "Q") > 0.99


def test_flat_and_constant_signals_do_not_raise() -> None:
    peaks = np.arange(360, 36000, 300)
    for ecg in (np.zeros(36000), np.full(36000, 5.0)):
        calls = classify_beats(ecg, 360.0, peaks)
        assert calls.shape == peaks.shape
        assert set(calls.tolist()) <= LABELS


def test_a_missing_model_raises_the_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_module, "MODEL_PATH", tmp_path / "beat_classifier.onnx")
    with pytest.raises(ModelUnavailableError, match="unreadable"):
        classify_beats(np.zeros(3600), 360.0, np.array([1000, 1300]))


def test_an_altered_model_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / MODEL_PATH.name
    shutil.copy(MODEL_PATH.with_suffix(".md"), copy.with_suffix(".md"))
    blob = bytearray(MODEL_PATH.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    copy.write_bytes(bytes(blob))
    with pytest.raises(ModelUnavailableError, match="does not match its card"):
        load_model(copy)


def test_a_file_onnxruntime_cannot_read_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / MODEL_PATH.name
    copy.write_bytes(b"not an onnx model")
    digest = model_module.file_sha256(copy)
    copy.with_suffix(".md").write_text(f"- SHA-256: `{digest}`\n", encoding="utf-8")
    with pytest.raises(ModelUnavailableError, match="not loadable by onnxruntime"):
        load_model(copy)


def test_a_card_without_a_hash_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / MODEL_PATH.name
    shutil.copy(MODEL_PATH, copy)
    copy.with_suffix(".md").write_text("# no hash here\n", encoding="utf-8")
    with pytest.raises(ModelUnavailableError, match="quotes no SHA-256"):
        load_model(copy)


def bed_contexts(context_s: float) -> list[tuple[np.ndarray, float, np.ndarray, np.ndarray]]:
    """Contexts as the worker passes them: the last ``context_s`` seconds of several beds'
    ECG with every peak in them, the peaks of the second before the last one wanted."""
    contexts = []
    for k, name in enumerate(("201x", "207x", "208x", "201x", "208x", "207x")):
        ecg, fs, peaks, _ = excerpt(name)
        end = round((context_s + 2.0 + 3.0 * k) * fs)
        start = end - round(context_s * fs)
        inside = peaks[(peaks >= start) & (peaks < end)] - start
        wanted = (inside >= end - start - 2 * fs) & (inside < end - start - fs)
        contexts.append((ecg[start:end], fs, inside, wanted))
    return contexts


@pytest.mark.parametrize("context_s", [10.0, 30.0])
def test_label_beats_many_equals_label_beats_on_each_bed(context_s: float) -> None:
    model = default_model()
    contexts = bed_contexts(context_s)
    # A bed at another rate and length, and one passed with an index array.
    ecg, fs, peaks, _ = excerpt("207x")
    slow = resample_poly(ecg[: round(25 * fs)], 250, round(fs))
    slow_peaks = peaks[peaks < 25 * fs] * 250.0 / fs
    contexts.append((slow, 250.0, slow_peaks, np.arange(slow_peaks.size - 5, slow_peaks.size)))
    batched = label_beats_many(model, contexts)
    assert len(batched) == len(contexts)
    for labels, (ecg_k, fs_k, peaks_k, wanted) in zip(batched, contexts, strict=True):
        alone = label_beats(model, ecg_k, fs_k, peaks_k)
        np.testing.assert_array_equal(labels, alone[wanted])
        assert labels.dtype == np.dtype("<U1")
    assert sum(labels.size for labels in batched) > 10
    assert any((labels != "Q").any() for labels in batched)


def test_label_beats_many_edge_cases() -> None:
    model = default_model()
    ecg, fs, peaks, _ = excerpt("208x")
    window = ecg[: round(20 * fs)]
    inside = peaks[peaks < window.size].astype(np.float64)
    nan_window = window.copy()
    nan_window[:] = np.nan
    contexts = [
        (np.zeros(0), fs, np.array([5.0]), np.array([True])),
        (window, fs, np.zeros(0), np.zeros(0, dtype=bool)),
        (window, fs, inside, np.zeros(inside.size, dtype=bool)),
        (nan_window, fs, inside, np.ones(inside.size, dtype=bool)),
        (window, fs, np.concatenate([inside, [-3.0, np.nan]]), np.array([inside.size, 0, 1])),
    ]
    out = label_beats_many(model, contexts)
    assert out[0].tolist() == ["Q"]
    assert out[1].size == 0
    assert out[2].size == 0
    assert set(out[3].tolist()) == {"Q"}
    assert out[4][0] == "Q"
    assert set(out[4].tolist()) <= LABELS
    assert label_beats_many(model, []) == []


def test_s_calls_inside_atrial_fibrillation_become_normal() -> None:
    fs = 250.0
    af = af_strip(60.0, fs, seed=3)
    peaks = af.r_peaks.astype(np.float64)
    some_s = np.where(np.arange(peaks.size) % 5 == 0, "S", "N")
    relabelled = normal_in_af(af.ecg, fs, peaks, some_s, some_s)
    # The episode is dated from the first verdicts on: nearly every S call is in it.
    assert np.mean(relabelled[some_s == "S"] == "N") > 0.9
    assert np.all(relabelled[some_s == "N"] == "N")
    sinus = sinus_strip(60.0, fs, seed=4)
    sinus_s = np.where(np.arange(sinus.r_peaks.size) % 5 == 0, "S", "N")
    unchanged = normal_in_af(sinus.ecg, fs, sinus.r_peaks, sinus_s, sinus_s)
    np.testing.assert_array_equal(unchanged, sinus_s)


def test_the_af_monitor_reads_the_af_labels_not_the_calls() -> None:
    fs = 250.0
    af = af_strip(60.0, fs, seed=3)
    some_s = np.where(np.arange(af.r_peaks.size) % 5 == 0, "S", "N")
    # Told every beat is ventricular, the monitor sees ectopy, not AF: no S call changes.
    all_v = np.full(af.r_peaks.size, "V")
    np.testing.assert_array_equal(normal_in_af(af.ecg, fs, af.r_peaks, some_s, all_v), some_s)
    all_n = np.full(af.r_peaks.size, "N")
    relabelled = normal_in_af(af.ecg, fs, af.r_peaks, some_s, all_n)
    assert np.mean(relabelled[some_s == "S"] == "N") > 0.9


def test_only_s_calls_change_in_af() -> None:
    fs = 250.0
    af = af_strip(60.0, fs, seed=3)
    calls = np.array(list("NNNNVFQ") * af.r_peaks.size)[: af.r_peaks.size]
    np.testing.assert_array_equal(normal_in_af(af.ecg, fs, af.r_peaks, calls, calls), calls)
    assert af_episodes(af.ecg, fs)  # there is AF to act in


def test_classify_beats_calls_the_af_record_s_less_often_than_the_model_alone() -> None:
    ecg, fs, peaks, _ = excerpt("201x")
    model_alone = label_beats(default_model(), ecg, fs, peaks)
    final = classify_beats(ecg, fs, peaks)
    changed = model_alone != final
    assert changed.any()  # the excerpt holds AF, where the model alone calls some beats S
    assert np.all(model_alone[changed] == "S")
    assert np.all(final[changed] == "N")


def test_rates_the_af_monitor_cannot_take_are_left_alone() -> None:
    fs = 100.0
    af = af_strip(30.0, 250.0, seed=3)
    calls = np.where(np.arange(af.r_peaks.size) % 5 == 0, "S", "N")
    np.testing.assert_array_equal(normal_in_af(af.ecg, fs, af.r_peaks, calls, calls), calls)


def test_the_af_labels_are_the_af_probabilities_at_the_af_monitors_multipliers() -> None:
    model = default_model()
    ecg, fs, peaks, _ = excerpt("201x")
    calls = beat_calls(model, ecg, fs, peaks)
    np.testing.assert_array_equal(calls.beats, label_beats(model, ecg, fs, peaks))
    features, valid = beat_features(ecg, fs, peaks.astype(np.float64))
    rows = features[valid].astype(np.float32)
    af_weights = model.multipliers(LABEL_MULTIPLIERS)
    chosen = call_indices(model.af_probabilities(rows), af_weights, model.classes)
    expected = np.array(model.classes)[chosen]
    np.testing.assert_array_equal(calls.af[valid], expected)
    np.testing.assert_array_equal(calls.af[valid], model.af_labels(rows, LABEL_MULTIPLIERS))
    # Not the beat classes' probabilities: the AF monitor reads its own member's.
    assert not np.allclose(model.af_probabilities(rows), model.probabilities(rows), atol=1e-3)
    # A model far readier to call V changes its calls, not the AF monitor's labels.
    eager = replace(model, weights=model.multipliers({"N": 1, "S": 1, "V": 1000, "F": 1}))
    eager_calls = beat_calls(eager, ecg, fs, peaks)
    np.testing.assert_array_equal(eager_calls.af, calls.af)
    assert np.mean(eager_calls.beats == "V") > np.mean(calls.beats == "V") + 0.1


def test_a_multiplier_missing_for_a_class_is_refused() -> None:
    with pytest.raises(ValueError, match="no multiplier for class F"):
        default_model().multipliers({"N": 1, "S": 1, "V": 1})
