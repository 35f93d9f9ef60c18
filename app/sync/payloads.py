"""Outbox rows as the resources they become, with the Patient and Device they refer to.

The payload formats are the producer's (app.storage): ``vital``, ``blood_pressure``,
``news2`` and ``alarm`` (see :func:`prepare`). Patients and devices are read from the
record's ``patients`` and ``devices`` tables. A row that cannot become a valid resource (an
unknown code, a unit FHIR does not take, a patient missing from the record) raises
:class:`NotSendableError`: no server could accept it, so it goes to the dead-letter list at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from app.alarms.log import LogEntry
from app.alarms.priority import AlarmKind, Priority
from app.model.patient import Patient, PatientCategory, Sex
from app.scores.news2 import News2Result
from app.sync.alarms import alarm_observation
from app.sync.naming import FhirNaming
from app.sync.outbox import Outbox, OutboxRow
from app.sync.resources import (
    Mapped,
    ObservationContext,
    blood_pressure_observation,
    device_resource,
    local_reference,
    news2_observation,
    patient_resource,
    vital_observation,
)
from drivers.base import DeviceInfo, Quality, Reading

KINDS = ("vital", "blood_pressure", "news2", "alarm")


class NotSendableError(ValueError):
    """The row cannot become a resource; the message says why."""


@dataclass(frozen=True, slots=True)
class Item:
    """One row's resource and the context entries (Patient, Device) its bundle must hold."""

    row: OutboxRow
    mapped: Mapped
    context: tuple[Mapped, ...]

    @property
    def group(self) -> tuple[str, ...]:
        """Items with the same group share their context, hence their bundles."""
        return tuple(m.full_url for m in self.context)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.mapped.resource_type, *self.mapped.identifier)


class RecordLookup:
    """Patients and devices of the record, each read once per round."""

    def __init__(self, outbox: Outbox, naming: FhirNaming) -> None:
        self._outbox = outbox
        self._naming = naming
        self._patients: dict[str, Mapped] = {}
        self._devices: dict[str, tuple[Mapped, bool]] = {}

    def patient(self, mrn: str) -> Mapped:
        if mrn not in self._patients:
            found = self._outbox.query(
                "SELECT family_name, given_name, date_of_birth, sex, category FROM patients "
                "WHERE mrn = ?",
                (mrn,),
            )
            if not found:
                raise NotSendableError(f"patient {mrn!r} is not in the record")
            family, given, born, sex, category = found[0]
            patient = Patient(
                family or "",
                given or "",
                mrn,
                dt.date.fromisoformat(born),
                Sex(sex),
                PatientCategory(category),
            )
            self._patients[mrn] = patient_resource(patient, self._naming)
        return self._patients[mrn]

    def device(self, serial: str) -> tuple[Mapped, bool]:
        if serial not in self._devices:
            found = self._outbox.query(
                "SELECT kind, manufacturer, model, simulated FROM devices WHERE serial = ?",
                (serial,),
            )
            if not found:
                raise NotSendableError(f"device {serial!r} is not in the record")
            kind, manufacturer, model, simulated = found[0]
            info = DeviceInfo(kind or "", manufacturer or "", model or "", serial, bool(simulated))
            self._devices[serial] = (device_resource(info, self._naming), info.simulated)
        return self._devices[serial]

    def bed_simulated(self, bed: str, t: float) -> bool:
        """Whether a simulated device fed the bed at ``t`` (a score or alarm derived from it
        is then test data too)."""
        found = self._outbox.query(
            "SELECT 1 FROM assignments a JOIN devices d ON d.serial = a.serial WHERE a.bed = ? "
            "AND a.attached_at <= ? AND (a.detached_at IS NULL OR a.detached_at >= ?) "
            "AND d.simulated = 1 LIMIT 1",
            (bed, t, t),
        )
        return bool(found)


def prepare(row: OutboxRow, lookup: RecordLookup, naming: FhirNaming) -> Item:
    """The row's resource; NotSendableError when it cannot be one."""
    try:
        return _prepare(row, lookup, naming)
    except NotSendableError:
        raise
    except (KeyError, ValueError, TypeError, AttributeError) as err:
        raise NotSendableError(f"{row.kind} row {row.id} cannot be sent: {err}") from err


def _prepare(row: OutboxRow, lookup: RecordLookup, naming: FhirNaming) -> Item:
    p = row.payload
    if row.kind not in KINDS:
        raise NotSendableError(f"row {row.id}: unknown kind {row.kind!r} (expected one of {KINDS})")
    bed, t = str(p["bed"]), float(p["t"])
    patient = lookup.patient(str(p["mrn"]))
    if row.kind in ("vital", "blood_pressure"):
        serial = str(p["device"])
        device, simulated = lookup.device(serial)
        ctx = ObservationContext(
            bed, local_reference(patient), local_reference(device), serial, simulated
        )
        if row.kind == "vital":
            mapped = vital_observation(_reading(p), ctx, naming)
        else:
            readings = [_reading(r) for r in p["readings"]]
            mapped = blood_pressure_observation(readings, ctx, naming)
        return Item(row, mapped, (patient, device))
    simulated = bool(p.get("simulated")) or lookup.bed_simulated(bed, t)
    ctx = ObservationContext(bed, local_reference(patient), None, "", simulated)
    if row.kind == "news2":
        mapped = news2_observation(_news2(p["result"]), t, ctx, naming)
    else:
        mapped = alarm_observation(_log_entry(p), ctx, naming)
    return Item(row, mapped, (patient,))


def _reading(p: dict[str, Any]) -> Reading:
    value = p.get("value")
    return Reading(
        str(p["code"]),
        None if value is None else float(value),
        str(p["unit"]),
        float(p["t"]),
        Quality(p.get("quality", "valid")),
        str(p.get("message") or ""),
    )


def _news2(r: dict[str, Any]) -> News2Result:
    components = {str(k): None if v is None else int(v) for k, v in r["components"].items()}
    total = r.get("total")
    return News2Result(
        total=None if total is None else int(total),
        risk=r.get("risk"),
        components=components,
        missing=tuple(r.get("missing", ())),
        reason=str(r.get("reason") or ""),
        response=str(r.get("response") or ""),
        spo2_scale=int(r.get("spo2_scale", 1)),
        single_parameter_3=any(v == 3 for v in components.values()),
    )


def _log_entry(p: dict[str, Any]) -> LogEntry:
    priority, kind, since = p.get("priority"), p.get("kind"), p.get("since")
    alarm_id = p.get("alarm_id")
    return LogEntry(
        t=float(p["t"]),
        bed=str(p["bed"]),
        event=str(p["event"]),
        alarm_id=None if alarm_id is None else int(alarm_id),
        priority=None if priority is None else Priority[str(priority).upper()],
        kind=None if kind is None else AlarmKind(kind),
        code=str(p.get("code") or ""),
        text=str(p.get("text") or ""),
        user=str(p.get("user") or ""),
        detail=str(p.get("detail") or ""),
        since=None if since is None else float(since),
    )
