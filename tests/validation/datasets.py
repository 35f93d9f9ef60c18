"""The reference data the validation tools read: MIT-BIH records and the CinC 2017 labels."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from drivers.wfdb.annotations import read_annotations
from drivers.wfdb.record import read_record

IndexArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Intervals = list[tuple[int, int]]

AF_RHYTHM = "(AFIB"
FLUTTER_RHYTHM = "(AFL"


def default_data_dir() -> Path:
    return Path(os.environ.get("VIGIL_SHARED_DATA", "/work/shared/data"))


@dataclass(frozen=True, slots=True)
class MitRecord:
    name: str
    fs: float
    ecg: FloatArray  # mV, the MLII lead (or the first signal when there is none)
    lead: str
    beats: IndexArray  # EC57 reference beats
    vf: Intervals  # ventricular flutter/fibrillation, [ to ]
    af: Intervals  # reference (AFIB rhythm
    flutter: Intervals  # reference (AFL rhythm

    @property
    def n_samples(self) -> int:
        return int(self.ecg.size)


def read_mit_record(path: Path) -> MitRecord:
    """A WFDB record with its ``.atr`` reference, reduced to what EC57 scoring needs."""
    wfdb = read_record(path)
    index = wfdb.header.signal_index("MLII")
    channel = 0 if index is None else index
    ecg = wfdb.physical(channel)
    annotations = read_annotations(path, "atr")
    beats, _ = annotations.beats()
    n = int(ecg.size)
    rhythms = annotations.rhythm_changes()
    return MitRecord(
        name=path.name,
        fs=wfdb.fs,
        ecg=ecg,
        lead=wfdb.header.signals[channel].name or f"signal {channel}",
        beats=beats.astype(np.int64),
        vf=vf_intervals(list(annotations.samples.tolist()), list(annotations.symbols), n),
        af=rhythm_intervals(rhythms, AF_RHYTHM, n),
        flutter=rhythm_intervals(rhythms, FLUTTER_RHYTHM, n),
    )


def vf_intervals(samples: list[int], symbols: list[str], n: int) -> Intervals:
    """[start, end] of each ``[`` .. ``]`` episode; an unclosed one runs to the end."""
    intervals: Intervals = []
    start: int | None = None
    for sample, symbol in zip(samples, symbols, strict=True):
        if symbol == "[" and start is None:
            start = int(sample)
        elif symbol == "]" and start is not None:
            intervals.append((start, int(sample)))
            start = None
    if start is not None:
        intervals.append((start, n))
    return intervals


def rhythm_intervals(changes: list[tuple[int, str]], rhythm: str, n: int) -> Intervals:
    """[start, end) of each stretch whose rhythm annotation is exactly ``rhythm``."""
    intervals: Intervals = []
    ordered = sorted(changes)
    for i, (sample, name) in enumerate(ordered):
        if name != rhythm:
            continue
        end = ordered[i + 1][0] if i + 1 < len(ordered) else n
        if intervals and intervals[-1][1] == sample:  # the same rhythm annotated again
            intervals[-1] = (intervals[-1][0], end)
        elif end > sample:
            intervals.append((sample, end))
    return intervals


def record_names(directory: Path, wanted: list[str] | None) -> list[str]:
    """The records to score: those asked for, else RECORDS, else every header."""
    if wanted:
        return wanted
    listing = directory / "RECORDS"
    if listing.exists():
        return listing.read_text().split()
    return sorted(p.stem for p in directory.glob("*.hea"))


def cinc_labels(directory: Path) -> dict[str, str]:
    """Record name -> label from the challenge's first release, REFERENCE-v1.csv."""
    labels: dict[str, str] = {}
    for line in (directory / "REFERENCE-v1.csv").read_text().splitlines():
        if line.strip():
            name, label = line.strip().split(",")[:2]
            labels[name] = label
    return labels
