"""IHE PCD-01 ORU^R01 messages (app.sync.hl7_message), read back with the ``hl7`` package."""

from __future__ import annotations

from typing import Any

import hl7
import pytest

from app.sync.hl7_message import (
    Demographics,
    Hl7BuildError,
    Hl7Config,
    build_message,
    control_id,
    escape,
    hl7_time,
)
from app.sync.mllp import AckRejectedError, parse_ack

T = 1_790_000_000.25  # 2026-09-21 14:13:20.250 UTC
CONFIG = Hl7Config("station-7", "HOSP")
WHO = Demographics("Doe", "Jane", "1970-01-02", "female")


def vital(code: str = "HR", value: float | None = 72.0, unit: str = "/min") -> dict[str, Any]:
    return {"bed": "ICU-1", "mrn": "A1234567", "device": "SN-1", "code": code,
            "value": value, "unit": unit, "t": T, "quality": "valid"}  # fmt: skip


def bp() -> dict[str, Any]:
    readings = [
        {"code": c, "value": v, "unit": "mm[Hg]", "t": T, "quality": "valid"}
        for c, v in (("NIBP_MEAN", 93.0), ("NIBP_DIA", 80.0), ("NIBP_SYS", 120.0))
    ]
    return {"bed": "ICU-1", "mrn": "A1234567", "device": "SN-1", "t": T, "readings": readings}


def parse(text: str) -> Any:
    assert "\n" not in text
    assert text.endswith("\r")
    return hl7.parse(text)


def test_msh_says_pcd01_v26_with_a_deterministic_control_id() -> None:
    message = build_message(42, T, "vital", vital(), config=CONFIG, demographics=WHO)
    msh = parse(message.text).segment("MSH")
    assert str(msh(1)) == "|"
    assert str(msh(2)) == "^~\\&"
    assert str(msh(3)) == "VIGIL^station-7"
    assert str(msh(7)) == "20260921141320.250+0000"
    assert str(msh(9)) == "ORU^R01^ORU_R01"
    assert str(msh(10)) == message.control_id == "station-7-42-1790000000250"
    assert (str(msh(11)), str(msh(12))) == ("P", "2.6")
    assert (str(msh(15)), str(msh(16)), str(msh(18))) == ("AL", "NE", "UNICODE UTF-8")
    assert str(msh(21)) == "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO"


def test_a_resend_is_the_same_message_and_other_rows_get_other_ids() -> None:
    first = build_message(42, T, "vital", vital(), config=CONFIG, demographics=WHO)
    assert build_message(42, T, "vital", vital(), config=CONFIG, demographics=WHO) == first
    other = Hl7Config("other", "HOSP")
    ids = {control_id(CONFIG, 42, T), control_id(CONFIG, 43, T),
           control_id(CONFIG, 42, T + 1), control_id(other, 42, T)}  # fmt: skip
    assert len(ids) == 4


def test_an_eui64_station_is_named_as_one() -> None:
    config = Hl7Config("0123456789abcdef", "HOSP")
    msh = parse(build_message(1, T, "vital", vital(), config=config).text).segment("MSH")
    assert str(msh(3)) == "VIGIL^0123456789ABCDEF^EUI-64"


def test_pid_pv1_and_obr() -> None:
    message = parse(build_message(42, T, "vital", vital(), config=CONFIG, demographics=WHO).text)
    pid = message.segment("PID")
    assert str(pid(3)) == "A1234567^^^HOSP^MR"
    assert str(pid(5)) == "Doe^Jane^^^^^L"
    assert (str(pid(7)), str(pid(8))) == ("19700102", "F")
    assert str(message.segment("PV1")(2)) == "I"
    assert str(message.segment("PV1")(3)(1)(3)) == "ICU-1"  # PL.3: the bed
    obr = message.segment("OBR")
    assert str(obr(3)) == "station-7-42-1790000000250^VIGIL^station-7"
    assert str(obr(4)) == "182777000^monitoring of patient^SCT"
    assert str(obr(7)) == "20260921141320.250+0000"
    assert [str(s[0]) for s in message] == ["MSH", "PID", "PV1", "OBR", "OBX"]


def test_a_vital_is_one_obx_with_mdc_code_path_units_status_time_and_device() -> None:
    obx = parse(build_message(42, T, "vital", vital(), config=CONFIG).text).segment("OBX")
    assert str(obx(1)) == "1"
    assert str(obx(2)) == "NM"
    assert str(obx(3)) == "147842^MDC_ECG_HEART_RATE^MDC^8867-4^Heart rate^LN"
    assert str(obx(4)) == "1.1.1.1"
    assert str(obx(5)) == "72"
    assert str(obx(6)) == "264864^MDC_DIM_BEAT_PER_MIN^MDC^/min^/min^UCUM"
    assert str(obx(11)) == "F"
    assert str(obx(14)) == "20260921141320.250+0000"
    assert str(obx(18)) == "SN-1"


