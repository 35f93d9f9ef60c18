"""Run statistics: wall time, process CPU (all threads), frames and samples, as JSON.

A run can be marked once it has warmed up; the report then also gives the steady state from
the mark to the end, which is what a benchmark should quote (start-up builds every view).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.station import Station


@dataclass(frozen=True, slots=True)
class _Reading:
    wall: float
    cpu: float
    thread_cpu: float  # of the thread that reads the meter (the GUI thread in the station)
    frames: int


def _now(frames: int) -> _Reading:
    return _Reading(time.monotonic(), time.process_time(), time.thread_time(), frames)


class RunMeter:
    def __init__(self) -> None:
        self._start = _now(0)
        self._mark: _Reading | None = None

    def mark(self, frames: int = 0) -> None:
        """Start of the steady-state window."""
        self._mark = _now(frames)

    def report(self, station: Station, frames: int = 0, **extra: Any) -> dict[str, Any]:
        end = _now(frames)
        report = {
            "beds": len(station.ward.beds),
            **_window(self._start, end),
            "samples_received": station.samples_received,
            "samples_dropped": station.samples_dropped,
            "samples_missing": station.samples_missing,
            "clock_slips": station.clock_slips,
            **extra,
        }
        if self._mark is not None:
            report["steady"] = _window(self._mark, end)
        return report


def _window(a: _Reading, b: _Reading) -> dict[str, Any]:
    wall, cpu, frames = b.wall - a.wall, b.cpu - a.cpu, b.frames - a.frames
    return {
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "cpu_per_wall": round(cpu / wall, 4) if wall > 0 else None,
        "main_thread_cpu_per_wall": round((b.thread_cpu - a.thread_cpu) / wall, 4)
        if wall > 0
        else None,
        "frames": frames,
        "fps": round(frames / wall, 2) if wall > 0 else 0.0,
    }


def write_stats(path: Path, stats: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)  # never a half-written file
