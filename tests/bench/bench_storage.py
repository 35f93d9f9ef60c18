"""Benchmark: what recording costs, how big the record grows, and how fast it reads back.

- Write cost: a 32-bed ward (ECG 500 Hz, pleth 125 Hz, respiration 62.5 Hz, with Vigil's
  analysis and the alarm engine) run headless for ``--seconds`` of signal, recorded by the
  real ``Recorder``; the thread CPU time spent in ``Recorder.step`` per second of signal, as
  a share of one core.
- Size: waveform bytes per bed per second from that run (headless rows are 10-s blocks) and
  from live-sized 1-s blocks, projected to 96 h.
- Reads: a record holding 96 h × 32 beds, made by copying the recorded minute of every bed
  (waveforms, readings, trends) back along the time axis, oldest first (running the
  simulator for 3,072 bed-hours is not possible here; the rows, blocks, indexes and their
  interleaving in the file are those of a real run). Random 10-s strips of one
  channel, and 24-h trends, each read on a fresh reader connection.

    python -m tests.bench.bench_storage [--seconds 60] [--hours 96] [--update-readme]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from app.demo_ward import SimConfig, build_simulated_station
from app.simulate import OrderedEventWriter, run_headless
from app.storage.codec import encode_block
from app.storage.reader import RecordReader
from app.storage.recorder import Recorder
from app.storage.schema import open_database
from tests.bench.bench_station import machine_speed, publish

MARK_BEGIN = "<!-- bench:storage -->"
MARK_END = "<!-- /bench:storage -->"
BEDS = 32
HOURS_96 = 96 * 3600


class TimedRecorder(Recorder):
    """The real recorder, counting (for the class: the run makes one) the thread CPU time
    its steps take, the final one too."""

    spent = 0.0

    def step(self, final: bool = False) -> None:
        begin = time.thread_time()
        try:
            super().step(final)
        finally:
            TimedRecorder.spent += time.thread_time() - begin


def record_ward(path: Path, seconds: float) -> tuple[float, float]:
    """(CPU % of one core spent recording, seconds of signal recorded) for 32 beds."""
    epoch = time.time()
    config = SimConfig(beds=BEDS, speed=None, duration=seconds, ecg_rate=500)
    station = build_simulated_station(config, epoch=epoch)
    TimedRecorder.spent = 0.0
    with open(os.devnull, "w", encoding="utf-8") as sink:
        run_headless(station, OrderedEventWriter(sink, epoch), epoch, path,
                     recorder_type=TimedRecorder)  # fmt: skip
    return 100.0 * TimedRecorder.spent / seconds, seconds


def sizes(path: Path, seconds: float) -> dict[str, float]:
    """Waveform bytes per bed per second: as recorded, and re-encoded in 1-s blocks."""
    reader = RecordReader(path)
    conn = sqlite3.connect(path)
    try:
        stored = conn.execute("SELECT SUM(LENGTH(data)) FROM waveforms").fetchone()[0]
        one_second = 0
        for bed in reader.beds():
            for channel in reader.channels(bed):
                start, end = reader.span(bed)
                strip = reader.strip(bed, channel, start, end)
                gain = conn.execute(
                    "SELECT gain FROM waveforms WHERE bed = ? AND channel = ? LIMIT 1",
                    [bed, channel],
                ).fetchone()[0]
                step = round(strip.rate)
                for i in range(0, strip.samples.size, step):
                    one_second += len(encode_block(strip.samples[i : i + step], gain).data)
    finally:
        conn.close()
        reader.close()
    per = BEDS * seconds
    return {
        "recorded": stored / per,
        "one_second_blocks": one_second / per,
    }


def fill(source: Path, target: Path, hours: float) -> None:
    """``target``: the recorded stretch of every bed (waveforms, numeric readings and trend
    minutes) copied back in time to cover ``hours``, written oldest first as the recorder
    would have written them, so that each table's pages interleave in the file as in a
    real run."""
    src = sqlite3.connect(source)
    waves = src.execute(
        "SELECT bed, device, channel, t_start, rate, gain, offset, n, data FROM waveforms"
    ).fetchall()
    series = src.execute("SELECT id, bed, device, code, unit FROM series").fetchall()
    readings = src.execute("SELECT series, t, value, quality, message FROM readings").fetchall()
    trend_rows = src.execute(
        "SELECT bed, code, minute, n, median, mean, min, max FROM trends"
    ).fetchall()
    src.close()
    t0 = min(w[3] for w in waves)
    span = max(w[3] + w[7] / w[4] for w in waves) - t0
    # The recorded minute with the most parameters (the first may have started mid-way).
    whole = max({t[2] for t in trend_rows}, key=lambda m: sum(t[2] == m for t in trend_rows))
    one_minute = [t for t in trend_rows if t[2] == whole]
    open_database(str(target)).conn.close()  # the schema, the writer's way
    dst = sqlite3.connect(target)
    dst.execute("PRAGMA synchronous=OFF")  # a scratch file, filled once
    dst.executemany("INSERT INTO series VALUES (?, ?, ?, ?, ?)", series)
    copies = int(hours * 3600 / span)
    for k in range(copies, 0, -1):
        shift = -k * span
        dst.executemany(
            "INSERT INTO waveforms (bed, device, channel, t_start, rate, gain, offset, n, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(w[0], w[1], w[2], w[3] + shift, *w[4:]) for w in waves],
        )
        dst.executemany("INSERT OR REPLACE INTO readings VALUES (?, ?, ?, ?, ?)",
                        [(r[0], r[1] + shift, *r[2:]) for r in readings])  # fmt: skip
        minutes = range(math.ceil((t0 + shift) / 60), math.ceil((t0 + shift + span) / 60))
        dst.executemany(
            "INSERT OR REPLACE INTO trends VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(t[0], t[1], m, *t[3:]) for m in minutes for t in one_minute],
        )
        if k % 100 == 0:
            dst.commit()
    dst.commit()
    dst.close()


def reads(path: Path, hours: float, samples: int) -> dict[str, list[float]]:
    conn = sqlite3.connect(path)
    end = conn.execute("SELECT MAX(t_start) FROM waveforms").fetchone()[0]
    beds = [r[0] for r in conn.execute("SELECT DISTINCT bed FROM waveforms")]
    conn.close()
    start = end - hours * 3600 + 60
    rng = random.Random(7)
    strip_ms, trend_ms = [], []
    begin = time.perf_counter()
    reader = RecordReader(path)  # as a review window holds one; every read is a new place
    opened_ms = 1000 * (time.perf_counter() - begin)
    for _ in range(samples):
        bed = rng.choice(beds)
        t = rng.uniform(start, end - 10)
        begin = time.perf_counter()
        strip = reader.strip(bed, "ECG_II", t, t + 10)
        strip_ms.append(1000 * (time.perf_counter() - begin))
        if strip.samples.size != 10 * round(strip.rate):
            raise RuntimeError(f"a 10-s strip of {strip.samples.size} samples")
        window = min(86400.0, hours * 3600 - 120)
        t = rng.uniform(start, end - window)
        begin = time.perf_counter()
        points = reader.trend(bed, "HR", t, t + window)
        trend_ms.append(1000 * (time.perf_counter() - begin))
        if len(points) < window / 60 * 0.9:
            raise RuntimeError(f"a {window / 3600:g}-h trend of {len(points)} minutes")
    reader.close()
    return {"strip": strip_ms, "trend": trend_ms, "open": [opened_ms]}


def table(
    cpu: float,
    size: dict[str, float],
    read: dict[str, list[float]],
    *,
    hours: float,
    file_gb: float,
    speed: tuple[float, float],
) -> str:
    mb96 = {k: v * HOURS_96 / 1e6 for k, v in size.items()}
    strip, trend = read["strip"], read["trend"]
    return "\n".join([
        f"Measured {time.strftime('%Y-%m-%d')}; machine yardstick {speed[0]:.0f} ms before, "
        f"{speed[1]:.0f} ms after.",
        "",
        "| what | measured | target |",
        "|---|---:|---|",
        f"| recording 32 beds (ECG 500 Hz, pleth 125 Hz, resp 62.5 Hz, numerics, events, alarm "
        f"log, outbox), CPU | {cpu:.2f} % of one core | ≤ 3 % |",
        f"| waveforms per bed per 96 h, 1-s blocks (what the live recorder writes) | "
        f"{mb96['one_second_blocks']:.0f} MB | ≤ 200 MB (raw int16 475 MB) |",
        f"| waveforms per bed per 96 h, 10-s blocks (headless rows) | "
        f"{mb96['recorded']:.0f} MB | |",
        f"| whole file per bed per 96 h: 10-s blocks, numeric readings, trends and indexes "
        f"(the {hours:g}-h file below) | {file_gb * 1e3 / BEDS * HOURS_96 / (hours * 3600):.0f}"
        " MB | |",
        f"| 10-s ECG strip from {hours:g} h × 32 beds ({file_gb:.1f} GB), "
        f"{len(strip)} random reads, in order | {_spread(strip)} | ≤ 20 ms |",
        f"| 24-h HR trend, same file, same reads | {_spread(trend)} | ≤ 100 ms |",
        f"| opening the reader (once per review window) | {read['open'][0]:.1f} ms | |",
    ])  # fmt: skip


def _spread(ms: list[float]) -> str:
    """Median, 99th percentile and worst, and which read was the worst (the first reads
    find the file's pages on disk, later ones partly in the page cache)."""
    worst = max(range(len(ms)), key=ms.__getitem__)
    p99 = float(np.percentile(ms, 99))
    return (f"median {statistics.median(ms):.1f} ms, 99th pct {p99:.1f} ms, worst "
            f"{ms[worst]:.1f} ms (read {worst + 1})")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--hours", type=float, default=96.0)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args()
    before = machine_speed()
    with tempfile.TemporaryDirectory() as tmp:
        recorded = Path(tmp) / "minute.db"
        cpu, seconds = record_ward(recorded, args.seconds)
        size = sizes(recorded, seconds)
        big = Path(tmp) / "ward-96h.db"
        fill(recorded, big, args.hours)
        file_gb = big.stat().st_size / 1e9
        read = reads(big, args.hours, args.reads)
    text = table(cpu, size, read, hours=args.hours, file_gb=file_gb,
                 speed=(before, machine_speed()))  # fmt: skip
    return publish(text, args.update_readme, MARK_BEGIN, MARK_END)


if __name__ == "__main__":
    sys.exit(main())
