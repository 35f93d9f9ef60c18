"""Crash safety: a recording process killed with SIGKILL loses at most its last 2 seconds,
and the file opens cleanly afterwards."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.storage.reader import RecordReader
from app.storage.schema import open_database

ROOT = Path(__file__).resolve().parents[2]
LOSS_LIMIT = 2.0  # s


def newest_stored(path: Path) -> float | None:
    """End time of the newest waveform row committed so far (None before the first)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.OperationalError:
        return None
    try:
        row = conn.execute("SELECT MAX(t_start + n / rate) FROM waveforms").fetchone()
    except sqlite3.OperationalError:  # the writer has not created the tables yet
        return None
    finally:
        conn.close()
    return None if row is None or row[0] is None else float(row[0])


# The station (its writer thread commits once a second) and the headless simulation.
COMMANDS = {
    "station": ["--beds", "2", "--quit-after", "120"],
    "simulate": ["simulate", "--beds", "2", "--duration", "120", "--speed", "realtime",
                 "--events", os.devnull],
}  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS)
def test_sigkill_while_writing_loses_at_most_2_s(tmp_path: Path, command: str) -> None:
    db = tmp_path / "record.db"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    args = [sys.executable, str(ROOT / "main.py"), *COMMANDS[command], "--db", str(db)]
    process = subprocess.Popen(args, cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60.0
        while newest_stored(db) is None:  # recording has begun
            assert process.poll() is None, "the recording process ended on its own"
            assert time.monotonic() < deadline, "nothing was recorded within 60 s"
            time.sleep(0.2)
        time.sleep(4.0)  # in the middle of writing
        killed_at = time.time()
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    newest = newest_stored(db)
    assert newest is not None
    # Real-time signal is stamped with the wall clock: what was lost is the time since the
    # newest committed sample.
    assert killed_at - newest <= LOSS_LIMIT
    reopened = open_database(str(db))  # the writer's way in: recovers the WAL and migrates
    reopened.conn.close()
    reader = RecordReader(db)
    try:
        bed = reader.beds()[0]
        start, end = reader.span(bed)
        strip = reader.strip(bed, "ECG_II", end - 3.0, end)
        assert strip.samples.size == 750
        assert start < end
    finally:
        reader.close()
