"""The DS1 training set: features and AAMI labels of every reference beat, record by record."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from app.inference.features import beat_features
from app.inference.streaming import CONTEXT_S, streamed_features
from drivers.wfdb.annotations import AAMI_CLASS, read_annotations
from drivers.wfdb.record import read_record

# de Chazal et al. 2004: the 22 training records of the inter-patient split.
DS1 = (
    "101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122",
    "124", "201", "203", "205", "207", "208", "209", "215", "220", "223", "230",
)  # fmt: skip
CLASSES = ("N", "S", "V", "F")  # what the model learns; Q is for beats it cannot see
LEARNING_PERIOD_S = 300.0  # EC57: the first 5 minutes are not scored
STREAM_CONTEXT_S = CONTEXT_S  # what the inference worker passes per bed


@dataclass(frozen=True, slots=True)
class RecordBeats:
    name: str
    fs: float
    samples: npt.NDArray[np.int64]  # reference beat positions
    labels: npt.NDArray[np.str_]  # AAMI class of each reference beat (N, S, V, F, Q)
    features: npt.NDArray[np.float32]
    valid: npt.NDArray[np.bool_]  # the features could be computed
    streamed: npt.NDArray[np.float32]  # features as the streaming worker computes them
    streamed_valid: npt.NDArray[np.bool_]

    @property
    def scored(self) -> npt.NDArray[np.bool_]:
        """EC57 scores beats after the learning period."""
        return np.asarray(self.samples >= LEARNING_PERIOD_S * self.fs, dtype=np.bool_)

    def streaming(self) -> RecordBeats:
        """The same record with the streamed features in place of the whole-record ones."""
        return replace(self, features=self.streamed, valid=self.streamed_valid)


def mlii(path: Path) -> tuple[npt.NDArray[np.float64], float]:
    """A record's MLII lead (its first signal if it has none) in mV, and its rate."""
    record = read_record(path)
    index = record.header.signal_index("MLII")
    return record.physical(0 if index is None else index), record.fs


def load_record(path: Path) -> RecordBeats:
    """One record's MLII lead, reference beats, their AAMI labels and features."""
    ecg, fs = mlii(path)
    samples, symbols = read_annotations(path, "atr").beats()
    features, valid = beat_features(ecg, fs, samples.astype(np.float64))
    labels = np.array([AAMI_CLASS[s] for s in symbols], dtype="<U1")
    positions = samples.astype(np.int64)
    streamed, streamed_valid = streamed_features(ecg, fs, positions, STREAM_CONTEXT_S)
    return RecordBeats(
        path.name, fs, positions, labels, features.astype(np.float32), valid,
        streamed.astype(np.float32), streamed_valid,
    )  # fmt: skip


def load_ds1(directory: Path, names: tuple[str, ...] = DS1) -> list[RecordBeats]:
    return [load_record(directory / name) for name in names]


def training_rows(records: list[RecordBeats]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, class indices and record index of every usable beat of a learnt class."""
    xs, ys, groups = [], [], []
    for k, record in enumerate(records):
        keep = record.valid & np.isin(record.labels, CLASSES)
        xs.append(record.features[keep])
        ys.append(np.array([CLASSES.index(label) for label in record.labels[keep]]))
        groups.append(np.full(int(keep.sum()), k))
    return np.concatenate(xs), np.concatenate(ys).astype(np.int64), np.concatenate(groups)
