"""The outbox: what the recorder queues for the EHR, in the same transaction as the data."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.model.patient import PatientCategory
from app.storage.outbox_rows import SyncPolicy
from app.storage.recorder import Recorder
from drivers.base import Quality, Reading
from tests.unit.alarm_harness import BED, Harness

MRN = "A12345"  # the harness's patient


@pytest.fixture
def ward(tmp_path: Path) -> Iterator[tuple[Harness, Recorder]]:
    harness = Harness(category=PatientCategory.ADULT)
    policy = SyncPolicy(vitals_every=60.0)
    recorder = Recorder(harness.station, tmp_path / "record.db", harness.engine,
                        clock=lambda: harness.at(0), sync_policy=policy)  # fmt: skip
    recorder.attach()
    yield harness, recorder
    recorder.stop()
    harness.close()


def queued(recorder: Recorder) -> list[tuple[str, str | None, dict[str, Any]]]:
    db = sqlite3.connect(recorder.path)
    try:
        rows = db.execute("SELECT kind, bed, payload FROM outbox ORDER BY id").fetchall()
        assert all(r[0] for r in db.execute("SELECT sent_at IS NULL AND dead_at IS NULL "
                                            "AND attempts = 0 FROM outbox"))  # fmt: skip
    finally:
        db.close()
    return [(kind, bed, json.loads(payload)) for kind, bed, payload in rows]


def test_one_vital_per_parameter_per_interval_and_every_temperature(
    ward: tuple[Harness, Recorder],
) -> None:
    harness, recorder = ward
    for t, value in ((1.0, 97.0), (2.0, 96.0), (61.5, 95.0)):
        harness.reading("SPO2", value, t)
    harness.reading("TEMP", 37.1, 3.0)
    harness.reading("TEMP", 37.2, 4.0)
    harness.reading("SPO2", 80.0, 62.0, Quality.QUESTIONABLE)  # not charted: not VALID
    recorder.step()
    vitals = sorted(((p["code"], p["value"], round(p["t"] - harness.t0, 3))
                     for kind, _, p in queued(recorder) if kind == "vital"),
                    key=lambda v: v[2])  # fmt: skip
    assert vitals == [("SPO2", 97.0, 1.0), ("TEMP", 37.1, 3.0), ("TEMP", 37.2, 4.0),
                      ("SPO2", 95.0, 61.5)]  # fmt: skip
    first = queued(recorder)[0]
    assert first[1] == BED
    expected = {"bed": BED, "mrn": MRN, "device": "MON-1", "code": "SPO2", "value": 97.0,
                "unit": "%", "t": harness.at(1.0), "quality": "valid"}  # fmt: skip
    assert first[2] == expected


def test_an_nibp_measurement_is_one_panel(ward: tuple[Harness, Recorder]) -> None:
    harness, recorder = ward
    t = harness.at(5)
    harness.monitor.push_readings(
        Reading("NIBP_SYS", 120.0, "mm[Hg]", t, Quality.VALID),
        Reading("NIBP_DIA", 80.0, "mm[Hg]", t, Quality.VALID),
        Reading("NIBP_MEAN", 93.0, "mm[Hg]", t, Quality.VALID),
    )
    recorder.step()
    panels = [p for kind, _, p in queued(recorder) if kind == "blood_pressure"]
    assert len(panels) == 1
    assert panels[0]["t"] == t
    assert [(r["code"], r["value"]) for r in panels[0]["readings"]] == [
        ("NIBP_SYS", 120.0), ("NIBP_DIA", 80.0), ("NIBP_MEAN", 93.0)
    ]  # fmt: skip
    assert not [kind for kind, _, _ in queued(recorder) if kind == "vital"]


def test_alarms_are_queued_with_the_patient(ward: tuple[Harness, Recorder]) -> None:
    harness, recorder = ward
    harness.run(0.0, 20.0, values={"SPO2": 84.0})  # below the adult limit for > 10 s
    harness.engine.acknowledge_all("RN Test")
    harness.run(20.25, 21.0)
    recorder.step()
    alarms = [p for kind, _, p in queued(recorder) if kind == "alarm"]
    starts = [p for p in alarms if p["event"] == "start"]
    assert [p["code"] for p in starts] == ["SPO2_LOW"]
    assert starts[0]["mrn"] == MRN
    assert starts[0]["priority"] == "medium"
    assert not [p for p in alarms if p["event"] == "ack"]  # operator actions stay local


def test_nothing_is_queued_for_a_bed_without_a_patient(ward: tuple[Harness, Recorder]) -> None:
    harness, recorder = ward
    harness.station.ward.discharge(BED)
    harness.reading("SPO2", 97.0, 1.0)
    recorder.step()
    assert queued(recorder) == []
    db = sqlite3.connect(recorder.path)
    try:  # the record keeps the reading all the same
        assert db.execute("SELECT value FROM numerics WHERE code = 'SPO2'").fetchall() == [(97.0,)]
    finally:
        db.close()


def test_a_new_complete_news2_score_is_queued_once(ward: tuple[Harness, Recorder]) -> None:
    harness, recorder = ward
    values = {"RR": 16.0, "SPO2": 97.0, "HR": 70.0, "TEMP": 37.0}
    harness.monitor.push_readings(Reading("NIBP_SYS", 120.0, "mm[Hg]", harness.at(0),
                                          Quality.VALID))  # fmt: skip
    harness.engine.set_observation(BED, "A", on_oxygen=False, spo2_scale=1, user="RN Test",
                                   at=harness.at(0))  # fmt: skip
    harness.run(0.0, 5.0, values=values)
    recorder.step()
    harness.run(5.25, 8.0, values=values)
    recorder.step()  # the same score: not queued again
    scores = [p for kind, _, p in queued(recorder) if kind == "news2"]
    assert len(scores) == 1
    assert scores[0]["mrn"] == MRN
    assert scores[0]["result"]["total"] == 0
    assert scores[0]["result"]["risk"] == "low"


def test_only_charted_vital_signs_are_queued(ward: tuple[Harness, Recorder]) -> None:
    harness, recorder = ward
    for code, value in (("SPO2", 97.0), ("PVC", 3.0), ("ECG_SQI", 0.9), ("HR", 70.0)):
        harness.reading(code, value, 1.0)
    harness.monitor.push_readings(Reading("BATTERY", 80.0, "%", harness.at(1), Quality.VALID))
    recorder.step()
    assert sorted(p["code"] for kind, _, p in queued(recorder) if kind == "vital") == [
        "HR", "SPO2"
    ]  # fmt: skip
