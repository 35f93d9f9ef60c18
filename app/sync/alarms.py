"""Alarm events as FHIR R4 Observations with MDC alert codes.

R4 has no alarm resource (R6 adds DeviceAlert). The two candidates were Observation and Flag;
Vigil sends **Observations**, one per alarm lifecycle event (start, escalation, priority
change, condition end, end), because:

- An alarm is a time-stamped device event. Observation is the resource for those: searchable
  by patient, code, date and device like the vitals it belongs with, and it is how PoCD/PHD and
  IHE ACM (PCD-04 carries MDC event codes in OBX) report device alerts. Its code carries the
  MDC event code where 11073-10101 has an exact one (limit alarms, desaturation, asystole,
  AF, lead off, battery low; :data:`app.sync.codes.ALARM_MDC`), always with Vigil's own code.
- Flag is for prospective warnings that stay on the chart ("fall risk", "MRSA"), shown as a
  banner while active and closed by staff. Tens of alarms per bed per hour would flood it; it
  has no place for the priority or the phase, and EHR device-data interfaces do not take Flags.
- One immutable Observation per event keeps delivery create-only: no conditional update of an
  "active" alarm when it ends, nothing to reorder when a backlog drains, and the same
  identifier-plus-``ifNoneExist`` idempotence as every other resource. It also maps one to one
  onto a future DeviceAlert (condition = code, priority, phase).
"""

from __future__ import annotations

from app.alarms.catalogue import spec
from app.alarms.log import LogEntry
from app.sync import codes
from app.sync.naming import FhirNaming
from app.sync.resources import Mapped, ObservationContext, observation_base, observation_mapped

# The LogEntry events that are part of an alarm's own lifecycle; operator actions (ack, pause,
# limits, ...) are the station's business, not the patient record's.
ALARM_EVENTS = ("start", "escalate", "priority", "condition_end", "end")


def alarm_observation(entry: LogEntry, ctx: ObservationContext, naming: FhirNaming) -> Mapped:
    """One alarm lifecycle event of the alarm log as an Observation."""
    if entry.event not in ALARM_EVENTS:
        raise ValueError(f"alarm event {entry.event!r} is not sent; only {ALARM_EVENTS}")
    alarm = spec(entry.code)  # KeyError for a code not in the catalogue
    text = entry.text or entry.code
    codings = [codes.ALARM_MDC[entry.code].coding()] if entry.code in codes.ALARM_MDC else []
    codings.append({"system": naming.code_system("alarm"), "code": entry.code, "display": text})
    category = codes.Code(naming.code_system("observation-category"), "alarm", "Device alarm")
    obs = observation_base(codings, text, category, entry.t, ctx)
    obs["valueCodeableConcept"] = _concept(naming, "alarm-event", entry.event)
    priority = entry.priority if entry.priority is not None else alarm.priority
    kind = entry.kind if entry.kind is not None else alarm.kind
    obs["component"] = [
        {"code": _concept(naming, "alarm-attribute", "priority"),
         "valueCodeableConcept": _concept(naming, "alarm-priority", priority.name.lower())},
        {"code": _concept(naming, "alarm-attribute", "kind"),
         "valueCodeableConcept": _concept(naming, "alarm-kind", kind.value)},
    ]  # fmt: skip
    if entry.detail.strip():
        obs["note"] = [{"text": entry.detail}]
    return observation_mapped(obs, f"ALARM/{entry.code}/{entry.event}", entry.t, ctx, naming)


def _concept(naming: FhirNaming, system: str, code: str) -> dict[str, list[dict[str, str]]]:
    return {"coding": [{"system": naming.code_system(system), "code": code}]}
