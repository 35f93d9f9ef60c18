"""The terminology of Vigil's FHIR R4 resources: per parameter, its LOINC and MDC codes and unit.

Sources (``../shared/docs/fhir.md`` unless noted):

- LOINC and UCUM units: the FHIR R4 core vital-signs profiles (fhir.md §6.2). SpO2 carries
  2708-6 (the R4 ``oxygensat`` profile requires it) together with the pulse-oximetry code
  59408-5 (US Core). The NIBP panel is 85354-9 with systolic 8480-6 and diastolic 8462-4, plus
  the mean 8478-0 as in PoCD's compound BP example (fhir.md §6.1).
- PR (pulse rate from the oximeter) is a heart rate, so it carries the R4 ``heartrate`` code
  8867-4, with 8889-8 "Heart rate by Pulse oximetry" to say how it was measured, the same
  pattern as SpO2's two codes; HR is the ECG's.
- MDC (ISO/IEEE 11073-10101) numeric codes as PHD/PoCD send them: 147842, 150456, 150021/2,
  151562 and 150364 from fhir.md §6.1; PR 149530 (MDC_PULS_OXIM_PULS_RATE), the NIBP panel
  150020 and mean 150023 from the same nomenclature (Rosetta/RTMMS).
- NEWS2 has no LOINC code; UK Core and NHS England code the total score with SNOMED CT
  1104051000000101 and category ``survey``, with the UCUM unit ``{score}``.

Vigil's own code systems and identifier systems are in :mod:`app.sync.resources`
(``FhirNaming``), because a site may rename them.
"""

from __future__ import annotations

from dataclasses import dataclass

LOINC = "http://loinc.org"
MDC = "urn:iso:std:iso:11073:10101"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DATA_ABSENT_REASON = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
# HL7 security label "test health data": what a simulated device's data is.
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
TEST_DATA = "HTEST"
PROFILE_BASE = "http://hl7.org/fhir/StructureDefinition/"


@dataclass(frozen=True, slots=True)
class Code:
    system: str
    code: str
    display: str

    def coding(self) -> dict[str, str]:
        return {"system": self.system, "code": self.code, "display": self.display}


@dataclass(frozen=True, slots=True)
class Parameter:
    """How one Vigil numeric parameter is coded in an Observation (or a BP component)."""

    vigil_code: str  # drivers.base.Reading.code
    text: str  # Observation.code.text
    loinc: tuple[Code, ...]  # the vital-signs profile's code first
    mdc: Code
    units: tuple[str, ...]  # UCUM codes accepted; the first is what Vigil's drivers send
    unit_display: str  # Quantity.unit: display text
    decimals: int  # what the monitor shows; more would be noise, not precision
    profile: str  # the R4 vital-signs profile it conforms to ("" for none)

    def codings(self) -> list[dict[str, str]]:
        return [c.coding() for c in (*self.loinc, self.mdc)]


def _loinc(code: str, display: str) -> Code:
    return Code(LOINC, code, display)


def _mdc(code: str, reference_id: str) -> Code:
    return Code(MDC, code, reference_id)


HEART_RATE = _loinc("8867-4", "Heart rate")
_PER_MIN = ("/min",)
_MMHG = ("mm[Hg]",)

