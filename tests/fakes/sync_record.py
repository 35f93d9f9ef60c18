"""A record with patients, devices and outbox rows, for the sync's tests and benchmark.

Rows are inserted directly, in the producer's payload formats (app.storage.outbox_rows), so
the sync is tested on exactly what it will read.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from app.alarms.log import LogEntry
from app.scores.news2 import score
from app.storage.schema import open_database
from app.sync.alarms import alarm_observation
from app.sync.naming import FhirNaming
from app.sync.resources import Mapped, ObservationContext

MRN_SYSTEM = "urn:oid:1.2.36.146.595.217.0.1"
T0 = 1_790_000_000.0  # a fixed station time (2026-09-21)
VITALS = (("HR", "/min", 72.0), ("PR", "/min", 71.0), ("SPO2", "%", 97.0), ("RR", "/min", 16.0))


@dataclass(frozen=True, slots=True)
class BedRef:
    """A bed, its patient's MRN and its device's serial."""

    bed: str
    mrn: str
    serial: str


def make_record(path: Path) -> Database:
    """A new record at ``path`` (the station's schema, m004 included)."""
    return open_database(str(path))


def add_bed(db: Database, ref: BedRef, *, simulated: bool = False, t: float = T0) -> None:
    """A patient admitted to the bed and a device attached to it."""
    db.table("patients").insert(
        {
            "mrn": ref.mrn,
            "family_name": "Doe",
            "given_name": ref.bed,
            "date_of_birth": "1970-01-02",
            "sex": "female",
            "category": "adult",
        },
        replace=True,
    )
    db.table("devices").insert(
        {
            "serial": ref.serial,
            "kind": "simulator",
            "manufacturer": "Vigil",
            "model": "Sim",
            "simulated": int(simulated),
        },
        replace=True,
    )
    db.table("assignments").insert({"bed": ref.bed, "serial": ref.serial, "attached_at": t - 3600})


def enqueue(db: Database, kind: str, payload: dict[str, Any], created: float = T0) -> int:
    row = {
        "created": created,
        "kind": kind,
        "bed": payload.get("bed"),
        "payload": json.dumps(payload, separators=(",", ":")),
    }
    pk = db.table("outbox").insert(row).last_pk
    if pk is None:
        raise RuntimeError("the outbox row got no id")
    return int(pk)


def vital(ref: BedRef, code: str, value: float | None, unit: str, t: float) -> dict[str, Any]:
    return {
        "bed": ref.bed,
        "mrn": ref.mrn,
        "device": ref.serial,
        "code": code,
        "value": value,
        "unit": unit,
        "t": t,
        "quality": "valid",
    }


def blood_pressure(
    ref: BedRef, t: float, values: tuple[float, ...] = (120, 80, 93)
) -> dict[str, Any]:
    codes = ("NIBP_SYS", "NIBP_DIA", "NIBP_MEAN")
    readings = [
        {"code": c, "value": v, "unit": "mm[Hg]", "t": t, "quality": "valid"}
        for c, v in zip(codes, values, strict=False)
    ]
    return {"bed": ref.bed, "mrn": ref.mrn, "device": ref.serial, "t": t, "readings": readings}


def news2(ref: BedRef, t: float) -> dict[str, Any]:
    result = score(
        resp_rate=16,
        spo2=97,
        on_oxygen=False,
        systolic_bp=120,
        pulse=72,
        consciousness="A",
        temperature=37.1,
    )
    return {"bed": ref.bed, "mrn": ref.mrn, "t": t, "result": asdict(result)}


def alarm(ref: BedRef, t: float, event: str = "start", code: str = "HR_HIGH") -> dict[str, Any]:
    return {
        "bed": ref.bed,
        "mrn": ref.mrn,
        "t": t,
        "event": event,
        "alarm_id": 1,
        "priority": "medium",
        "kind": "physiological",
        "code": code,
        "text": "HR 131 > 130",
        "user": "",
        "detail": "",
        "since": t,
    }


def fill_vitals(db: Database, ref: BedRef, minutes: int, start: float = T0) -> int:
    """HR, PR, SpO2 and RR once a minute for ``minutes``; the number of rows."""
    rows = [
        {
            "created": start + 60 * m,
            "kind": "vital",
            "bed": ref.bed,
            "payload": json.dumps(vital(ref, code, value, unit, start + 60 * m)),
        }
        for m in range(minutes)
        for code, unit, value in VITALS
    ]
    db.table("outbox").insert_all(rows)
    return len(rows)


def fill_hour(db: Database, ref: BedRef, start: float = T0) -> int:
    """What the producer queues for one bed in an hour: HR, PR, SpO2 and RR each minute,
    a temperature every 10 min, an NIBP every 15 min, a NEWS2 and a few alarm events."""
    n = fill_vitals(db, ref, 60, start)
    for m in range(0, 60, 10):
        t = start + 60 * m + 5
        enqueue(db, "vital", vital(ref, "TEMP", 37.1, "Cel", t), t)
    for m in range(0, 60, 15):
        t = start + 60 * m + 20
        enqueue(db, "blood_pressure", blood_pressure(ref, t), t)
    enqueue(db, "news2", news2(ref, start + 1800), start + 1800)
    for i, event in enumerate(("start", "end", "start", "end")):
        t = start + 900 * i + 30
        enqueue(db, "alarm", alarm(ref, t, event), t)
    return n + 6 + 4 + 1 + 4


POISON = "poison"  # an alarm row with this detail becomes a resource every server refuses


def poisoned_alarm_observation(
    entry: LogEntry, ctx: ObservationContext, naming: FhirNaming
) -> Mapped:
    """``alarm_observation``, but an element FHIR does not have when ``detail`` is
    :data:`POISON`: a rejection the mapping cannot foresee (patch it into app.sync.payloads)."""
    mapped = alarm_observation(entry, ctx, naming)
    if entry.detail == POISON:
        mapped.resource["vigilPoison"] = True
    return mapped
