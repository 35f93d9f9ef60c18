"""The record: migrations, what the recorder writes and the reader reads back (waveforms
bit-exact after scaling, gaps as gaps), retention, and a failing write raising an alarm."""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.alarms.engine import STATION
from app.storage.reader import RecordError, RecordReader, Trend
from app.storage.recorder import Recorder
from app.storage.retention import Retention
from app.storage.review import trend_series
from app.storage.schema import QUALITIES, SchemaError, known_version, open_database
from drivers.base import Quality, Reading
from tests.fakes.fake_driver import ECG, FakeDriver
from tests.unit.alarm_harness import BED, Harness, patient


def recording(tmp_path: Path, retention: Retention | None = None) -> tuple[Harness, Recorder]:
    """A one-bed station with a waveform monitor, recorded into a fresh file."""
    harness = Harness(monitor=FakeDriver("WAVE-1"))
    recorder = Recorder(harness.station, tmp_path / "record.db", harness.engine, retention,
                        clock=lambda: harness.at(0))  # fmt: skip
    recorder.attach()
    return harness, recorder


@pytest.fixture
def ward(tmp_path: Path) -> Iterator[tuple[Harness, Recorder]]:
    harness, recorder = recording(tmp_path)
    yield harness, recorder
    recorder.stop()
    harness.close()


def failure_of(recorder: Recorder) -> str | None:
    """The recorder's failure, read afresh (not narrowed by an earlier assert)."""
    return recorder.failure


def scaled(x: np.ndarray, gain: float) -> np.ndarray:
    """What the record keeps of a physical value: its count at ``gain``, as float32."""
    return (np.round(x.astype(np.float64) * gain) / gain).astype(np.float32)


def test_an_empty_file_is_migrated_and_reopens(tmp_path: Path) -> None:
    path = str(tmp_path / "new.db")
    db = open_database(path)
    tables = set(db.table_names())
    assert {"patients", "admissions", "devices", "assignments", "series", "readings",
            "qualities", "trends", "waveforms", "alarm_log", "events",
            "outbox", "wearables"} <= tables  # fmt: skip
    assert db.view_names() == ["numerics"]
    assert db.execute("PRAGMA user_version").fetchone()[0] == known_version() == 5
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.conn.close()
    again = open_database(path)  # nothing left to apply: opens as it is
    assert again.execute("PRAGMA user_version").fetchone()[0] == 5
    again.conn.close()


def test_a_file_of_the_previous_version_is_migrated_keeping_its_data(tmp_path: Path) -> None:
    path = str(tmp_path / "v1.db")
    old = open_database(path, stop_before="m002_trends_clustered")
    assert old.execute("PRAGMA user_version").fetchone()[0] == 1
    row = {"bed": "Bed 01", "code": "HR", "minute": 29_000_000, "n": 60, "median": 72.0,
           "mean": 72.4, "min": 70.0, "max": 75.0}  # fmt: skip
    old.table("trends").insert(row)
    old.conn.commit()
    old.conn.close()
    new = open_database(path)
    try:
        assert new.execute("PRAGMA user_version").fetchone()[0] == 5
        assert list(new.query("SELECT * FROM trends")) == [row]
        ddl = new.execute("SELECT sql FROM sqlite_master WHERE name = 'trends'").fetchone()[0]
        assert "WITHOUT ROWID" in ddl
    finally:
        new.conn.close()


def test_numerics_of_the_previous_version_move_into_series_and_readings(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "v2.db")
    old = open_database(path, stop_before="m003_numerics_by_series")
    assert old.execute("PRAGMA user_version").fetchone()[0] == 2
    base: dict[str, Any] = {"bed": "Bed 01", "device": "MON-1", "unit": "%", "message": ""}
    rows: list[dict[str, Any]] = [
        base | {"t": 10.0, "code": "SPO2", "value": 97.0, "quality": "valid"},
        base | {"t": 11.0, "code": "SPO2", "value": None, "quality": "unavailable",
                "message": "probe off"},
        base | {"t": 10.0, "code": "PR", "unit": "/min", "value": 71.0, "quality": "valid"},
        base | {"t": 12.0, "bed": "Bed 02", "code": "SPO2", "value": 93.0,
                "quality": "questionable"},
    ]  # fmt: skip
    old.table("numerics").insert_all(rows)
    old.conn.commit()
    old.conn.close()
    new = open_database(path)
    try:
        columns = "t, bed, device, code, value, unit, quality, message"
        back = list(new.query(f"SELECT {columns} FROM numerics ORDER BY bed, t, code"))
        expected = sorted(rows, key=lambda r: (r["bed"], r["t"], r["code"]))
        assert back == [{k: r[k] for k in columns.split(", ")} for r in expected]
        assert new.execute("SELECT COUNT(*) FROM series").fetchone()[0] == 3
    finally:
        new.conn.close()


