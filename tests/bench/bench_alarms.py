"""Benchmark: how soon the alarms come, how quiet a normal ward stays, and what the engine costs.

- Time to alarm through ``main.py simulate --speed max`` over several seeds: asystole, VF and
  VT from the scenario's onset to the alarm's start; lead-off from the leads coming off; SpO2
  low from the first reading below the limit (the start record's ``since``), less the 10-s
  condition delay, i.e. the alarm generation delay.
- False high-priority alarms: every alarm over 8 beds x 1 h of normal sinus rhythm.
- Engine CPU for 32 beds: a 32-bed demo ward run headless for 120 s of signal with the real
  analysis; the thread CPU time spent inside ``AlarmEngine.tick`` at its live rate (4 ticks
  per second of signal), as a share of one core.

    python -m tests.bench.bench_alarms [--seeds 5] [--runs 3] [--nsr-hours 1] [--update-readme]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from app.alarms.engine import AlarmEngine, AlarmSnapshot
from app.demo_ward import SimConfig, build_simulated_station
from app.simulate import OrderedEventWriter, run_headless
from tests.bench.bench_station import machine_speed, publish

MARK_BEGIN = "<!-- bench:alarms -->"
MARK_END = "<!-- /bench:alarms -->"
SPO2_DELAY = 10.0
# (scenario, alarm code, the scenario event that starts the clock, target in s)
LATENCY_CASES = (
    ("asystole", "ASYSTOLE", "asystole onset", 5.0),
    ("vf", "VF", "vf onset", 6.0),
    ("vt", "VT", "vt onset", 6.0),
    ("lead-off", "ECG_LEAD_OFF", "lead-off onset", 2.0),
)


def simulate(args: list[str]) -> list[dict[str, Any]]:
    import main

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.jsonl"
        code = main.main(["simulate", "--speed", "max", *args, "--events", str(path)])
        if code != 0:
            raise RuntimeError(f"simulate exited {code}")
        return [json.loads(line) for line in path.read_text().splitlines()]


def first_start(events: list[dict[str, Any]], code: str) -> dict[str, Any] | None:
    return next(
        (e for e in events if e["type"] == "alarm" and e["event"] == "start" and e["code"] == code),
        None,
    )


def latencies(seeds: int) -> list[tuple[str, float, list[float]]]:
    rows = []
    for scenario, code, clock_event, target in LATENCY_CASES:
        found = []
        for seed in range(1, seeds + 1):
            events = simulate(["--scenario", scenario, "--duration", "45", "--seed", str(seed)])
            onset = next(e["t"] for e in events if e.get("name") == clock_event)
            start = first_start(events, code)
            found.append(start["t"] - onset if start else float("inf"))
        rows.append((code, target, found))
    found = []
    for seed in range(1, seeds + 1):
        events = simulate(["--scenario", "desaturation", "--duration", "100", "--seed", str(seed)])
        start = first_start(events, "SPO2_LOW")
        found.append(start["t"] - start["since"] - SPO2_DELAY if start else float("inf"))
    rows.append(("SPO2_LOW (after its 10-s delay)", 1.0, found))
    return rows


def normal_ward(hours: float) -> tuple[float, collections.Counter[str]]:
    """Wall seconds taken, and the alarms started per priority and code, on 8 NSR beds."""
    began = time.monotonic()
    events = simulate(["--beds", "8", "--scenario", "normal", "--duration", str(hours * 3600)])
    starts = collections.Counter(
        f"{e['priority']} {e['code']}"
        for e in events
        if e["type"] == "alarm" and e["event"] == "start"
    )
    return time.monotonic() - began, starts


class TimedEngine(AlarmEngine):
    """The real engine, counting the thread CPU time its ticks take."""

    spent = 0.0

    def tick(self, now: float, hold_future: bool = False) -> AlarmSnapshot:
        begin = time.thread_time()
        try:
            return super().tick(now, hold_future)
        finally:
            self.spent += time.thread_time() - begin


def engine_cpu(seconds: float) -> float:
    """Share of one core (%) the alarm engine takes for 32 beds, at its live tick rate."""
    epoch = time.time()
    station = build_simulated_station(SimConfig(beds=32, speed=None, duration=seconds),
                                      epoch=epoch)  # fmt: skip
    engine = TimedEngine(station)
    with open(os.devnull, "w", encoding="utf-8") as sink:
        run_headless(station, OrderedEventWriter(sink, epoch), epoch, engine=engine)
    return 100.0 * engine.spent / seconds


def table(
    rows: list[tuple[str, float, list[float]]],
    nsr: tuple[float, float, collections.Counter[str]],
    cpu: list[float],
    speed: tuple[float, float],
) -> str:
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')}; machine yardstick {speed[0]:.0f} ms before, "
        f"{speed[1]:.0f} ms after (see the station table).",
        "",
        f"Time to alarm, `main.py simulate --speed max`, seeds 1–{len(rows[0][2])}:",
        "",
        "| alarm | median (s) | worst (s) | target | per seed |",
        "|---|---:|---:|---|---|",
    ]
    for code, target, values in rows:
        per_seed = ", ".join(f"{v:.2f}" for v in values)
        lines.append(
            f"| {code} | {statistics.median(values):.2f} | {max(values):.2f} | "
            f"≤ {target:g} s | {per_seed} |"
        )
    hours, wall, starts = nsr
    high = sum(n for key, n in starts.items() if key.startswith("high "))
    listed = ", ".join(f"{key} ×{n}" for key, n in sorted(starts.items())) or "none"
    lines += [
        "",
        f"Normal sinus rhythm, 8 beds × {hours:g} h (`--scenario normal`, {wall:.0f} s wall): "
        f"**{high} high-priority alarms** (target 0); every alarm started: {listed}.",
        "",
        f"Alarm engine CPU for 32 beds (demo mix, real analysis, 4 ticks per second of "
        f"signal), {len(cpu)} runs: median **{statistics.median(cpu):.2f} %** of one core "
        f"(runs: {', '.join(f'{c:.2f}' for c in cpu)}; target ≤ 2 %).",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--nsr-hours", type=float, default=1.0)
    parser.add_argument("--cpu-seconds", type=float, default=120.0)
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args()
    before = machine_speed()
    cpu = [engine_cpu(args.cpu_seconds) for _ in range(args.runs)]
    rows = latencies(args.seeds)
    wall, starts = normal_ward(args.nsr_hours)
    text = table(rows, (args.nsr_hours, wall, starts), cpu, (before, machine_speed()))
    return publish(text, args.update_readme, MARK_BEGIN, MARK_END)


if __name__ == "__main__":
    sys.exit(main())
