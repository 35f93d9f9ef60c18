"""Outbox rows as IHE PCD-01 ``ORU^R01`` messages (HL7 v2.6), built as text.

Sources: ``../shared/docs/fhir.md`` §6.4 (PCD-01: v2.6, ``ORU^R01^ORU_R01``, MSH-21
``IHE_PCD_001``, OBX-3 MDC code, OBX-4 containment ``MDS.VMD.CHAN.METRIC``, OBX-6 units,
OBX-11 status, OBX-18 equipment id, MLLP and ``MSA|AA|<MSH-10>``) and §6.1 (MDC codes, UCUM
units); the codes themselves are :mod:`app.sync.codes`, shared with the FHIR mapping.

- One message per outbox row: a ``vital`` row gives one OBX, a ``blood_pressure`` row one
  OBX per reading (systolic, diastolic, mean). ``news2`` and ``alarm`` rows are not sent:
  fhir.md gives no PCD-01 code for a NEWS2 score, and alarms belong to PCD-04 (``ORU^R40``,
  the ACM profile), not PCD-01.
- MSH-10 (control id) is ``<station id>-<row id>-<row created, ms>``: a resend of a row is
  byte-for-byte the same message (MSH-7 is the row's time, not the send time), so the
  receiver can de-duplicate by MSH-10; the creation time keeps ids unique when a station
  starts a new record (its row ids restart at 1).
- OBX-4: the device is one MDS (1); each parameter group is a VMD with one channel, numbered
  the same in every message (:data:`CONTAINMENT`), so a consumer can track a metric.
- OBX-6: the MDC unit with UCUM as the alternate where fhir.md gives the MDC unit
  (beats/min, 264864); UCUM alone otherwise (``/min^/min^UCUM``).
- OBX-11 is ``F`` (final: the number the station shows); OBX-18 is the device's serial
  (as an EUI-64 when it is one).

Every value from the record (MRN, names, bed, serial) is escaped (:func:`escape`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.sync.codes import BP_COMPONENTS, Parameter, parameter

HL7_KINDS = ("vital", "blood_pressure")
VERSION = "2.6"
MESSAGE_TYPE = "ORU^R01^ORU_R01"
PROFILE = "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO"  # MSH-21
CHARSET = "UNICODE UTF-8"  # MSH-18: the bytes on the wire are UTF-8
SERVICE = "182777000^monitoring of patient^SCT"  # OBR-4, as PCD-01 reporters send it
SEGMENT_END = "\r"
ENCODING = "^~\\&"  # MSH-2: component, repetition, escape, subcomponent
# (VMD, channel, metric) under MDS 1: one VMD per measurement the station reports.
CONTAINMENT: dict[str, tuple[int, int, int]] = {
    "HR": (1, 1, 1),  # ECG
    "SPO2": (2, 1, 1),  # pulse oximetry
    "PR": (2, 1, 2),
    "NIBP_SYS": (3, 1, 1),  # non-invasive blood pressure
    "NIBP_DIA": (3, 1, 2),
    "NIBP_MEAN": (3, 1, 3),
    "RR": (4, 1, 1),  # respiration
    "TEMP": (5, 1, 1),  # temperature
}
# MDC units fhir.md gives (§6.4), by parameter (RR's /min is not beats per minute).
MDC_UNITS: dict[tuple[str, str], str] = {
    ("HR", "/min"): "264864^MDC_DIM_BEAT_PER_MIN^MDC",
    ("PR", "/min"): "264864^MDC_DIM_BEAT_PER_MIN^MDC",
}
SEX = {"female": "F", "male": "M", "other": "O", "unknown": "U"}  # HL7 table 0001
_ESCAPES = {"\\": "\\E\\", "|": "\\F\\", "^": "\\S\\", "&": "\\T\\", "~": "\\R\\",
            "\r": "\\X0D\\", "\n": "\\X0A\\"}  # fmt: skip
_STATION_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_EUI64 = re.compile(r"[0-9A-Fa-f]{16}")


class Hl7BuildError(ValueError):
    """The row cannot become a PCD-01 message; the message says why."""


@dataclass(frozen=True, slots=True)
class Hl7Config:
    """The site's HL7 settings.

    ``station_id`` names the sender (MSH-3, with application ``VIGIL``) and is part of every
    control id, so keep it stable; it is letters, digits, ``.``, ``_`` and ``-`` (an EUI-64,
    16 hex digits, is labelled as one). ``assigning_authority`` is the MRN's (PID-3.4).
    """

    station_id: str
    assigning_authority: str
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    point_of_care: str = ""  # PV1-3.1 (the unit or ward); PV1-3.3 is the bed

    def __post_init__(self) -> None:
        if not _STATION_ID.fullmatch(self.station_id):
            raise ValueError(
                f"station id {self.station_id!r}: use 1 to 64 letters, digits, '.', '_', '-'"
            )
        if not self.assigning_authority.strip():
            raise ValueError("the MRN's assigning authority must not be empty")

    @property
    def sending_application(self) -> str:
        """MSH-3 as PCD-01 reporters send it: ``VIGIL^<id>^EUI-64`` for an EUI-64 id."""
        if _EUI64.fullmatch(self.station_id):
            return f"VIGIL^{self.station_id.upper()}^EUI-64"
        return f"VIGIL^{self.station_id}"


@dataclass(frozen=True, slots=True)
class Demographics:
    """PID-5, -7 and -8 from the record's ``patients`` table."""

    family: str = ""
    given: str = ""
    date_of_birth: str = ""  # ISO 8601 date
    sex: str = "unknown"


