"""The AF step of ``classify_beats`` scored in the grouped CV: S calls inside AF become N.

``app.inference.beats.normal_in_af`` drives the AF monitor through the record with the
model's calls and makes the S calls inside the AF it finds N. Here the same function runs on
the out-of-fold calls, with the multipliers the other rows use: the shipped ones for the plain
row, each fold's own for the nested row, so both rows read as the runtime would call them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from app.inference.beats import normal_in_af
from training.beats.dataset import RecordBeats, mlii
from training.beats.fit import Choice, decide, fold_of
from training.beats.metrics import Summary, confusion, summarise

FloatArray = npt.NDArray[np.float64]


def final_calls(
    directory: Path, record: RecordBeats, probs: FloatArray, weights: FloatArray
) -> npt.NDArray[np.str_]:
    """The record's calls as ``classify_beats`` makes them: the model's, then the AF step."""
    ecg, fs = mlii(directory / record.name)
    calls = decide(probs, record.valid, weights)
    return normal_in_af(ecg, fs, record.samples, calls)


def af_step_summaries(
    directory: Path, records: list[RecordBeats], probs: dict[str, FloatArray], choice: Choice
) -> tuple[Summary, Summary | None, list[np.ndarray]]:
    """(plain summary, nested summary, per-record plain matrices) with the AF step."""
    plain: list[np.ndarray] = []
    nested: list[np.ndarray] = []
    folds = fold_of(records)
    for r in records:
        calls = final_calls(directory, r, probs[r.name], choice.weights)
        plain.append(confusion(r.labels[r.scored], calls[r.scored]))
        if choice.fold_weights:
            weights = np.array(choice.fold_weights[folds[r.name]])
            calls = final_calls(directory, r, probs[r.name], weights)
            nested.append(confusion(r.labels[r.scored], calls[r.scored]))
    return summarise(plain), summarise(nested) if nested else None, plain
