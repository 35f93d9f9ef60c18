"""Vigil's record as FHIR R4 resources: Patient, Device, vital-sign and NEWS2 Observations.

Pure functions from Vigil's own types to JSON-ready dicts; no I/O. Each returns a
:class:`Mapped`: the resource with its deterministic ``urn:uuid`` fullUrl and the identifier
that a conditional create searches on (:mod:`app.sync.naming`, :mod:`app.sync.bundles`).

Vital signs follow the FHIR R4 core vital-signs profiles (category vital-signs, LOINC code,
UCUM ``valueQuantity``, effectiveDateTime, subject), with the MDC code as a second coding and
the Device as ``Observation.device``, as the PHD and PoCD IGs do. A reading without a usable
value (device quality INVALID or UNAVAILABLE, no value, NaN) is sent with a
``dataAbsentReason`` instead, so that the record shows the gap rather than nothing. Data from
a simulated device carries the HL7 security label HTEST ("test health data").

NEWS2 is an Observation, not a RiskAssessment. RiskAssessment is for a predicted probability
of an outcome (``prediction.outcome``/``probability``); NEWS2 is a track-and-trigger score, an
assessment result like the vitals it is computed from. UK Core and NHS England model it so
(SNOMED CT 1104051000000101, category survey, unit ``{score}``), and EHR flowsheets take
Observations; RiskAssessment has little EHR support.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.model.patient import Patient
from app.scores.news2 import COMPONENT_LABELS, News2Result
from app.sync import codes
from app.sync.codes import Parameter
from app.sync.naming import FhirNaming, fhir_instant, stable_uuid, time_key
from drivers.base import DeviceInfo, Quality, Reading

Resource = dict[str, Any]
Reference = dict[str, str]
SEARCH_SPECIAL = frozenset("\\|,$")  # escaped in a FHIR search value


@dataclass(frozen=True, slots=True)
class Mapped:
    """A resource, its fullUrl in a bundle, and the identifier a resend is recognised by."""

    resource: Resource
    full_url: str  # urn:uuid:<uuid5>, the same for every send
    identifier: tuple[str, str]  # (system, value)

    @property
    def resource_type(self) -> str:
        return str(self.resource["resourceType"])


@dataclass(frozen=True, slots=True)
class ObservationContext:
    """Whom and what an Observation is about, and which device (if any) measured it."""

    bed: str
    patient: Reference  # Observation.subject
    device: Reference | None  # Observation.device
    source: str  # the device's serial (or "" for Vigil's own results): part of the identifier
    simulated: bool


def local_reference(mapped: Mapped) -> Reference:
    """A reference to a resource sent in the same transaction (its urn:uuid fullUrl)."""
    return {"reference": mapped.full_url}


def patient_resource(patient: Patient, naming: FhirNaming) -> Mapped:
    """The Patient, identified by its MRN (the EHR's own identifier: the conditional create
    finds the EHR's existing record of the patient)."""
    system = naming.mrn_system
    if SEARCH_SPECIAL.intersection(patient.mrn):
        # Servers disagree on escaping these in a search (Medplum 4.5.2 ignores FHIR's
        # backslash escapes), so a resend could not be recognised: refuse, loudly.
        raise ValueError(f"MRN {patient.mrn!r} contains one of {sorted(SEARCH_SPECIAL)}")
    resource: Resource = {
        "resourceType": "Patient",
        "identifier": [{
            "use": "usual",
            "type": {"coding": [codes.MEDICAL_RECORD_NUMBER.coding()]},
            "system": system,
            "value": patient.mrn,
        }],
        "name": [_human_name(patient)],
        "gender": patient.sex.value,  # Sex's values are FHIR AdministrativeGender's codes
        "birthDate": patient.date_of_birth.isoformat(),
    }  # fmt: skip
    return _mapped(resource, ("Patient", system, patient.mrn), (system, patient.mrn))


def _human_name(patient: Patient) -> Resource:
    """FHIR refuses blank strings: a blank part is left out, not sent empty."""
    name: Resource = {"use": "official"}
    if patient.family_name.strip():
        name["family"] = patient.family_name.strip()
    if patient.given_name.strip():
        name["given"] = [patient.given_name.strip()]
    return name


def device_resource(info: DeviceInfo, naming: FhirNaming) -> Mapped:
    """The Device, identified by its serial and by a UUIDv5 of it: the UUID is what a
    conditional create searches, because a serial may hold characters (``,``, ``|``) that
    servers do not search reliably."""
    serial_system = naming.serial_system
    uid = str(stable_uuid("Device", serial_system, info.serial))
    resource: Resource = {
        "resourceType": "Device",
        "identifier": [
            {"system": naming.device_id_system, "value": uid},
            {"system": serial_system, "value": info.serial},
        ],
        "status": "active",
        "manufacturer": info.manufacturer,
        "serialNumber": info.serial,
        "deviceName": [{"name": info.model, "type": "model-name"}],
        "type": {"text": info.kind},
    }
    if info.simulated:
        resource["meta"] = _test_data_label()
        resource["note"] = [{"text": "Simulated device: its data are not a patient's."}]
    return Mapped(resource, f"urn:uuid:{uid}", (naming.device_id_system, uid))


def vital_observation(reading: Reading, ctx: ObservationContext, naming: FhirNaming) -> Mapped:
    """One numeric reading (HR, PR, SPO2, RR, TEMP) as a vital-signs Observation."""
    param = codes.parameter(reading.code)
    if reading.code in codes.BP_COMPONENTS:
        raise ValueError(f"{reading.code} belongs in the NIBP panel (blood_pressure_observation)")
    obs = observation_base(param.codings(), param.text, codes.VITAL_SIGNS, reading.timestamp,
                           ctx, profile=param.profile)  # fmt: skip
    obs.update(_value(reading, param))
    return observation_mapped(obs, reading.code, reading.timestamp, ctx, naming)


def blood_pressure_observation(
    readings: Sequence[Reading], ctx: ObservationContext, naming: FhirNaming
) -> Mapped:
    """One NIBP measurement (its NIBP_SYS, NIBP_DIA and optional NIBP_MEAN readings) as the
    85354-9 panel; a missing systolic or diastolic becomes a component with a
    dataAbsentReason, as the bp profile requires both."""
    by_code = {r.code: r for r in readings}
    if not readings or len(by_code) != len(readings) or set(by_code) - set(codes.BP_COMPONENTS):
        found = [r.code for r in readings]
        raise ValueError(f"an NIBP measurement is one each of {codes.BP_COMPONENTS}, got {found}")
    t = next(by_code[c] for c in codes.BP_COMPONENTS if c in by_code).timestamp
    panel = codes.BP_PANEL
    obs = observation_base(panel.codings(), panel.text, codes.VITAL_SIGNS, t, ctx,
                           profile=panel.profile)  # fmt: skip
    components: list[Resource] = []
    notes: list[Resource] = []
    for code in codes.BP_COMPONENTS:
        param = codes.parameter(code)
        reading = by_code.get(code)
        if reading is None and code not in codes.BP_REQUIRED:
            continue
        value: Resource = (
            _value(reading, param)
            if reading is not None
            else {"dataAbsentReason": _absent("unknown", "not measured")}
        )
        notes += value.pop("note", [])  # a component has no note; the panel carries it
        components.append({"code": {"coding": param.codings(), "text": param.text}, **value})
    obs["component"] = components
    if notes:
        obs["note"] = notes
    return observation_mapped(obs, panel.vigil_code, t, ctx, naming)


def news2_observation(
    result: News2Result, t: float, ctx: ObservationContext, naming: FhirNaming
) -> Mapped:
    """A NEWS2 score: the total as ``{score}``, each parameter's points as a component (Vigil's
    codes), the risk band as the interpretation; an incomplete score says what was missing."""
    code = codes.NEWS2_CODE
    obs = observation_base([code.coding()], "NEWS2", codes.SURVEY, t, ctx)
    if result.total is None:
        obs["dataAbsentReason"] = _absent("unknown", result.reason or "incomplete")
    else:
        obs["valueQuantity"] = _score(result.total)
        obs["interpretation"] = [{"text": f"{result.risk} risk: {result.response}"}]
    obs["method"] = {"text": f"RCP NEWS2 (2017), SpO2 scale {result.spo2_scale}"}
    system = naming.code_system("news2-component")
    obs["component"] = [
        {
            "code": {"coding": [{"system": system, "code": name,
                                 "display": COMPONENT_LABELS[name]}]},
            **({"valueQuantity": _score(points)} if points is not None
               else {"dataAbsentReason": _absent("unknown", "not scored")}),
        }
        for name, points in result.components.items()
    ]  # fmt: skip
    return observation_mapped(obs, "NEWS2", t, ctx, naming)


def observation_base(
    codings: list[dict[str, str]],
    text: str,
    category: codes.Code,
    t: float,
    ctx: ObservationContext,
    *,
    profile: str = "",
) -> Resource:
    """What every Observation Vigil sends has: status, category, code, subject, time, device,
    and the test-data label for a simulated source."""
    obs: Resource = {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [category.coding()]}],
        "code": {"coding": codings, "text": text},
        "subject": dict(ctx.patient),
        "effectiveDateTime": fhir_instant(t),
    }
    if ctx.device is not None:
        obs["device"] = dict(ctx.device)
    meta: Resource = _test_data_label() if ctx.simulated else {}
    if profile:
        meta["profile"] = [codes.PROFILE_BASE + profile]
    if meta:
        obs["meta"] = meta
    return obs


