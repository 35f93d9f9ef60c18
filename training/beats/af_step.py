"""The AF step of ``classify_beats`` in the grouped CV: S calls inside AF become N.

``app.inference.beats.normal_in_af`` drives the AF monitor through the record with the
model's calls and makes the S calls inside the AF it finds N. Here the same function runs on
the out-of-fold calls for every multiplier pair of the grid, so that the multipliers are
chosen (and the card scored) on what the runtime returns.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
from joblib import Parallel, delayed

from app.inference.beats import normal_in_af
from training.beats.dataset import RecordBeats, mlii
from training.beats.fit import Table, Weights, decide, weight_grid
from training.beats.metrics import confusion

FloatArray = npt.NDArray[np.float64]


def final_calls(
    directory: Path, record: RecordBeats, probs: FloatArray, weights: FloatArray
) -> npt.NDArray[np.str_]:
    """The record's calls as ``classify_beats`` makes them: the model's, then the AF step."""
    ecg, fs = mlii(directory / record.name)
    return _after_af_step(ecg, fs, record, probs, weights)


def final_call_table(
    directory: Path, records: list[RecordBeats], probs: dict[str, FloatArray], jobs: int = 1
) -> Table:
    """For every multiplier pair of the grid, each record's EC57 matrix of its out-of-fold
    calls after the AF step, over the scored beats."""
    rows = Parallel(n_jobs=jobs)(
        delayed(_record_matrices)(directory, r, probs[r.name]) for r in records
    )
    return {
        weights: {r.name: row[weights] for r, row in zip(records, rows, strict=True)}
        for weights in weight_grid()
    }


def _record_matrices(
    directory: Path, record: RecordBeats, probs: FloatArray
) -> dict[Weights, np.ndarray]:
    ecg, fs = mlii(directory / record.name)
    out = {}
    for weights in weight_grid():
        calls = _after_af_step(ecg, fs, record, probs, np.array(weights))
        out[weights] = confusion(record.labels[record.scored], calls[record.scored])
    return out


def _after_af_step(
    ecg: FloatArray, fs: float, record: RecordBeats, probs: FloatArray, weights: FloatArray
) -> npt.NDArray[np.str_]:
    return normal_in_af(ecg, fs, record.samples, decide(probs, record.valid, weights))
