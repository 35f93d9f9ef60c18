"""Benchmark: how fast the beat classifier labels beats, on one core.

- Throughput on whole records (the reference beat positions as R peaks), in beats per second
  of process CPU time: the model's labelling (``label_beats``: feature extraction + ONNX
  inference, what the inference worker runs), and ``classify_beats``, which adds the AF step
  (the AF monitor driven through the record, ``normal_in_af``).
- Latency of a one-second batch from 32 beds: each bed passes its last ``CONTEXT_S`` seconds of
  ECG and beats, the beats of the second before the last one are wanted, and all beds go
  through ``label_beats_many`` (one ONNX call), wall-clock time of the whole batch.

Medians of several runs. Records: the MIT-BIH DS1 records when ``$VIGIL_SHARED_DATA/mitdb``
(default /work/shared/data/mitdb) exists, else the excerpts in ``tests/data/mitdb``.

    python -m tests.bench.bench_beats [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from app.inference.beats import classify_beats, label_beats, label_beats_many
from app.inference.model import default_model
from app.inference.streaming import CONTEXT_S
from drivers.wfdb.annotations import read_annotations
from drivers.wfdb.record import read_record

ROOT = Path(__file__).resolve().parents[2]
BEDS = 32


def records() -> list[tuple[np.ndarray, float, np.ndarray]]:
    shared = Path(os.environ.get("VIGIL_SHARED_DATA", "/work/shared/data")) / "mitdb"
    folder = shared if (shared / "RECORDS").exists() else ROOT / "tests" / "data" / "mitdb"
    out = []
    for header in sorted(folder.glob("*.hea")):
        path = header.with_suffix("")
        record = read_record(path)
        samples, _ = read_annotations(path).beats()
        out.append((record.physical(0), record.fs, samples))
    return out


def throughput(
    data: list[tuple[np.ndarray, float, np.ndarray]],
    runs: int,
    labeller: Callable[[np.ndarray, float, np.ndarray], np.ndarray],
) -> list[float]:
    beats = sum(int(peaks.size) for _, _, peaks in data)
    rates = []
    for _ in range(runs):
        start = time.process_time()
        for ecg, fs, peaks in data:
            labeller(ecg, fs, peaks)
        rates.append(beats / (time.process_time() - start))
    return rates


def model_labels(ecg: np.ndarray, fs: float, peaks: np.ndarray) -> np.ndarray:
    return label_beats(default_model(), ecg, fs, peaks)


def ward_second(data: list[tuple[np.ndarray, float, np.ndarray]], t: float) -> tuple[float, int]:
    """Wall time (s) to label the newest beats of second ``t`` on 32 beds, and how many.

    As the inference worker does it: each bed passes its last ``CONTEXT_S`` seconds of ECG
    (ending 1 s after second ``t``, so the newest beats have their next beat and T wave) with
    every peak in it; the beats of second ``t`` are wanted; one ``label_beats_many`` call.
    """
    model = default_model()
    start = time.perf_counter()
    contexts = []
    for bed in range(BEDS):
        ecg, fs, peaks = data[bed % len(data)]
        lo, hi = round((t + 1.0 - CONTEXT_S) * fs), round((t + 1.0) * fs)
        window = (peaks[(peaks >= lo) & (peaks < hi)] - lo).astype(np.float64)
        wanted = (window >= hi - lo - 2 * fs) & (window < hi - lo - fs)
        contexts.append((ecg[lo:hi], fs, window, wanted))
    labels = label_beats_many(model, contexts)
    return time.perf_counter() - start, sum(int(x.size) for x in labels)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    data = records()
    default_model()  # loading is not what is measured
    beats = sum(int(p.size) for _, _, p in data)
    out = sys.stdout
    out.write(f"{len(data)} records, {beats} beats\n")
    # The 32-bed batch first: after classify_beats has run (the AF step, which the station's
    # worker never runs) the same batches measured 18 -> 26 ms in the same process, old code
    # and new alike, and a gc.collect() did not always bring them back.
    # The second must end 1 s past the annotation of the last beats but inside every record.
    shortest = min(ecg.size / fs for ecg, fs, _ in data)
    seconds = np.linspace(CONTEXT_S + 5.0, shortest - 5.0, args.runs * 5)
    timings = [ward_second(data, float(t)) for t in seconds]
    latencies = [1000.0 * wall for wall, _ in timings]
    counts = [n for _, n in timings]
    for title, labeller, runs in (
        ("label_beats (features + ONNX)", model_labels, args.runs),
        ("classify_beats (+ AF step)", classify_beats, max(1, args.runs // 2)),
    ):
        rates = throughput(data, runs, labeller)
        out.write(f"{title}: median {statistics.median(rates):,.0f} beats/s (CPU time), runs ")
        out.write(", ".join(f"{r:,.0f}" for r in rates) + "\n")
    out.write(
        f"32-bed one-second batch: median {statistics.median(latencies):.1f} ms, "
        f"max {max(latencies):.1f} ms, {min(counts)}–{max(counts)} beats per batch\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
