"""The AF step of ``classify_beats`` in the grouped CV: S calls inside AF become N.

``app.inference.beats.normal_in_af`` drives the AF monitor through the record with the
model's AF labels (its AF probabilities at the AF monitor's own multipliers,
``LABEL_MULTIPLIERS``) and makes the S
calls inside the AF it finds N. Here the same happens to the out-of-fold calls of every
multiplier pair of the grid, so that the multipliers are chosen (and the card scored) on what
the runtime returns. The AF episodes do not depend on the pair: they are found once a record.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
from joblib import Parallel, delayed

from app.analysis.af_features import LABEL_MULTIPLIERS
from app.inference.beats import in_af
from training.beats.dataset import CLASSES, RecordBeats, mlii
from training.beats.fit import Table, Weights, decide, weight_grid
from training.beats.metrics import confusion

FloatArray = npt.NDArray[np.float64]
AF_WEIGHTS = np.array([LABEL_MULTIPLIERS[c] for c in CLASSES])


def final_calls(
    directory: Path,
    record: RecordBeats,
    probs: FloatArray,
    af_probs: FloatArray,
    weights: FloatArray,
) -> npt.NDArray[np.str_]:
    """The record's calls as ``classify_beats`` makes them: the model's (``probs``), then the
    AF step (the AF monitor fed labels from ``af_probs``)."""
    inside = _in_af(directory, record, af_probs)
    return _after_af_step(decide(probs, record.valid, weights), inside)


def final_call_table(
    directory: Path,
    records: list[RecordBeats],
    probs: dict[str, FloatArray],
    af_probs: dict[str, FloatArray],
    jobs: int = 1,
) -> Table:
    """For every multiplier pair of the grid, each record's EC57 matrix of its out-of-fold
    calls (``probs``) after the AF step (the AF monitor's labels from ``af_probs``), over the
    scored beats."""
    rows = Parallel(n_jobs=jobs)(
        delayed(_record_matrices)(directory, r, probs[r.name], af_probs[r.name]) for r in records
    )
    return {
        weights: {r.name: row[weights] for r, row in zip(records, rows, strict=True)}
        for weights in weight_grid()
    }


def _record_matrices(
    directory: Path, record: RecordBeats, probs: FloatArray, af_probs: FloatArray
) -> dict[Weights, np.ndarray]:
    inside = _in_af(directory, record, af_probs)
    out = {}
    for weights in weight_grid():
        calls = _after_af_step(decide(probs, record.valid, np.array(weights)), inside)
        out[weights] = confusion(record.labels[record.scored], calls[record.scored])
    return out


def _in_af(directory: Path, record: RecordBeats, af_probs: FloatArray) -> npt.NDArray[np.bool_]:
    """Which beats lie inside the AF the monitor finds with the model's AF labels (made from
    ``af_probs`` at the AF monitor's multipliers)."""
    ecg, fs = mlii(directory / record.name)
    return in_af(ecg, fs, record.samples, decide(af_probs, record.valid, AF_WEIGHTS))


def _after_af_step(
    calls: npt.NDArray[np.str_], inside: npt.NDArray[np.bool_]
) -> npt.NDArray[np.str_]:
    return np.where(inside & (calls == "S"), "N", calls)
