"""The ONNX export computes what scikit-learn computes, through the runtime's own loader.

A model is fitted by the training pipeline's own code on the three test excerpts (small, so the
test is quick), exported, written with a card and loaded as the station loads a model; its
probabilities and calls must equal scikit-learn's on the same features.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from app.inference.beats import label_beats
from app.inference.features import beat_features_many
from app.inference.model import BeatModel, load_model
from drivers.wfdb.record import read_record
from training.beats.card import write_card
from training.beats.dataset import (
    CLASSES,
    STREAM_CONTEXT_S,
    RecordBeats,
    load_record,
    training_rows,
)
from training.beats.ensemble import Ensemble
from training.beats.export import export_onnx
from training.beats.fit import Choice, decide, fit
from training.beats.metrics import confusion, summarise

EXCERPTS = Path(__file__).resolve().parents[1] / "data" / "mitdb"
NAMES = ("201x", "207x", "208x")
WEIGHTS = np.array([1.0, 0.5, 0.25, 1.0])


@dataclass(frozen=True)
class Exported:
    records: list[RecordBeats]
    fitted: Ensemble
    model: BeatModel


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    records = [load_record(EXCERPTS / name) for name in NAMES]
    x, y, _ = training_rows(records)
    assert set(np.unique(y).tolist()) == set(range(len(CLASSES)))
    fitted = fit(x, y, seed=7)
    blob = export_onnx(fitted, WEIGHTS)
    path = tmp_path_factory.mktemp("model") / "beat_classifier.onnx"
    path.write_bytes(blob)
    matrices = [confusion(r.labels, r.labels) for r in records]
    card = write_card(blob, Choice(WEIGHTS, summarise(matrices), 0.0), list(NAMES), matrices, "t")
    path.with_suffix(".md").write_text(card, encoding="utf-8")
    return Exported(records, fitted, load_model(path))


def test_onnx_probabilities_and_calls_equal_scikit_learns(exported: Exported) -> None:
    for record in exported.records:
        rows = record.features[record.valid]
        expected = np.asarray(exported.fitted.predict_proba(rows))
        got = exported.model.probabilities(rows)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
        everywhere = np.ones(len(rows), dtype=bool)
        calls = exported.model.decide(rows)
        np.testing.assert_array_equal(calls, decide(expected, everywhere, WEIGHTS))


def test_the_runtime_path_equals_the_training_path(exported: Exported) -> None:
    record = exported.records[2]
    ecg = read_record(EXCERPTS / record.name).physical(0)
    calls = label_beats(exported.model, ecg, record.fs, record.samples)
    probabilities = np.asarray(exported.fitted.predict_proba(record.features))
    np.testing.assert_array_equal(calls, decide(probabilities, record.valid, WEIGHTS))


def test_streamed_training_features_are_what_the_worker_computes(exported: Exported) -> None:
    record = exported.records[1]
    ecg = read_record(EXCERPTS / record.name).physical(0)
    fs = record.fs
    second = int(record.samples[len(record.samples) // 2] // fs)
    lo = max(0, round((second + 2 - STREAM_CONTEXT_S) * fs))
    hi = min(ecg.size, round((second + 2) * fs))
    inside = np.flatnonzero((record.samples >= lo) & (record.samples < hi))
    wanted = record.samples[inside] // fs == second
    context = (ecg[lo:hi], fs, (record.samples[inside] - lo).astype(np.float64), wanted)
    [(features, valid)] = beat_features_many([context])
    np.testing.assert_array_equal(valid, record.streamed_valid[inside[wanted]])
    np.testing.assert_allclose(features, record.streamed[inside[wanted]], rtol=1e-6, atol=1e-6)
    assert valid.any()