def test_outbox_rows_of_the_previous_version_stay_pending(tmp_path: Path) -> None:
    path = str(tmp_path / "v3.db")
    old = open_database(path, stop_before="m004_outbox_delivery")
    old.table("outbox").insert({"created": 1.0, "kind": "vital", "payload": "{}"})
    old.conn.commit()
    old.conn.close()
    new = open_database(path)
    try:
        row = new.execute("SELECT kind, attempts, sent_at, dead_at, bed FROM outbox").fetchall()
        assert row == [("vital", 0, None, None, None)]
        plan = new.execute("EXPLAIN QUERY PLAN SELECT id FROM outbox WHERE sent_at IS NULL "
                           "AND dead_at IS NULL ORDER BY id LIMIT 8").fetchall()  # fmt: skip
        assert "idx_outbox_pending" in str(plan)
    finally:
        new.conn.close()


def test_a_version_4_file_gains_an_empty_allow_list_and_keeps_its_rows(tmp_path: Path) -> None:
    path = str(tmp_path / "v4.db")
    old = open_database(path, stop_before="m005_wearables")
    assert "wearables" not in old.table_names()
    old.table("outbox").insert({"created": 1.0, "kind": "vital", "payload": "{}"})
    old.conn.commit()
    old.conn.close()
    new = open_database(path)
    try:
        assert new.execute("SELECT COUNT(*) FROM wearables").fetchone()[0] == 0
        assert new.execute("SELECT kind FROM outbox").fetchall() == [("vital",)]
    finally:
        new.conn.close()


def test_every_reading_quality_has_a_stored_number() -> None:
    assert {q.value for q in Quality} <= set(QUALITIES)


def test_a_file_from_a_newer_vigil_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 7")
    conn.close()
    with pytest.raises(SchemaError, match="written by a newer Vigil"):
        open_database(str(path))


def test_waveforms_round_trip_bit_exact_with_gaps(ward: tuple[Harness, Recorder]) -> None:
    harness, recorder = ward
    rng = np.random.default_rng(3)
    first = rng.normal(0, 0.5, 500).astype(np.float32)
    second = rng.normal(0, 0.5, 250).astype(np.float32)
    harness.monitor.push_samples("ECG_II", first, harness.at(0))
    harness.monitor.push_samples("ECG_II", second, harness.at(3))  # 1 s missing at 2-3 s
    recorder.step()
    reader = RecordReader(recorder.path)
    try:
        strip = reader.strip(BED, "ECG_II", harness.at(0), harness.at(4))
        assert np.array_equal(strip.samples[:500], scaled(first, ECG.gain))
        assert np.isnan(strip.samples[500:750]).all()  # the dropout stays a gap
        assert np.array_equal(strip.samples[750:1000], scaled(second, ECG.gain))
        assert strip.rate == ECG.sample_rate
        with pytest.raises(RecordError, match="nothing recorded"):
            reader.strip(BED, "ECG_II", harness.at(100), harness.at(110))
    finally:
        reader.close()


def test_numerics_events_and_the_alarm_log_are_stored(ward: tuple[Harness, Recorder]) -> None:
    harness, recorder = ward
    harness.monitor.push_readings(Reading("SPO2", 97.0, "%", harness.at(1), Quality.VALID))
    harness.monitor.push_condition("ECG_LEAD_OFF", True, harness.at(2))
    harness.tick(2.0)  # the engine raises the lead-off alarm
    recorder.step()
    db = sqlite3.connect(recorder.path)
    try:
        assert db.execute("SELECT code, value, quality FROM numerics").fetchall() == [
            ("SPO2", 97.0, "valid")
        ]
        events = db.execute("SELECT kind, name, active FROM events ORDER BY t").fetchall()
        assert ("condition", "ECG_LEAD_OFF", 1) in events
        log = db.execute("SELECT event, code, priority FROM alarm_log").fetchall()
        assert ("start", "ECG_LEAD_OFF", "medium") in log
    finally:
        db.close()


def test_admissions_and_discharges_are_recorded(ward: tuple[Harness, Recorder]) -> None:
    harness, recorder = ward
    harness.station.ward.admit(BED, patient("B77777"))
    harness.station.ward.discharge(BED)
    recorder.step()
    db = sqlite3.connect(recorder.path)
    try:
        rows = db.execute("SELECT bed, mrn, discharged_at IS NOT NULL FROM admissions").fetchall()
        assert rows == [(BED, "B77777", 1)]
        assert db.execute("SELECT mrn, category FROM patients").fetchall() == [("B77777", "adult")]
    finally:
        db.close()


