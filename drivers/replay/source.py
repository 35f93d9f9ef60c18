"""A WFDB record made ready to replay: its ECG leads as channels, its annotations as marks.

The primary lead comes first: MLII where the record has it (in MIT-BIH record 114 it is the
second signal), otherwise the first signal. Every signal must be an ECG in mV; anything else
is refused with the reason, never played under a wrong label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from drivers.base import ChannelSpec, ColourRole
from drivers.wfdb.annotations import Annotations, read_annotations
from drivers.wfdb.header import WfdbFormatError
from drivers.wfdb.record import WfdbRecord, read_record

PRIMARY_LEAD = "MLII"
ECG_DISPLAY_RANGE = (-1.5, 2.0)  # mV, as a monitor's lead II
WFDB_SUFFIXES = (".hea", ".dat", ".atr", ".mat")
RHYTHM_CHANGE = "+"


@dataclass(frozen=True, slots=True)
class ReplayChannel:
    spec: ChannelSpec
    values: npt.NDArray[np.float32]  # mV, NaN where the record has no sample


@dataclass(frozen=True, slots=True)
class ReplaySource:
    name: str  # the record name, e.g. "208"
    fs: float
    channels: tuple[ReplayChannel, ...]  # the primary lead first
    mark_samples: npt.NDArray[np.int64]  # sorted sample numbers of the reference annotations
    mark_labels: tuple[str, ...]  # beat symbol, or the rhythm for a rhythm change ("(AFIB")
    comments: tuple[str, ...]  # the header's comment lines (age, sex, medication, notes)
    annotated: bool  # whether the record came with a reference annotation file

    @property
    def n_samples(self) -> int:
        return len(self.channels[0].values)

    @property
    def duration(self) -> float:
        return self.n_samples / self.fs

    @property
    def primary(self) -> ChannelSpec:
        return self.channels[0].spec


def record_path(path: str | Path) -> Path:
    """The record path without extension, also when given a file of the record."""
    path = Path(path)
    return path.with_suffix("") if path.suffix.lower() in WFDB_SUFFIXES else path


def load_source(path: str | Path, annotator: str = "atr") -> ReplaySource:
    """Read a record and its reference annotations (if the file exists) for replay.

    Raises :class:`WfdbFormatError` with the reason when the record cannot be replayed."""
    base = record_path(path)
    record = read_record(base)
    if record.n_samples == 0:
        raise WfdbFormatError(f"{base}: the record holds no samples")
    channels = _channels(base, record)
    annotation_file = Path(f"{base}.{annotator}")
    if annotation_file.exists():
        samples, labels = _marks(read_annotations(base, annotator))
    else:
        samples, labels = np.zeros(0, np.int64), ()
    return ReplaySource(
        name=record.header.name,
        fs=record.fs,
        channels=channels,
        mark_samples=samples,
        mark_labels=labels,
        comments=record.header.comments,
        annotated=annotation_file.exists(),
    )


def _channels(base: Path, record: WfdbRecord) -> tuple[ReplayChannel, ...]:
    signals = record.header.signals
    primary = record.header.signal_index(PRIMARY_LEAD)
    order = list(range(len(signals)))
    if primary is not None:
        order.remove(primary)
        order.insert(0, primary)
    channels: list[ReplayChannel] = []
    keys: set[str] = set()
    for index in order:
        signal = signals[index]
        if signal.units.lower() != "mv":
            raise WfdbFormatError(
                f"{base}: signal {index} ({signal.name or 'unnamed'}) is in {signal.units}; "
                "only ECG signals in mV can be replayed"
            )
        label = signal.name or f"ECG {index + 1}"
        key = _unique(f"ECG_{re.sub(r'[^A-Za-z0-9]+', '_', label).strip('_').upper()}", keys)
        spec = ChannelSpec(
            key, label, "mV", record.fs, signal.gain, ColourRole.ECG, ECG_DISPLAY_RANGE
        )
        channels.append(ReplayChannel(spec, record.physical(index).astype(np.float32)))
    return tuple(channels)


def _unique(key: str, taken: set[str]) -> str:
    candidate, n = key, 2
    while candidate in taken:
        candidate, n = f"{key}_{n}", n + 1
    taken.add(candidate)
    return candidate


def _marks(annotations: Annotations) -> tuple[npt.NDArray[np.int64], tuple[str, ...]]:
    """Each annotation as a mark: its symbol, or for a rhythm change the new rhythm."""
    samples: list[int] = []
    labels: list[str] = []
    for sample, symbol, aux in zip(
        annotations.samples.tolist(), annotations.symbols, annotations.aux, strict=True
    ):
        rhythm = aux.rstrip("\x00").strip() if symbol == RHYTHM_CHANGE else ""
        label = rhythm or symbol
        if label:  # codes WFDB leaves unused have no symbol
            samples.append(sample)
            labels.append(label)
    order = np.argsort(np.asarray(samples, np.int64), kind="stable")
    return np.asarray(samples, np.int64)[order], tuple(labels[i] for i in order)