@pytest.mark.parametrize(
    ("code", "value", "unit", "path", "shown", "units"),
    [
        ("SPO2", 97.0, "%", "1.2.1.1", "97", "%^%^UCUM"),
        ("PR", 71.0, "/min", "1.2.1.2", "71", "264864^MDC_DIM_BEAT_PER_MIN^MDC^/min^/min^UCUM"),
        ("RR", 16.0, "/min", "1.4.1.1", "16", "/min^/min^UCUM"),
        ("TEMP", 37.14, "Cel", "1.5.1.1", "37.1", "Cel^Cel^UCUM"),
    ],
)
def test_each_parameter_has_its_own_path_and_unit(
    *, code: str, value: float, unit: str, path: str, shown: str, units: str
) -> None:
    obx = parse(build_message(1, T, "vital", vital(code, value, unit), config=CONFIG).text)
    segment = obx.segment("OBX")
    assert (str(segment(4)), str(segment(5)), str(segment(6))) == (path, shown, units)


def test_a_blood_pressure_is_three_obx_under_one_channel_in_order() -> None:
    message = parse(build_message(7, T, "blood_pressure", bp(), config=CONFIG).text)
    obx = message.segments("OBX")
    assert [str(s(1)) for s in obx] == ["1", "2", "3"]
    assert [str(s(3)(1)(1)) for s in obx] == ["150021", "150022", "150023"]
    assert [str(s(4)) for s in obx] == ["1.3.1.1", "1.3.1.2", "1.3.1.3"]
    assert [str(s(5)) for s in obx] == ["120", "80", "93"]
    assert {str(s(6)) for s in obx} == {"mm[Hg]^mm[Hg]^UCUM"}


def test_free_text_is_escaped_and_reads_back_unchanged() -> None:
    nasty = "A|B^C&D~E\\F"
    payload = vital() | {"bed": "Bed|2^x", "mrn": "M^1", "device": "S&N"}
    config = Hl7Config("station-7", "St Mary's & Co^")
    who = Demographics("O'Brien|Smith", nasty, "1970-01-02", "male")
    message = parse(build_message(3, T, "vital", payload, config=config, demographics=who).text)
    pid = message.segment("PID")
    assert len(pid) == 9  # no field was split by a "|" in the data
    assert message.unescape(str(pid(3)(1)(1))) == "M^1"
    assert message.unescape(str(pid(3)(1)(4))) == "St Mary's & Co^"
    assert message.unescape(str(pid(5)(1)(1))) == "O'Brien|Smith"
    assert message.unescape(str(pid(5)(1)(2))) == nasty
    assert message.unescape(str(message.segment("PV1")(3)(1)(3))) == "Bed|2^x"
    assert message.unescape(str(message.segment("OBX")(18))) == "S&N"
    assert escape("a\rb\nc") == "a\\X0D\\b\\X0A\\c"


def test_hl7_time_rounds_to_the_millisecond_in_utc() -> None:
    assert hl7_time(0.0) == "19700101000000.000+0000"
    assert hl7_time(1.9996) == "19700101000002.000+0000"


@pytest.mark.parametrize(
    ("kind", "payload", "reason"),
    [
        ("news2", vital(), "not sent over PCD-01"),
        ("alarm", vital(), "not sent over PCD-01"),
        ("vital", vital("PVC", 3.0, "/min"), "PVC"),
        ("vital", vital(value=None), "no value"),
        ("vital", vital("SPO2", 97.0, "mmHg"), "unit"),
        ("vital", {k: v for k, v in vital().items() if k != "mrn"}, "mrn"),
    ],
)
def test_rows_that_cannot_be_pcd01_are_refused(
    kind: str, payload: dict[str, Any], reason: str
) -> None:
    with pytest.raises(Hl7BuildError, match=reason):
        build_message(1, T, kind, payload, config=CONFIG)


@pytest.mark.parametrize("station", ["", "a b", "x|y", "é", "x" * 65])
def test_a_station_id_must_be_safe_in_every_field(station: str) -> None:
    with pytest.raises(ValueError, match="station id"):
        Hl7Config(station, "HOSP")


def test_an_ack_is_read_with_its_text() -> None:
    message = hl7.parse(build_message(42, T, "vital", vital(), config=CONFIG).text)
    ack = message.create_ack("AE", message_id="A1")
    ack.segment("MSA").assign_field(message.escape("bad | field"), 3)
    parsed = parse_ack(str(ack).encode())
    assert (parsed.code, parsed.control_id, parsed.text) == (
        "AE",
        "station-7-42-1790000000250",
        "bad | field",
    )
    assert str(AckRejectedError(parsed.code, parsed.text)) == "AE: bad | field"