def observation_mapped(
    obs: Resource, kind: str, t: float, ctx: ObservationContext, naming: FhirNaming
) -> Mapped:
    """Give an Observation its deterministic identifier (see :mod:`app.sync.naming`)."""
    uid = stable_uuid("Observation", naming.station_id, ctx.bed, ctx.source, kind, time_key(t))
    system = naming.observation_system
    obs["identifier"] = [{"system": system, "value": str(uid)}]
    return Mapped(obs, f"urn:uuid:{uid}", (system, str(uid)))


def _mapped(resource: Resource, key: tuple[str, ...], identifier: tuple[str, str]) -> Mapped:
    return Mapped(resource, f"urn:uuid:{stable_uuid(*key)}", identifier)


def _value(reading: Reading, param: Parameter) -> Resource:
    """valueQuantity, or dataAbsentReason when the reading has no usable value."""
    if reading.unit not in param.units:
        raise ValueError(f"{reading.code} in {reading.unit!r}: FHIR needs one of {param.units}")
    value = reading.value
    if reading.quality is Quality.INVALID:
        return {"dataAbsentReason": _absent("error", reading.message or "measurement failed")}
    if reading.quality is Quality.UNAVAILABLE:
        return {"dataAbsentReason": _absent("not-performed", reading.message or "no sensor")}
    if value is None:
        return {"dataAbsentReason": _absent("unknown", reading.message or "no value")}
    if math.isnan(value):
        return {"dataAbsentReason": _absent("not-a-number", reading.message or "NaN")}
    if math.isinf(value):
        reason = "positive-infinity" if value > 0 else "negative-infinity"
        return {"dataAbsentReason": _absent(reason, reading.message or "out of range")}
    shown = round(value, param.decimals) if param.decimals else round(value)
    quantity = {
        "value": shown,
        "unit": param.unit_display if reading.unit == param.units[0] else reading.unit,
        "system": codes.UCUM,
        "code": reading.unit,
    }
    out: Resource = {"valueQuantity": quantity}
    if reading.quality is Quality.QUESTIONABLE:
        # FHIR has no "questionable" status; the value is what the device measured, and the
        # note keeps its doubt visible to whoever reads the record.
        out["note"] = [{"text": f"{param.text}: questionable ({reading.message or 'device'})"}]
    return out


def _absent(code: str, text: str) -> Resource:
    return {"coding": [{"system": codes.DATA_ABSENT_REASON, "code": code}], "text": text}


def _score(points: int) -> Resource:
    return {"value": points, "unit": "score", "system": codes.UCUM, "code": codes.NEWS2_UNIT}


def _test_data_label() -> Resource:
    return {"security": [{"system": codes.ACT_REASON, "code": codes.TEST_DATA,
                          "display": "test health data"}]}  # fmt: skip