@dataclass(frozen=True, slots=True)
class Hl7Message:
    control_id: str
    text: str  # segments each ended by \r

    def encode(self) -> bytes:
        return self.text.encode("utf-8")


def escape(text: str) -> str:
    """``text`` safe inside an HL7 field: delimiters and line breaks as escape sequences."""
    return "".join(_ESCAPES.get(c, c) for c in text)


def hl7_time(t: float) -> str:
    """Seconds since the epoch as an HL7 DTM in UTC to the millisecond, with its offset
    (PCD-01 wants the offset)."""
    if not math.isfinite(t):
        raise Hl7BuildError(f"time {t!r} is not a finite number")
    ms = round(t * 1000)
    when = dt.datetime.fromtimestamp(ms // 1000, dt.UTC)
    return f"{when:%Y%m%d%H%M%S}.{ms % 1000:03d}+0000"


def control_id(config: Hl7Config, row_id: int, created: float) -> str:
    """MSH-10 of a row: the same for every send of it, different for every other row."""
    return f"{config.station_id}-{row_id}-{round(created * 1000)}"


def build_message(
    row_id: int,
    created: float,
    kind: str,
    payload: Mapping[str, Any],
    *,
    config: Hl7Config,
    demographics: Demographics | None = None,
) -> Hl7Message:
    """The PCD-01 message of one outbox row; :class:`Hl7BuildError` if it cannot be one."""
    if kind not in HL7_KINDS:
        raise Hl7BuildError(f"row {row_id}: {kind!r} rows are not sent over PCD-01")
    try:
        ctrl = control_id(config, row_id, created)
        who = demographics or Demographics()
        segments = _segments(ctrl, hl7_time(created), kind, payload, config=config, who=who)
    except Hl7BuildError:
        raise
    except (KeyError, ValueError, TypeError) as err:
        raise Hl7BuildError(f"{kind} row {row_id} cannot be sent: {err}") from err
    return Hl7Message(ctrl, "".join(s + SEGMENT_END for s in segments))


def _segments(
    ctrl: str, sent: str, kind: str, payload: Mapping[str, Any], *, config: Hl7Config,
    who: Demographics,
) -> list[str]:  # fmt: skip
    readings = [payload] if kind == "vital" else _bp_readings(payload["readings"])
    if not readings:
        raise Hl7BuildError("a blood pressure without readings")
    device = _equipment(str(payload["device"]))
    location = f"{escape(config.point_of_care)}^^{escape(str(payload['bed']))}"
    filler = f"{escape(ctrl)}^{config.sending_application}"
    observed = hl7_time(float(payload["t"]))
    return [
        _msh(config, ctrl, sent),
        _pid(str(payload["mrn"]), config, who),
        _segment("PV1", "", "I", location),
        _segment("OBR", "1", "", filler, SERVICE, "", "", observed),
        *(_obx(i, r, device) for i, r in enumerate(readings, start=1)),
    ]


def _bp_readings(readings: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Systolic, diastolic, mean: the order of their metrics, whatever the row's order."""
    by_code = {str(r["code"]): r for r in readings}
    unknown = set(by_code) - set(BP_COMPONENTS)
    if unknown:
        raise Hl7BuildError(f"not a blood pressure reading: {', '.join(sorted(unknown))}")
    return [by_code[c] for c in BP_COMPONENTS if c in by_code]


def _msh(config: Hl7Config, ctrl: str, sent: str) -> str:
    # MSH-1 is the field separator itself, so MSH-2 is the first field after "MSH|".
    fields = [
        ENCODING,
        config.sending_application,
        escape(config.sending_facility),
        escape(config.receiving_application),
        escape(config.receiving_facility),
        sent,
        "",
        MESSAGE_TYPE,
        escape(ctrl),
        "P",
        VERSION,
        "",
        "",
        "AL",  # MSH-15 accept acknowledgement: always (the ACK the feed waits for)
        "NE",  # MSH-16 application acknowledgement: never (no second ACK)
        "",
        CHARSET,
        "",
        "",
        PROFILE,
    ]
    return "MSH|" + "|".join(fields)


def _pid(mrn: str, config: Hl7Config, who: Demographics) -> str:
    if not mrn.strip():
        raise Hl7BuildError("the row has no MRN")
    name = f"{escape(who.family)}^{escape(who.given)}^^^^^L"
    born = who.date_of_birth.replace("-", "") if who.date_of_birth else ""
    if born and not born.isdigit():
        raise Hl7BuildError(f"date of birth {who.date_of_birth!r} is not a date")
    identifier = f"{escape(mrn)}^^^{escape(config.assigning_authority)}^MR"
    return _segment("PID", "1", "", identifier, "", name, "", born, SEX.get(who.sex, "U"))


def _obx(set_id: int, reading: Mapping[str, Any], device: str) -> str:
    code = str(reading["code"])
    p = parameter(code)
    unit = str(reading["unit"])
    value = reading.get("value")
    if value is None or not math.isfinite(float(value)):
        raise Hl7BuildError(f"{code}: no value to send")
    if unit not in p.units:
        raise Hl7BuildError(f"{code}: unit {unit!r} is not one of {', '.join(p.units)}")
    return _segment(
        "OBX", str(set_id), "NM", _observation_id(p), _path(code),
        f"{float(value):.{p.decimals}f}", _units(code, unit), "", "", "", "", "F", "", "",
        hl7_time(float(reading["t"])), "", "", "", device,
    )  # fmt: skip


def _observation_id(p: Parameter) -> str:
    """OBX-3: the MDC code, with the vital-signs LOINC code as the alternate (CWE 4-6)."""
    mdc = f"{p.mdc.code}^{escape(p.mdc.display)}^MDC"
    if not p.loinc:
        return mdc
    loinc = p.loinc[0]
    return f"{mdc}^{loinc.code}^{escape(loinc.display)}^LN"


def _path(code: str) -> str:
    try:
        vmd, chan, metric = CONTAINMENT[code]
    except KeyError:
        raise Hl7BuildError(f"no containment path for parameter {code!r}") from None
    return f"1.{vmd}.{chan}.{metric}"


def _units(code: str, unit: str) -> str:
    ucum = f"{escape(unit)}^{escape(unit)}^UCUM"
    mdc = MDC_UNITS.get((code, unit))
    return f"{mdc}^{ucum}" if mdc else ucum


def _equipment(serial: str) -> str:
    """OBX-18 (EI): the serial; an EUI-64 also as the universal id, typed as one."""
    if not serial.strip():
        raise Hl7BuildError("the row names no device")
    if _EUI64.fullmatch(serial):
        return f"{serial.upper()}^^{serial.upper()}^EUI-64"
    return escape(serial)


def _segment(name: str, *fields: str) -> str:
    return "|".join((name, *fields)).rstrip("|")