PARAMETERS: dict[str, Parameter] = {
    p.vigil_code: p
    for p in (
        Parameter("HR", "Heart rate (ECG)", (HEART_RATE,),
                  _mdc("147842", "MDC_ECG_HEART_RATE"), _PER_MIN, "beats/minute", 0,
                  "heartrate"),
        Parameter("PR", "Pulse rate (SpO2)",
                  (HEART_RATE, _loinc("8889-8", "Heart rate by Pulse oximetry")),
                  _mdc("149530", "MDC_PULS_OXIM_PULS_RATE"), _PER_MIN, "beats/minute", 0,
                  "heartrate"),
        Parameter("SPO2", "SpO2",
                  (_loinc("2708-6", "Oxygen saturation in Arterial blood"),
                   _loinc("59408-5",
                          "Oxygen saturation in Arterial blood by Pulse oximetry")),
                  _mdc("150456", "MDC_PULS_OXIM_SAT_O2"), ("%",), "%", 0, "oxygensat"),
        Parameter("RR", "Respiratory rate", (_loinc("9279-1", "Respiratory rate"),),
                  _mdc("151562", "MDC_RESP_RATE"), _PER_MIN, "breaths/minute", 0,
                  "resprate"),
        Parameter("TEMP", "Body temperature", (_loinc("8310-5", "Body temperature"),),
                  _mdc("150364", "MDC_TEMP_BODY"), ("Cel", "[degF]"), "°C", 1, "bodytemp"),
        Parameter("NIBP_SYS", "Systolic blood pressure",
                  (_loinc("8480-6", "Systolic blood pressure"),),
                  _mdc("150021", "MDC_PRESS_BLD_NONINV_SYS"), _MMHG, "mmHg", 0, ""),
        Parameter("NIBP_DIA", "Diastolic blood pressure",
                  (_loinc("8462-4", "Diastolic blood pressure"),),
                  _mdc("150022", "MDC_PRESS_BLD_NONINV_DIA"), _MMHG, "mmHg", 0, ""),
        Parameter("NIBP_MEAN", "Mean blood pressure",
                  (_loinc("8478-0", "Mean blood pressure"),),
                  _mdc("150023", "MDC_PRESS_BLD_NONINV_MEAN"), _MMHG, "mmHg", 0, ""),
    )
}  # fmt: skip

# The NIBP measurement is one panel Observation; its three readings are its components.
BP_PANEL = Parameter(
    "NIBP", "Blood pressure (non-invasive)",
    (_loinc("85354-9", "Blood pressure panel with all children optional"),),
    _mdc("150020", "MDC_PRESS_BLD_NONINV"), (), "", 0, "bp",
)  # fmt: skip
BP_COMPONENTS = ("NIBP_SYS", "NIBP_DIA", "NIBP_MEAN")
BP_REQUIRED = ("NIBP_SYS", "NIBP_DIA")  # the R4 bp profile's mandatory components

NEWS2_CODE = Code(
    SNOMED,
    "1104051000000101",
    "Royal College of Physicians NEWS2 (National Early Warning Score 2) total score",
)
NEWS2_UNIT = "{score}"

# Observation categories.
VITAL_SIGNS = Code(OBSERVATION_CATEGORY, "vital-signs", "Vital Signs")
SURVEY = Code(OBSERVATION_CATEGORY, "survey", "Survey")
MEDICAL_RECORD_NUMBER = Code(IDENTIFIER_TYPE, "MR", "Medical record number")

# MDC alert (event) codes, partition 3 (196608 + term), for the Vigil alarms that have an
# exact one: limit alarms by direction (MDC_EVT_HI_GT_LIM/LO_LT_LIM, as SDC/BICEPS devices
# send them) and the named 11073-10101 events Vigil detects (DICOM context groups such as
# CID 3038 reprint them). The others (VF, VT, pause, ...) carry Vigil's code only rather than
# a guessed one.
_EVT_HI_GT_LIM = _mdc("196650", "MDC_EVT_HI_GT_LIM")
_EVT_LO_LT_LIM = _mdc("196672", "MDC_EVT_LO_LT_LIM")
ALARM_MDC: dict[str, Code] = {
    "ASYSTOLE": _mdc("199684", "MDC_EVT_ECG_ASYSTOLE"),
    "DESAT": _mdc("199854", "MDC_EVT_DESAT"),
    "AF": _mdc("199736", "MDC_EVT_ECG_ATR_FIB"),
    "ECG_LEAD_OFF": _mdc("196876", "MDC_EVT_LEAD_DISCONN"),
    "BATTERY_LOW": _mdc("196802", "MDC_EVT_BATT_LO"),
    "EXTREME_TACHY": _EVT_HI_GT_LIM,
    "EXTREME_BRADY": _EVT_LO_LT_LIM,
}
for _limit in ("HR", "PR", "SPO2", "RR", "NIBP_SYS", "NIBP_DIA", "NIBP_MEAN", "TEMP"):
    ALARM_MDC[f"{_limit}_HIGH"] = _EVT_HI_GT_LIM
    ALARM_MDC[f"{_limit}_LOW"] = _EVT_LO_LT_LIM


def parameter(vigil_code: str) -> Parameter:
    try:
        return PARAMETERS[vigil_code]
    except KeyError:
        raise KeyError(f"no FHIR mapping for parameter {vigil_code!r}") from None
