"""Glucose Measurement, its Record Access Control Point, and CGM Measurement records."""

from __future__ import annotations

import pytest

from drivers.ble import racp
from drivers.ble.gatt import decode
from drivers.ble.numbers import DateTime, crc16_mcrf4xx

H = bytes.fromhex
NORDIC_CGM_FULL = "0fe3d2e405000214ff02f0e5f38e3f"


def cgm_records(data: bytes) -> list[dict[str, object]]:
    records = decode("2AA7", data)["records"]
    assert isinstance(records, list)
    return records


def test_glucose_measurement_nordic_vector() -> None:
    fields = decode("2A18", H("1b0100e307021b0b0a1efbff1e00120501"))
    assert fields["sequence_number"] == 1
    assert fields["base_time"] == DateTime(2019, 2, 27, 11, 10, 30)
    assert fields["time_offset"] == -5
    # 30 kg/L as Nordic's test has it (sic), which is 3 000 000 mg/dL.
    assert (fields["concentration"], fields["concentration_unit"]) == (30, "kg/L")
    assert (fields["glucose"], fields["glucose_unit"]) == (3_000_000, "mg/dL")
    assert fields["type"] == "capillary_plasma"
    assert fields["sample_location"] == "finger"
    assert fields["sensor_status"] == {
        "device_battery_low",
        "sample_size_insufficient",
        "temperature_too_low",
    }
    assert fields["context_follows"] is True


def test_glucose_realistic_kg_per_litre_converts_with_precision() -> None:
    # 95·10⁻⁵ kg/L = 95 mg/dL; sample type 1, location 15 (not available).
    fields = decode("2A18", H("02 0700 e9070b150a1e00 5fb0 f1"))
    assert fields["concentration"] == 0.00095
    assert fields["concentration_decimals"] == 5
    assert (fields["glucose"], fields["glucose_decimals"]) == (95, 0)
    assert fields["type"] == "capillary_whole_blood"
    assert fields["sample_location"] == "not_available"
    assert fields["time_offset"] is None
    assert fields["sensor_status"] is None
    assert fields["context_follows"] is False


def test_glucose_in_mol_per_litre() -> None:
    # 53·10⁻⁴ mol/L = 5.3 mmol/L, venous plasma from the earlobe.
    fields = decode("2A18", H("06 0200 e9070b150a1e00 35c0 34"))
    assert (fields["concentration"], fields["concentration_unit"]) == (0.0053, "mol/L")
    assert (fields["glucose"], fields["glucose_decimals"], fields["glucose_unit"]) == (
        5.3,
        1,
        "mmol/L",
    )
    assert (fields["type"], fields["sample_location"]) == ("venous_plasma", "earlobe")


def test_glucose_without_concentration() -> None:
    fields = decode("2A18", H("00 0300 e9070b150a1e00"))
    assert fields["sequence_number"] == 3
    for key in ("concentration", "concentration_unit", "glucose", "glucose_unit", "type"):
        assert fields[key] is None


def test_glucose_short_base_time() -> None:
    with pytest.raises(ValueError, match=r"0x2A18 Glucose.*'Base Time' .*needs 7 byte"):
        decode("2A18", H("00 0100 e907"))


def test_racp_requests() -> None:
    assert racp.report_all_records() == H("0101")
    assert racp.report_number_of_records() == H("0401")
    assert racp.report_records_from(0x1234) == H("0103013412")
    assert racp.abort() == H("0300")
    with pytest.raises(ValueError, match="uint16"):
        racp.report_records_from(70_000)


def test_racp_number_of_records_response() -> None:
    response = racp.decode_response(H("05002a00"))
    assert response.record_count == 42
    assert response.succeeded
    assert response.response is None


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (1, "success"),
        (2, "op code not supported"),
        (3, "invalid operator"),
        (4, "operator not supported"),
        (5, "invalid operand"),
        (6, "no records found"),
        (7, "abort unsuccessful"),
        (8, "procedure not completed"),
        (9, "operand not supported"),
        (0x42, "reserved (66)"),
    ],
)
def test_racp_general_response(code: int, text: str) -> None:
    response = racp.decode_response(bytes([6, 0, 1, code]))
    assert response.request_op_code == 1
    assert response.request == "report stored records"
    assert response.response_code == code
    assert response.response == text
    assert response.succeeded is (code == 1)


def test_racp_through_decode() -> None:
    fields = decode("2A52", H("06000306"))
    assert fields["request"] == "abort operation"
    assert fields["response"] == "no records found"
    assert fields["succeeded"] is False
    assert fields["record_count"] is None


@pytest.mark.parametrize(
    ("hex_bytes", "message"), [("0101", "not a response"), ("0600", "Request")]
)
def test_racp_malformed(hex_bytes: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        racp.decode_response(H(hex_bytes))


def test_cgm_full_record_with_valid_crc() -> None:
    (record,) = cgm_records(H(NORDIC_CGM_FULL))
    assert (record["glucose"], record["glucose_decimals"], record["unit"]) == (12.34, 2, "mg/dL")
    assert record["time_offset"] == 5
    assert (record["warning_octet"], record["cal_temp_octet"], record["status_octet"]) == (
        0x02,
        0x14,
        0xFF,
    )
    assert (record["trend"], record["trend_decimals"]) == (0.2, 1)
    assert (record["quality"], record["quality_decimals"]) == (99.7, 1)
    assert record["crc_valid"] is True


def test_cgm_small_record() -> None:
    (record,) = cgm_records(H("06000c100600"))
    assert (record["glucose"], record["time_offset"]) == (120, 6)
    assert record["trend"] is None
    assert record["warning_octet"] is None
    assert record["crc_valid"] is None


def test_cgm_two_records_in_one_notification() -> None:
    records = cgm_records(H("06000c100500 06000c100600"))
    assert [(r["glucose"], r["time_offset"]) for r in records] == [(120, 5), (120, 6)]


def test_cgm_with_crc_then_without() -> None:
    record = H("0c03 7800 0700 0000 6400")  # size 12 = 10 + CRC: trend and quality
    with_crc = record + crc16_mcrf4xx(record).to_bytes(2, "little")
    records = cgm_records(with_crc + H("06000c100600"))
    assert [r["crc_valid"] for r in records] == [True, None]
    assert records[0]["quality"] == 100


def test_cgm_wrong_crc_is_refused() -> None:
    corrupt = H(NORDIC_CGM_FULL[:-4] + "8f3f")
    with pytest.raises(ValueError, match="E2E-CRC mismatch: received 0x3F8F, computed 0x3F8E"):
        decode("2AA7", corrupt)
    flipped = H("0fe3d3" + NORDIC_CGM_FULL[6:])  # a glucose bit flipped, CRC as sent
    with pytest.raises(ValueError, match="E2E-CRC mismatch"):
        decode("2AA7", flipped)


@pytest.mark.parametrize(
    ("hex_bytes", "message"),
    [
        ("", "no record"),
        ("07000c1006000000", "Size 7 does not fit flags 0x00"),
        ("0d03d2e40500", r"'record 1' .*needs 13 byte"),
        ("05000c1006", "Size 5 is below the minimum 6"),
        ("06000c100600 00", "record 2: Size 0"),
        ("0ae3d2e40500021402f0e5f3", "Size 10 does not fit flags 0xE3"),
    ],
)
def test_cgm_inconsistent_sizes_are_refused(hex_bytes: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode("2AA7", H(hex_bytes))
