"""The model card's AF-step rows score exactly what ``classify_beats`` returns."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.inference.beats import classify_beats, label_beats
from app.inference.model import default_model
from training.beats.af_step import final_calls
from training.beats.dataset import load_record, mlii

EXCERPTS = Path(__file__).resolve().parents[1] / "data" / "mitdb"


def test_the_training_af_step_equals_classify_beats() -> None:
    model = default_model()
    record = load_record(EXCERPTS / "201x")
    probs = model.probabilities(record.features)
    af_probs = model.af_probabilities(record.features)
    calls = final_calls(EXCERPTS, record, probs, af_probs, model.weights)
    ecg, fs = mlii(EXCERPTS / "201x")
    np.testing.assert_array_equal(calls, classify_beats(ecg, fs, record.samples))
    # And the step did something here: 201 holds AF, where the model alone calls some S.
    assert np.any(calls != label_beats(model, ecg, fs, record.samples))
