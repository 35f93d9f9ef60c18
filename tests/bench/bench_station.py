"""Benchmark: the real station, headless at 1920×1080, with 8, 16, 32 and 64 simulated beds.

Each size runs several times as a separate process (``main.py --stats``); the figures are
the medians of each run's steady state (its first 5 s of start-up left out): frames per
second, and process CPU time (all threads: drivers, GUI, painting) per second of wall time.

    python -m tests.bench.bench_station [--beds 8 16 32 64] [--runs 3] [--seconds 25]
                                        [--update-readme]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MARK_BEGIN = "<!-- bench:station -->"
MARK_END = "<!-- /bench:station -->"


def machine_speed() -> float:
    """CPU milliseconds to simulate 60 s of one bed: a yardstick for how fast this machine
    is right now (shared machines drift; a slow moment shows up here too)."""
    from drivers.sim import STEP, BedSimulator, get_scenario

    timings = []
    for _ in range(3):
        sim = BedSimulator(get_scenario("normal"), 1)
        start = time.process_time()
        for _ in range(round(60 / STEP)):
            sim.step()
        timings.append(1000 * (time.process_time() - start))
    return statistics.median(timings)


def run_once(beds: int, seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        stats = Path(tmp) / "stats.json"
        command = [
            sys.executable, "main.py", "--beds", str(beds), "--size", "1920x1080",
            "--quit-after", str(seconds), "--stats", str(stats),
        ]  # fmt: skip
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
        subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=seconds + 60)
        data: dict[str, Any] = json.loads(stats.read_text())
    return data


def measure(beds: int, runs: int, seconds: float) -> dict[str, Any]:
    results = [run_once(beds, seconds) for _ in range(runs)]
    steady = [r["steady"] for r in results]
    return {
        "beds": beds,
        "visible_tiles": results[0]["visible_beds"],
        "fps": statistics.median(s["fps"] for s in steady),
        "cpu_per_wall": statistics.median(s["cpu_per_wall"] for s in steady),
        "gui_thread_cpu_per_wall": statistics.median(s["main_thread_cpu_per_wall"] for s in steady),
        "fps_runs": [s["fps"] for s in steady],
        "cpu_runs": [s["cpu_per_wall"] for s in steady],
        "samples_dropped": sum(r["samples_dropped"] for r in results),
    }


def table(rows: list[dict[str, Any]], runs: int, seconds: float, speed: tuple[float, float]) -> str:
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} with {os.cpu_count()} "
        f"cores, Python {platform.python_version()}; {runs} runs of {seconds:g} s per size, "
        "medians of the steady state. CPU is process CPU time (all threads) per second of wall "
        "time; 1.0 is one core. Machine yardstick (CPU ms to simulate 60 s of one bed, lower "
        f"is faster): {speed[0]:.0f} before, {speed[1]:.0f} after.",
        "",
        "| beds | tiles drawn | fps | CPU (cores) | of which GUI thread | fps per run | "
        "CPU per run | samples dropped |",
        "|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['beds']} | {r['visible_tiles']} | {r['fps']:.1f} | {r['cpu_per_wall']:.2f} | "
            f"{r['gui_thread_cpu_per_wall']:.2f} | "
            f"{', '.join(f'{v:.1f}' for v in r['fps_runs'])} | "
            f"{', '.join(f'{v:.2f}' for v in r['cpu_runs'])} | {r['samples_dropped']} |"
        )
    return "\n".join(lines)


def update_readme(text: str, begin: str = MARK_BEGIN, end: str = MARK_END) -> None:
    """Replace the README's block between the two markers (or append one)."""
    readme = ROOT / "README.md"
    content = readme.read_text(encoding="utf-8")
    block = f"{begin}\n{text}\n{end}"
    if begin in content:
        head, rest = content.split(begin, 1)
        content = head + block + rest.split(end, 1)[1]
    else:
        content = content.rstrip("\n") + "\n\n" + block + "\n"
    readme.write_text(content, encoding="utf-8")


def publish(text: str, to_readme: bool, begin: str = MARK_BEGIN, end: str = MARK_END) -> int:
    """Print a benchmark's table and, when asked, put it in the README; the exit code."""
    sys.stdout.write(text + "\n")
    if to_readme:
        update_readme(text, begin, end)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beds", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=25.0)
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args()
    before = machine_speed()
    rows = [measure(n, args.runs, args.seconds) for n in args.beds]
    text = table(rows, args.runs, args.seconds, (before, machine_speed()))
    sys.stdout.write(text + "\n")
    sys.stdout.write(json.dumps(rows) + "\n")
    if args.update_readme:
        update_readme(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
