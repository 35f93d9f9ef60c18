"""Benchmark: what Vigil's analysis costs per bed, and how fast it calls lethal rhythms.

- CPU seconds per hour of ECG for the QRS detector alone (a whole record at once, as the
  EC57 harness runs it) and for the whole per-bed analysis (QRS, beat shape, rhythm, AF, VF,
  signal quality) fed as the station feeds it, in the simulator's 0.16-s blocks; plus the
  pulse-rate and respiration-rate analysers. Medians of several runs, process CPU time.
- Detection delays through ``main.py simulate --speed max`` for VT, VF and asystole over
  several seeds: the time from the scenario's onset to the rhythm event. For asystole the
  last beat comes at or before the onset, so this is a lower bound of the delay after the
  last beat; ``tests/unit/test_ecg_analyzer.py`` checks that delay exactly (≤ 4.5 s).

    python -m tests.bench.bench_analysis [--runs 5] [--seeds 5] [--update-readme]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from app.analysis.ecg_analyzer import EcgAnalyzer
from app.analysis.pulse import PulseRateAnalyser
from app.analysis.qrs import QrsDetector, detect_qrs
from app.analysis.respiration import RespirationRateAnalyser
from drivers.sim import STEP
from drivers.wfdb.record import read_record
from tests.bench.bench_station import ROOT, machine_speed, publish
from tests.unit.sim_helpers import run

MARK_BEGIN = "<!-- bench:analysis -->"
MARK_END = "<!-- /bench:analysis -->"
EXCERPT = ROOT / "tests" / "data" / "mitdb" / "208x"


class Streaming(Protocol):
    def feed(self, samples: npt.ArrayLike) -> object: ...


def cpu_per_hour(work: Callable[[], object], seconds_of_signal: float, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.process_time()
        work()
        out.append((time.process_time() - start) * 3600.0 / seconds_of_signal)
    return out


def streamed(make: Callable[[], Streaming], signal: np.ndarray, block: int) -> Callable[[], None]:
    def work() -> None:
        analyser = make()
        for i in range(0, len(signal), block):
            analyser.feed(signal[i : i + block])

    return work


def costs(runs: int) -> list[tuple[str, list[float]]]:
    record = read_record(EXCERPT)
    mlii = record.physical(0)
    fs = record.fs
    seconds = len(mlii) / fs
    sim = run("pvc", 300.0, ecg_rate=250)
    ecg, pleth, resp = (sim.waves[k].astype(np.float64) for k in ("ECG_II", "PLETH", "RESP"))
    return [
        ("QRS detector, whole record (MIT-BIH 208, 360 Hz)",
         cpu_per_hour(lambda: detect_qrs(mlii, fs), seconds, runs)),
        ("whole ECG analysis, 0.16-s blocks (MIT-BIH 208, 360 Hz)",
         cpu_per_hour(streamed(lambda: EcgAnalyzer(fs), mlii, round(STEP * fs)), seconds, runs)),
        ("whole ECG analysis, 0.16-s blocks (simulated PVCs, 250 Hz)",
         cpu_per_hour(streamed(lambda: EcgAnalyzer(250.0), ecg, 40), 300.0, runs)),
        ("pulse rate from pleth, 0.16-s blocks (125 Hz)",
         cpu_per_hour(streamed(lambda: PulseRateAnalyser(125.0), pleth, 20), 300.0, runs)),
        ("respiration rate, 0.16-s blocks (62.5 Hz)",
         cpu_per_hour(streamed(lambda: RespirationRateAnalyser(62.5), resp, 10), 300.0, runs)),
    ]  # fmt: skip


def decision_latency() -> list[float]:
    """Seconds from each R peak to the moment the streaming detector could report it, over
    every beat of the shipped MIT-BIH excerpts (after each one's learning period)."""
    out: list[float] = []
    for name in ("201x", "207x", "208x"):
        record = read_record(EXCERPT.parent / name)
        detector = QrsDetector(record.fs)
        detector.beats = deque(maxlen=None)
        detector.feed(record.physical(0))
        detector.flush()
        out += [
            (b.decidable_at - b.sample) / record.fs
            for b in detector.beats
            if b.sample > 3 * record.fs
        ]
    return out


def delays(seeds: int) -> list[tuple[str, list[float]]]:
    import main

    out = []
    for scenario, name in (("vt", "VT"), ("vf", "VF"), ("asystole", "ASYSTOLE")):
        found = []
        for seed in range(1, seeds + 1):
            with tempfile.TemporaryDirectory() as tmp:
                events_path = Path(tmp) / "events.jsonl"
                args = ["simulate", "--scenario", scenario, "--duration", "40", "--speed", "max"]
                code = main.main([*args, "--seed", str(seed), "--events", str(events_path)])
                if code != 0:
                    raise RuntimeError(f"simulate exited {code}")
                events = [json.loads(line) for line in events_path.read_text().splitlines()]
            onset = next(e["t"] for e in events if e["type"] == "scenario")
            hits = [e["t"] for e in events if e["type"] == "rhythm" and e["name"] == name]
            found.append(hits[0] - onset if hits else float("inf"))
        out.append((name, found))
    return out


def table(
    cost_rows: list[tuple[str, list[float]]],
    delay_rows: list[tuple[str, list[float]]],
    latency: list[float],
    speed: tuple[float, float],
) -> str:
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')}; medians of {len(cost_rows[0][1])} runs "
        f"(process CPU). Machine yardstick {speed[0]:.0f} ms before, {speed[1]:.0f} ms after "
        "(see the station table).",
        "",
        "| work | CPU s per hour of signal (median) | runs |",
        "|---|---:|---|",
    ]
    for label, values in cost_rows:
        runs = ", ".join(f"{v:.2f}" for v in values)
        lines.append(f"| {label} | {statistics.median(values):.2f} | {runs} |")
    lines += [
        "",
        f"Detection delay after the scenario's onset, `main.py simulate --speed max`, "
        f"seeds 1–{len(delay_rows[0][1])}:",
        "",
        "| rhythm | median (s) | worst (s) | target | per seed |",
        "|---|---:|---:|---|---|",
    ]
    targets = {"VT": "≤ 5 s", "VF": "≤ 5 s", "ASYSTOLE": "≤ 4.5 s after the last beat"}
    for name, values in delay_rows:
        per_seed = ", ".join(f"{v:.2f}" for v in values)
        lines.append(
            f"| {name} | {statistics.median(values):.2f} | {max(values):.2f} | "
            f"{targets[name]} | {per_seed} |"
        )
    lines += [
        "",
        f"QRS decision latency (R peak to the sample at which the streaming detector can report "
        f"it), {len(latency)} beats of the shipped MIT-BIH excerpts: median "
        f"{1000 * statistics.median(latency):.0f} ms, 99th percentile "
        f"{1000 * float(np.percentile(latency, 99)):.0f} ms, worst {1000 * max(latency):.0f} ms "
        "(requirement ≤ 300 ms).",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args()
    before = machine_speed()
    cost_rows = costs(args.runs)
    delay_rows = delays(args.seeds)
    text = table(cost_rows, delay_rows, decision_latency(), (before, machine_speed()))
    return publish(text, args.update_readme, MARK_BEGIN, MARK_END)


if __name__ == "__main__":
    sys.exit(main())
