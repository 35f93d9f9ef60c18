"""The FHIR R4 mapping: every resource validates (fhir.resources R4B), with the codes of
fhir.md, UCUM units, dataAbsentReason for missing values and identifiers that never change."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.device import Device
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient as FhirPatient
from pydantic import ValidationError

from app.alarms.log import LogEntry
from app.alarms.priority import AlarmKind, Priority
from app.model.patient import Patient, PatientCategory, Sex
from app.scores.news2 import score
from app.sync import naming as naming_module
from app.sync.alarms import alarm_observation
from app.sync.bundles import bundles
from app.sync.naming import FhirNaming, fhir_instant
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

NAMING = FhirNaming(station_id="station-7", mrn_system="urn:oid:1.2.36.146.595.217.0.1")
T = 1_795_300_000.123
LOINC, MDC, UCUM = "http://loinc.org", "urn:iso:std:iso:11073:10101", "http://unitsofmeasure.org"
DAR = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
PATIENT = Patient("Doe", "Jane", "A1234567", dt.date(1970, 1, 2), Sex.FEMALE, PatientCategory.ADULT)
MONITOR = DeviceInfo("ble", "Acme", "Vitals 3", "SN-0042", simulated=False)
SIMULATOR = DeviceInfo("simulator", "Vigil", "SimVitals", "SIM-1", simulated=True)
V = Quality.VALID

# Expected codes, written out from fhir.md (§6.1, §6.2) rather than read from app.sync.codes,
# so that a wrong code there fails here: (code, value, UCUM, LOINC codes, MDC code, profile).
VITALS = [
    ("HR", 72.0, "/min", ["8867-4"], "147842", "heartrate"),
    ("PR", 71.0, "/min", ["8867-4", "8889-8"], "149530", "heartrate"),
    ("SPO2", 97.0, "%", ["2708-6", "59408-5"], "150456", "oxygensat"),
    ("RR", 16.0, "/min", ["9279-1"], "151562", "resprate"),
    ("TEMP", 37.26, "Cel", ["8310-5"], "150364", "bodytemp"),
]


def context(device: Mapped | None = None, simulated: bool = False) -> ObservationContext:
    patient = patient_resource(PATIENT, NAMING)
    dev = device or device_resource(SIMULATOR if simulated else MONITOR, NAMING)
    return ObservationContext("ICU-3", local_reference(patient), local_reference(dev),
                              "SIM-1" if simulated else "SN-0042", simulated)  # fmt: skip


def reading(
    code: str, value: float | None, unit: str, quality: Quality = V, t: float = T
) -> Reading:
    return Reading(code, value, unit, t, quality, message="")


def codes_of(concept: dict[str, Any], system: str) -> list[str]:
    return [c["code"] for c in concept["coding"] if c["system"] == system]


def nibp(sys: float | None = 120, dia: float | None = 80, mean: float | None = 93) -> list[Reading]:
    values = {"NIBP_SYS": sys, "NIBP_DIA": dia, "NIBP_MEAN": mean}
    return [reading(code, v, "mm[Hg]") for code, v in values.items() if v is not None]


def test_the_validator_rejects_what_is_not_fhir() -> None:
    """The R4B models are a real gate: the checks below would catch a malformed resource."""
    obs = vital_observation(reading("HR", 72, "/min"), context(), NAMING).resource
    with pytest.raises(ValidationError):
        Observation.model_validate({**obs, "valueQuantity": {"value": "fast"}})
    with pytest.raises(ValidationError):
        Observation.model_validate({**obs, "heartRate": 72})


@pytest.mark.parametrize("case", VITALS, ids=[v[0] for v in VITALS])
def test_a_vital_sign_follows_the_r4_profile(case: tuple[Any, ...]) -> None:
    code, value, unit, loinc, mdc, profile = case
    obs = vital_observation(reading(code, value, unit), context(), NAMING).resource
    Observation.model_validate(obs)
    assert obs["status"] == "final"
    category = obs["category"][0]["coding"][0]
    assert (category["system"], category["code"]) == (
        "http://terminology.hl7.org/CodeSystem/observation-category",
        "vital-signs",
    )
    assert codes_of(obs["code"], LOINC) == loinc
    assert codes_of(obs["code"], MDC) == [mdc]
    quantity = obs["valueQuantity"]
    assert (quantity["system"], quantity["code"]) == (UCUM, unit)
    assert quantity["value"] == pytest.approx(value, abs=0.051)
    assert obs["effectiveDateTime"] == "2026-11-21T22:26:40.123Z"
    assert obs["subject"]["reference"].startswith("urn:uuid:")
    assert obs["device"]["reference"].startswith("urn:uuid:")
    assert obs["meta"]["profile"] == [f"http://hl7.org/fhir/StructureDefinition/{profile}"]
    assert "dataAbsentReason" not in obs


def test_values_are_sent_as_the_monitor_shows_them() -> None:
    ctx = context()
    assert vital_observation(reading("HR", 72.4, "/min"), ctx, NAMING).resource[
        "valueQuantity"
    ] == {"value": 72, "unit": "beats/minute", "system": UCUM, "code": "/min"}
    temp = vital_observation(reading("TEMP", 37.26, "Cel"), ctx, NAMING).resource
    assert temp["valueQuantity"]["value"] == 37.3
    fahrenheit = vital_observation(reading("TEMP", 99.1, "[degF]"), ctx, NAMING).resource
    assert fahrenheit["valueQuantity"]["code"] == "[degF]"


@pytest.mark.parametrize(
    ("value", "quality", "reason"),
    [
        (None, Quality.UNAVAILABLE, "not-performed"),
        (88.0, Quality.INVALID, "error"),
        (None, Quality.VALID, "unknown"),
        (math.nan, Quality.VALID, "not-a-number"),
        (math.inf, Quality.VALID, "positive-infinity"),
        (-math.inf, Quality.QUESTIONABLE, "negative-infinity"),
    ],
)
def test_a_missing_or_invalid_value_gives_a_data_absent_reason(
    value: float | None, quality: Quality, reason: str
) -> None:
    obs = vital_observation(reading("SPO2", value, "%", quality), context(), NAMING).resource
    Observation.model_validate(obs)
    assert "valueQuantity" not in obs
    assert codes_of(obs["dataAbsentReason"], DAR) == [reason]


def test_a_questionable_value_is_sent_with_a_note() -> None:
    r = Reading("SPO2", 91.0, "%", T, Quality.QUESTIONABLE, "weak signal")
    obs = vital_observation(r, context(), NAMING).resource
    Observation.model_validate(obs)
    assert obs["valueQuantity"]["value"] == 91
    assert "weak signal" in obs["note"][0]["text"]


def test_wrong_units_and_unknown_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="FHIR needs one of"):
        vital_observation(reading("HR", 72, "bpm"), context(), NAMING)
    with pytest.raises(KeyError, match="no FHIR mapping"):
        vital_observation(reading("ETCO2", 38, "mm[Hg]"), context(), NAMING)
    with pytest.raises(ValueError, match="NIBP panel"):
        vital_observation(reading("NIBP_SYS", 120, "mm[Hg]"), context(), NAMING)


def test_nibp_is_one_panel_with_systolic_diastolic_and_mean() -> None:
    obs = blood_pressure_observation(nibp(), context(), NAMING).resource
    Observation.model_validate(obs)
    assert codes_of(obs["code"], LOINC) == ["85354-9"]
    assert codes_of(obs["code"], MDC) == ["150020"]
    assert "valueQuantity" not in obs
    found = {codes_of(c["code"], LOINC)[0]: c for c in obs["component"]}
    assert list(found) == ["8480-6", "8462-4", "8478-0"]
    assert [codes_of(c["code"], MDC)[0] for c in obs["component"]] == ["150021", "150022", "150023"]
    assert found["8480-6"]["valueQuantity"] == {
        "value": 120, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"
    }  # fmt: skip
    assert obs["meta"]["profile"] == ["http://hl7.org/fhir/StructureDefinition/bp"]


def test_nibp_without_diastolic_or_mean_keeps_the_required_components() -> None:
    obs = blood_pressure_observation(nibp(dia=None, mean=None), context(), NAMING).resource
    Observation.model_validate(obs)
    assert [codes_of(c["code"], LOINC)[0] for c in obs["component"]] == ["8480-6", "8462-4"]
    assert codes_of(obs["component"][1]["dataAbsentReason"], DAR) == ["unknown"]


def test_nibp_readings_must_be_one_measurement() -> None:
    with pytest.raises(ValueError, match="one each of"):
        blood_pressure_observation([*nibp(), reading("NIBP_SYS", 121, "mm[Hg]")], context(), NAMING)
    with pytest.raises(ValueError, match="one each of"):
        blood_pressure_observation([reading("HR", 72, "/min")], context(), NAMING)
    with pytest.raises(ValueError, match="one each of"):
        blood_pressure_observation([], context(), NAMING)


def test_news2_is_a_scored_observation_with_its_snomed_code() -> None:
    result = score(24, 93, True, 105, 115, "A", 38.6)
    obs = news2_observation(result, T, context(), NAMING).resource
    Observation.model_validate(obs)
    assert codes_of(obs["code"], "http://snomed.info/sct") == ["1104051000000101"]
    assert obs["category"][0]["coding"][0]["code"] == "survey"
    assert obs["valueQuantity"] == {
        "value": result.total, "unit": "score", "system": UCUM, "code": "{score}"
    }  # fmt: skip
    assert len(obs["component"]) == 7
    assert obs["interpretation"][0]["text"].startswith(f"{result.risk} risk")


def test_an_incomplete_news2_says_what_was_missing() -> None:
    result = score(18, 97, False, 120, 72, "A", None)
    obs = news2_observation(result, T, context(), NAMING).resource
    Observation.model_validate(obs)
    assert "valueQuantity" not in obs
    assert "temperature" in obs["dataAbsentReason"]["text"]


def test_the_patient_is_identified_by_its_mrn_in_the_sites_system() -> None:
    naming = FhirNaming(station_id="s", mrn_system="https://hospital.example/mrn")
    mapped = patient_resource(PATIENT, naming)
    FhirPatient.model_validate(mapped.resource)
    assert mapped.identifier == ("https://hospital.example/mrn", "A1234567")
    assert mapped.resource["identifier"][0]["value"] == "A1234567"
    assert mapped.resource["gender"] == "female"
    assert mapped.resource["birthDate"] == "1970-01-02"
    with pytest.raises(ValueError, match="MRN"):
        patient_resource(Patient("Doe", "J", "A1,2", dt.date(1970, 1, 2), Sex.MALE,
                                 PatientCategory.ADULT), naming)  # fmt: skip


def test_the_device_carries_serial_make_model_and_the_simulated_label() -> None:
    real = device_resource(MONITOR, NAMING)
    Device.model_validate(real.resource)
    assert real.resource["serialNumber"] == "SN-0042"
    assert real.resource["manufacturer"] == "Acme"
    assert real.resource["deviceName"] == [{"name": "Vitals 3", "type": "model-name"}]
    assert {"system": NAMING.serial_system, "value": "SN-0042"} in real.resource["identifier"]
    assert "meta" not in real.resource
    sim = device_resource(SIMULATOR, NAMING)
    Device.model_validate(sim.resource)
    assert sim.resource["meta"]["security"][0]["code"] == "HTEST"
    obs = vital_observation(reading("HR", 60, "/min"), context(simulated=True), NAMING).resource
    assert obs["meta"]["security"][0]["code"] == "HTEST"


def test_a_device_is_found_again_by_a_uuid_of_its_serial() -> None:
    odd = DeviceInfo("ble", "Acme", "X", "SN 1,2|3", simulated=False)
    mapped = device_resource(odd, NAMING)
    system, value = mapped.identifier
    assert system == NAMING.device_id_system
    assert uuid.UUID(value).version == 5
    assert mapped.full_url == f"urn:uuid:{value}"
    assert device_resource(odd, NAMING).identifier == mapped.identifier


def test_limit_alarms_carry_the_mdc_event_code_and_vigils_own() -> None:
    entry = LogEntry(T, "ICU-3", "start", 4, Priority.MEDIUM, AlarmKind.PHYSIOLOGICAL,
                     "HR_HIGH", "HR 131 > 120")  # fmt: skip
    obs = alarm_observation(entry, context(), NAMING).resource
    Observation.model_validate(obs)
    assert codes_of(obs["code"], MDC) == ["196650"]
    assert codes_of(obs["code"], NAMING.code_system("alarm")) == ["HR_HIGH"]
    assert codes_of(obs["valueCodeableConcept"], NAMING.code_system("alarm-event")) == ["start"]
    priority = obs["component"][0]["valueCodeableConcept"]
    assert codes_of(priority, NAMING.code_system("alarm-priority")) == ["medium"]
    low = alarm_observation(LogEntry(T, "ICU-3", "end", code="SPO2_LOW"), context(), NAMING)
    assert codes_of(low.resource["code"], MDC) == ["196672"]


def test_alarms_without_an_exact_mdc_code_carry_only_vigils() -> None:
    obs = alarm_observation(LogEntry(T, "ICU-3", "start", code="VF"), context(), NAMING).resource
    Observation.model_validate(obs)
    assert codes_of(obs["code"], MDC) == []
    assert codes_of(obs["code"], NAMING.code_system("alarm")) == ["VF"]
    priority = obs["component"][0]["valueCodeableConcept"]  # from the catalogue
    assert codes_of(priority, NAMING.code_system("alarm-priority")) == ["high"]


def test_operator_actions_and_unknown_alarms_are_not_sent() -> None:
    with pytest.raises(ValueError, match="not sent"):
        alarm_observation(LogEntry(T, "ICU-3", "ack", code="VF"), context(), NAMING)
    with pytest.raises(KeyError):
        alarm_observation(LogEntry(T, "ICU-3", "start", code="NOPE"), context(), NAMING)


def build(r: Reading, station: str = "station-7", bed: str = "ICU-3") -> Mapped:
    naming = FhirNaming(station_id=station, mrn_system=NAMING.mrn_system)
    ctx = context()
    ctx = ObservationContext(bed, ctx.patient, ctx.device, ctx.source, ctx.simulated)
    return vital_observation(r, ctx, naming)


def test_identifiers_are_the_same_for_every_resend() -> None:
    first = build(reading("HR", 72, "/min"))
    assert build(reading("HR", 72, "/min")).identifier == first.identifier
    assert build(reading("HR", 72, "/min")).full_url == first.full_url
    # Float noise in the time and a value rounded differently are the same measurement.
    assert build(reading("HR", 72.3, "/min", t=T + 1e-7)).identifier == first.identifier
    system, value = first.identifier
    assert system == NAMING.observation_system
    assert first.resource["identifier"] == [{"system": system, "value": value}]
    assert first.full_url == f"urn:uuid:{value}"
    assert patient_resource(PATIENT, NAMING).full_url == patient_resource(PATIENT, NAMING).full_url


def test_identifiers_differ_for_different_measurements() -> None:
    ids = {
        build(reading("HR", 72, "/min")).identifier,
        build(reading("HR", 72, "/min", t=T + 0.001)).identifier,
        build(reading("PR", 72, "/min")).identifier,
        build(reading("HR", 72, "/min"), bed="ICU-4").identifier,
        build(reading("HR", 72, "/min"), station="station-8").identifier,
        vital_observation(reading("HR", 72, "/min"),
                          ObservationContext("ICU-3", {"reference": "Patient/p"}, None,
                                             "OTHER", False), NAMING).identifier,
    }  # fmt: skip
    assert len(ids) == 6


def test_the_uuid_namespace_is_the_documented_one() -> None:
    assert uuid.uuid5(uuid.NAMESPACE_URL, "urn:vigil:fhir") == naming_module.NAMESPACE


def test_naming_needs_a_station_and_an_mrn_system() -> None:
    with pytest.raises(ValueError, match="mrn_system"):
        FhirNaming(station_id="s", mrn_system=" ")
    with pytest.raises(ValueError, match="station_id"):
        FhirNaming(station_id="", mrn_system="urn:oid:1.2")


def test_times_are_utc_with_milliseconds() -> None:
    assert fhir_instant(0.0) == "1970-01-01T00:00:00.000Z"
    assert fhir_instant(1.0004) == "1970-01-01T00:00:01.000Z"
    assert fhir_instant(1.0006) == "1970-01-01T00:00:01.001Z"
    with pytest.raises(ValueError, match="finite"):
        fhir_instant(math.nan)


def test_every_mapped_resource_fits_in_a_valid_bundle() -> None:
    ctx = context()
    patient, device = patient_resource(PATIENT, NAMING), device_resource(MONITOR, NAMING)
    items = [vital_observation(reading(c, v, u), ctx, NAMING) for c, v, u, *_ in VITALS]
    items.append(blood_pressure_observation(nibp(), ctx, NAMING))
    items.append(news2_observation(score(18, 97, False, 120, 72, "A", 37.2), T, ctx, NAMING))
    for bundle in bundles(items, context=[patient, device]):
        Bundle.model_validate(bundle)


def test_blank_text_is_left_out_not_sent_empty() -> None:
    # FHIR servers refuse whitespace-only strings ("must contain non-whitespace content").
    nameless = Patient("Doe", "  ", "A1234568", dt.date(1970, 1, 2), Sex.MALE,
                       PatientCategory.ADULT)  # fmt: skip
    resource = patient_resource(nameless, NAMING).resource
    FhirPatient.model_validate(resource)
    assert resource["name"] == [{"use": "official", "family": "Doe"}]
    entry = LogEntry(T, "ICU-3", "start", 4, Priority.MEDIUM, AlarmKind.PHYSIOLOGICAL,
                     "HR_HIGH", "HR 131 > 120", detail="   ")  # fmt: skip
    assert "note" not in alarm_observation(entry, context(), NAMING).resource
    entry = LogEntry(T, "ICU-3", "start", 4, Priority.MEDIUM, AlarmKind.PHYSIOLOGICAL,
                     "HR_HIGH", "HR 131 > 120", detail="limit 120")  # fmt: skip
    assert "note" in alarm_observation(entry, context(), NAMING).resource