def test_retention_prunes_what_is_older_than_its_limit(tmp_path: Path) -> None:
    harness, recorder = recording(tmp_path, Retention(full_disclosure=1800.0))
    try:
        for t in (0.0, 3600.0):
            reading = Reading("SPO2", 97.0, "%", harness.at(t), Quality.VALID)
            harness.monitor.push_readings(reading)
            harness.monitor.push_samples("ECG_II", np.zeros(250, np.float32), harness.at(t))
            recorder.step()
        deleted = recorder.prune(harness.at(3700.0))
        assert deleted["waveforms"] == 1
        assert deleted["numerics"] == 1
        db = sqlite3.connect(recorder.path)
        try:
            assert db.execute("SELECT COUNT(*) FROM waveforms").fetchone()[0] == 1
        finally:
            db.close()
    finally:
        recorder.stop()
        harness.close()


def test_a_failing_write_raises_a_technical_alarm(ward: tuple[Harness, Recorder]) -> None:
    harness, recorder = ward
    other = sqlite3.connect(recorder.path)  # every write of a reading now fails, as on a bad disk
    other.execute(
        "CREATE TRIGGER broken BEFORE INSERT ON readings "
        "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
    )
    other.commit()
    other.close()
    harness.monitor.push_readings(Reading("SPO2", 97.0, "%", harness.at(1), Quality.VALID))
    harness.monitor.push_samples("ECG_II", np.zeros(250, np.float32), harness.at(1))
    recorder.step()
    assert recorder.failure is not None
    assert "250 samples not written" in recorder.failure
    snapshot = harness.tick(2.0)
    failure = [a for a in snapshot.alarms if a.code == "STORAGE_FAILURE"]
    assert len(failure) == 1
    assert failure[0].bed == STATION
    assert failure[0].text.startswith("STORAGE FAILURE: disk I/O error")
    # All or nothing: the waveform of the failed transaction is not half-written.
    db = sqlite3.connect(recorder.path)
    try:
        assert db.execute("SELECT COUNT(*) FROM waveforms").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM series").fetchone()[0] == 0
        db.execute("DROP TRIGGER broken")  # the disk recovers
        db.commit()
    finally:
        db.close()
    # The series made in the rolled-back transaction is made again, not assumed to exist.
    harness.monitor.push_readings(Reading("SPO2", 96.0, "%", harness.at(2), Quality.VALID))
    recorder.step()
    assert failure_of(recorder) is None
    db = sqlite3.connect(recorder.path)
    try:
        assert db.execute("SELECT code, value FROM numerics").fetchall() == [("SPO2", 96.0)]
    finally:
        db.close()


def test_a_disk_running_out_of_room_raises_an_alarm_before_writes_fail(
    ward: tuple[Harness, Recorder], monkeypatch: pytest.MonkeyPatch
) -> None:
    harness, recorder = ward
    usage = shutil.disk_usage(recorder.path.parent)
    low = type(usage)(usage.total, usage.total - 100_000_000, 100_000_000)
    monkeypatch.setattr("app.storage.recorder.shutil.disk_usage", lambda _path: low)
    recorder.step()
    snapshot = harness.tick(1.0)
    alarms = [a for a in snapshot.alarms if a.code == "STORAGE_LOW"]
    assert [a.text for a in alarms] == ["STORAGE LOW: 100 MB free for the record"]


def test_the_writer_thread_commits_every_second_and_stops(tmp_path: Path) -> None:
    harness, recorder = recording(tmp_path)
    try:
        recorder.start()
        harness.monitor.push_samples("ECG_II", np.ones(250, np.float32), harness.at(0))
        deadline = time.monotonic() + 5.0
        while recorder.samples_written < 250 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert recorder.samples_written == 250
    finally:
        assert recorder.stop()
        harness.close()


def test_a_trend_series_breaks_at_missing_minutes_and_marks_lone_ones() -> None:
    rows = [(m, 60, 70.0 + m, 70.0 + m, 69.0 + m, 71.0 + m) for m in (10, 11, 12, 15, 20, 21)]
    series = trend_series(Trend.from_rows(rows))
    # A NaN before minute 15 and before minute 20: three runs drawn apart.
    assert np.isnan(series.x[[3, 5]]).all()
    assert list(series.x[~np.isnan(series.x)]) == [m * 60 + 30 for m in (10, 11, 12, 15, 20, 21)]
    assert list(series.median[:3]) == [80.0, 81.0, 82.0]
    assert list(series.isolated) == [15 * 60 + 30]  # no neighbour: no line can show it
    assert trend_series(Trend.from_rows([])).empty
    lone = trend_series(Trend.from_rows(rows[3:4]))
    assert list(lone.isolated) == [15 * 60 + 30]
