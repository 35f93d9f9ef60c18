"""SFLOAT/FLOAT with their precision and special values, Date Time, the reader, CRC-16/MCRF4XX."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.ble.numbers import (
    DateTime,
    MedFloat,
    Reader,
    crc16_mcrf4xx,
    decode_float,
    decode_sfloat,
)
from tests.fakes.ble_payloads import float32, sfloat


@pytest.mark.parametrize(
    ("raw", "value", "decimals"),
    [
        (0x0072, 114.0, 0),  # the PCHA / SIG white-paper examples (ble.md §3.1)
        (0xF014, 2.0, 1),
        (0xE0C8, 2.0, 2),
        (0x1002, 20.0, 0),
        (0x0B2E, -1234.0, 0),
        (0xF3E5, 99.7, 1),
        (0x0000, 0.0, 0),
    ],
)
def test_sfloat_keeps_value_and_precision(raw: int, value: float, decimals: int) -> None:
    number = decode_sfloat(raw)
    assert number.value == value
    assert number.decimals == decimals
    assert number.special is None


@pytest.mark.parametrize(
    ("raw", "value", "decimals"),
    [
        (0xFF00016C, 36.4, 1),
        (0xFE000D97, 34.79, 2),
        (0xFE000EB0, 37.6, 2),
        (0x00FFFB2E, -1234.0, 0),
    ],
)
def test_float_keeps_value_and_precision(raw: int, value: float, decimals: int) -> None:
    number = decode_float(raw)
    assert (number.value, number.decimals, number.special) == (value, decimals, None)


@pytest.mark.parametrize(
    ("raw", "name"),
    [(0x07FF, "NaN"), (0x0800, "NRes"), (0x07FE, "+INF"), (0x0802, "-INF"), (0x0801, "reserved")],
)
def test_sfloat_specials_have_no_value(raw: int, name: str) -> None:
    number = decode_sfloat(raw)
    assert number.value is None
    assert number.special == name
    assert number.decimals == 0


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        (0x007FFFFF, "NaN"),
        (0x00800000, "NRes"),
        (0x007FFFFE, "+INF"),
        (0x00800002, "-INF"),
        (0x00800001, "reserved"),
    ],
)
def test_float_specials_have_no_value(raw: int, name: str) -> None:
    assert (decode_float(raw).value, decode_float(raw).special) == (None, name)


def test_the_same_mantissa_with_another_exponent_is_a_number() -> None:
    # Only exponent 0 is special: 0x17FF is 2047·10.
    assert decode_sfloat(0x17FF).value == 20470.0


def test_scaling_shifts_precision_and_keeps_specials() -> None:
    glucose = MedFloat(95, -5)  # 95·10⁻⁵ kg/L
    assert glucose.scaled(5).value == 95.0
    assert glucose.scaled(5).decimals == 0
    assert MedFloat(30, 0).scaled(3).value == 30000.0
    nan = decode_sfloat(0x07FF)
    assert nan.scaled(5) == nan


def test_values_are_the_nearest_double_of_the_decimal() -> None:
    assert decode_sfloat(0xF3E5).value == float("99.7")
    assert decode_float(0xFA000001).value == float("1e-6")


@given(st.integers(-2048, 2047), st.integers(-8, 7))
@settings(max_examples=300, deadline=None)
def test_sfloat_encoder_round_trips(mantissa: int, exponent: int) -> None:
    raw = (exponent & 0xF) << 12 | (mantissa & 0xFFF)
    decoded = decode_sfloat(raw)
    if exponent == 0 and 0x07FE <= raw <= 0x0802:
        assert decoded.special is not None
        return
    assert decoded.value is not None
    assert sfloat(decoded.value, exponent) == raw.to_bytes(2, "little")
    assert decoded.decimals == max(0, -exponent)


@given(st.integers(-(2**23) + 3, 2**23 - 3), st.integers(-128, 127))
@settings(max_examples=200, deadline=None)
def test_float_encoder_round_trips(mantissa: int, exponent: int) -> None:
    raw = (exponent & 0xFF) << 24 | (mantissa & 0xFFFFFF)
    decoded = decode_float(raw)
    assert (decoded.mantissa, decoded.exponent, decoded.special) == (mantissa, exponent, None)
    assert decoded.value is not None
    assert float32(decoded.value, exponent) == raw.to_bytes(4, "little")


def test_sfloat_encoder_refuses_what_does_not_fit() -> None:
    with pytest.raises(ValueError, match="12-bit mantissa"):
        sfloat(5000)
    with pytest.raises(ValueError, match="special"):
        sfloat(2047)
    assert sfloat(98) == b"\x62\x00"
    assert sfloat(2.0, -1) == b"\x14\xf0"


def test_date_time_decodes_all_fields() -> None:
    stamp = DateTime.decode(bytes.fromhex("dc070c050b321b"))
    assert stamp == DateTime(2012, 12, 5, 11, 50, 27)
    assert stamp.to_datetime() == dt.datetime(2012, 12, 5, 11, 50, 27)
    assert str(stamp) == "2012-12-05 11:50:27"


def test_date_time_accepts_unknown_year_month_day() -> None:
    stamp = DateTime.decode(bytes.fromhex("00000000141e00"))
    assert (stamp.year, stamp.month, stamp.day) == (None, None, None)
    assert (stamp.hours, stamp.minutes, stamp.seconds) == (20, 30, 0)
    assert stamp.to_datetime() is None
    assert str(stamp) == "0000-00-00 20:30:00"
    assert DateTime.decode(bytes.fromhex("0000021d000000")).day == 29  # leap day, year unknown


@pytest.mark.parametrize(
    ("hex_bytes", "message"),
    [
        ("e3070d01000000", "month 13"),
        ("e3070120000000", "day 32"),
        ("e3070101180000", "hours 24"),
        ("e30701010a3c00", "minutes 60"),
        ("e30701010a003c", "seconds 60"),
        ("e307021e000000", "no such date"),  # 2019-02-30
        ("e307021d000000", "no such date"),  # 2019-02-29
        ("0000041f000000", "no such date"),  # April 31 of an unknown year
    ],
)
def test_date_time_rejects_impossible_values(hex_bytes: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DateTime.decode(bytes.fromhex(hex_bytes))


def test_reader_reads_little_endian_in_order() -> None:
    reader = Reader(bytes.fromhex("01 3412 785634 f0ff 62 00"), "test")
    assert reader.u8("a") == 1
    assert reader.u16("b") == 0x1234
    assert reader.uint(3, "c") == 0x345678
    assert reader.sint(2, "d") == -16
    assert reader.sfloat("e").value == 98.0
    assert reader.remaining == 0


def test_reader_says_what_is_missing() -> None:
    reader = Reader(b"\x01\x02\x03", "0x2A35 Blood Pressure Measurement")
    reader.u16("Flags and more")
    with pytest.raises(ValueError, match="needs 2 byte") as caught:
        reader.sfloat("Systolic")
    message = str(caught.value)
    assert "0x2A35 Blood Pressure Measurement" in message
    assert "'Systolic'" in message
    assert "1 present" in message


def test_reader_names_the_field_of_a_bad_date() -> None:
    reader = Reader(bytes.fromhex("e3070d01000000"), "0x2A1C Temperature Measurement")
    with pytest.raises(ValueError, match=r"0x2A1C Temperature.*'Time Stamp'.*month 13"):
        reader.date_time("Time Stamp")


def test_crc16_mcrf4xx_check_value() -> None:
    assert crc16_mcrf4xx(b"123456789") == 0x6F91
    assert crc16_mcrf4xx(b"") == 0xFFFF
    # The CGM record of Nordic's test, without its last two bytes (the CRC 0x3F8E).
    assert crc16_mcrf4xx(bytes.fromhex("0fe3d2e405000214ff02f0e5f3")) == 0x3F8E
