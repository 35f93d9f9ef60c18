"""EC57-style validation of Vigil's beat and AF detection.

    python -m tests.validation.ec57 --db DIR [--records 101 106 ...] [--json FILE]
    python -m tests.validation.ec57 --cinc2017 DIR [--json FILE]

``--db`` scores ``app.analysis.qrs.detect_qrs`` beat by beat on the MLII lead of each WFDB
record (the first signal when a record has none), against the ``.atr`` EC57 beat labels with
a 150 ms window, ventricular flutter/fibrillation excluded, over the whole record and from
minute 5 (EC57's learning period); and ``app.analysis.rhythm.af_episodes`` against the
reference ``(AFIB`` rhythm, epic-style (see ``tests.validation.scoring``).

``--cinc2017`` scores ``af_episodes`` on the PhysioNet/CinC 2017 subset: a record is called AF
when episodes cover at least half of it, against ``REFERENCE-v1.csv`` (AF = "A"). The model
was tuned on the even-numbered records only, so the odd-numbered half is reported on its own
as the held-out result.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

from app.analysis.qrs import detect_qrs
from app.analysis.rhythm import af_episodes
from drivers.wfdb.record import read_record
from tests.validation.datasets import cinc_labels, read_mit_record, record_names
from tests.validation.report import write_af_table, write_beat_table, write_cinc_table
from tests.validation.scoring import AfCounts, BeatCounts, Intervals, score_af, score_beats

LEARNING_S = 300.0  # EC57: the first five minutes are the algorithm's learning period


@dataclass(frozen=True, slots=True)
class RecordResult:
    record: str
    lead: str
    seconds: float
    vf_seconds: float  # excluded from beat scoring
    whole: BeatCounts
    after_learning: BeatCounts | None  # None for records shorter than the learning period
    qrs_cpu_s: float
    af_whole: AfCounts
    af_after_learning: AfCounts | None
    af_cpu_s: float
    af_episodes: Intervals


def score_record(path: Path) -> RecordResult:
    record = read_mit_record(path)
    fs, n = record.fs, record.n_samples
    t0 = time.process_time()
    beats = detect_qrs(record.ecg, fs)
    qrs_cpu = time.process_time() - t0
    t0 = time.process_time()
    episodes = af_episodes(record.ecg, fs)
    af_cpu = time.process_time() - t0
    learning = round(LEARNING_S * fs)
    late = n > learning
    return RecordResult(
        record=record.name,
        lead=record.lead,
        seconds=n / fs,
        vf_seconds=sum(b - a for a, b in record.vf) / fs,
        whole=score_beats(record.beats, beats, fs, record.vf),
        after_learning=score_beats(record.beats, beats, fs, record.vf, learning) if late else None,
        qrs_cpu_s=qrs_cpu,
        af_whole=score_af(record.af, record.flutter, episodes, (0, n), fs),
        af_after_learning=score_af(record.af, record.flutter, episodes, (learning, n), fs)
        if late
        else None,
        af_cpu_s=af_cpu,
        af_episodes=episodes,
    )


@dataclass(frozen=True, slots=True)
class CincResult:
    record: str
    label: str
    seconds: float
    af_seconds: float
    called_af: bool
    cpu_s: float


def score_cinc(directory: Path) -> list[CincResult]:
    results = []
    for name, label in sorted(cinc_labels(directory).items()):
        wfdb = read_record(directory / name)
        ecg = wfdb.physical(0)
        t0 = time.process_time()
        episodes = af_episodes(ecg, wfdb.fs)
        cpu = time.process_time() - t0
        covered = sum(b - a for a, b in episodes)
        results.append(
            CincResult(
                name, label, ecg.size / wfdb.fs, covered / wfdb.fs, 2 * covered >= ecg.size, cpu
            )
        )
    return results


def run_db(directory: Path, records: list[str] | None, out: TextIO) -> dict[str, object]:
    results = []
    for name in record_names(directory, records):
        results.append(score_record(directory / name))
        sys.stderr.write(f"scored {name}\n")
    return {
        "database": str(directory),
        "beats": write_beat_table(results, out),
        "af": write_af_table(results, out),
        "records": [asdict(r) for r in results],
    }


def run_cinc(directory: Path, out: TextIO) -> dict[str, object]:
    results = score_cinc(directory)
    return {
        "database": str(directory),
        "af": write_cinc_table(results, out),
        "records": [asdict(r) for r in results],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="EC57-style validation of Vigil's detectors")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--db", type=Path, help="a folder of WFDB records with .atr files")
    source.add_argument("--cinc2017", type=Path, help="the PhysioNet/CinC 2017 folder")
    parser.add_argument("--records", nargs="+", help="record names (default: RECORDS)")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args(argv)
    out = sys.stdout
    if args.db is not None:
        numbers = run_db(args.db, args.records, out)
    else:
        numbers = run_cinc(args.cinc2017, out)
    if args.json is not None:
        args.json.write_text(json.dumps(numbers, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
