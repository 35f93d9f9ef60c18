"""GATT decoding of the vitals characteristics: every ble.md §5 vector, field by field."""

from __future__ import annotations

import pytest

from drivers.ble.gatt import characteristic_name, decode, full_uuid, short_uuid
from drivers.ble.numbers import DateTime

H = bytes.fromhex
NOV_21 = DateTime(2025, 11, 21, 10, 30, 0)


@pytest.mark.parametrize(
    ("hex_bytes", "bpm", "contact", "energy", "rr"),
    [
        ("0055", 85, None, None, []),  # Nordic: contact not supported
        ("04ff", 255, False, None, []),  # Nordic: supported, not detected
        ("1e5532002100", 85, True, 50, [33 / 1024]),
        ("1f0101320101000201ffff", 257, True, 306, [1 / 1024, 258 / 1024, 65535 / 1024]),
        ("1e460c006d03", 70, True, 12, [877 / 1024]),  # bumble's encoder
        ("163d0004", 61, True, None, [1.0]),  # captured through real BlueZ
    ],
)
def test_heart_rate_measurement(
    hex_bytes: str, bpm: int, contact: bool | None, energy: int | None, rr: list[float]
) -> None:
    assert decode("2A37", H(hex_bytes)) == {
        "heart_rate": bpm,
        "sensor_contact": contact,
        "energy_expended": energy,
        "rr_intervals": rr,
    }


def test_rr_intervals_are_exact_binary_fractions() -> None:
    rr = decode("2A37", H("1e460c006d03"))["rr_intervals"]
    assert rr == [0.8564453125]


@pytest.mark.parametrize(
    ("hex_bytes", "message"),
    [
        ("170101", "RR-Interval flag set but no RR-Interval bytes"),  # Nordic's invalid vector
        ("1055e803e8", "odd"),
        ("10", "Heart Rate Measurement Value"),
        ("01ff", r"needs 2 byte\(s\), 1 present"),
        ("0855e8", "Energy Expended"),
        ("", "'Flags'"),
    ],
)
def test_malformed_heart_rate_is_refused(hex_bytes: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode("2A37", H(hex_bytes))


def test_rfu_flag_bits_and_trailing_bytes_are_ignored() -> None:
    assert decode("2A37", H("e055ffff"))["heart_rate"] == 85
    assert decode("2A19", H("5700"))["battery_level"] == 87


def test_blood_pressure_full_with_unknown_year() -> None:
    fields = decode("2A35", H("1e8a00580078000000041114293b3c00012700"))
    assert (fields["systolic"], fields["diastolic"], fields["mean_arterial"]) == (138, 88, 120)
    assert fields["systolic_decimals"] == 0
    assert fields["systolic_reason"] is None
    assert fields["unit"] == "mmHg"
    assert fields["timestamp"] == DateTime(None, 4, 17, 20, 41, 59)
    assert fields["pulse_rate"] == 60
    assert fields["user_id"] == 1
    assert fields["measurement_status"] == {
        "body_movement",
        "cuff_too_loose",
        "irregular_pulse",
        "improper_position",
    }


def test_blood_pressure_in_kpa_with_some_fields() -> None:
    fields = decode("0x2A35", H("15bdf00b009ff03c001200"))
    assert (fields["systolic"], fields["diastolic"], fields["mean_arterial"]) == (18.9, 11, 15.9)
    assert (fields["systolic_decimals"], fields["diastolic_decimals"]) == (1, 0)
    assert fields["unit"] == "kPa"
    assert fields["timestamp"] is None
    assert fields["pulse_rate"] == 60
    assert fields["user_id"] is None
    assert fields["measurement_status"] == {"cuff_too_loose", "pulse_rate_below_range"}


def test_intermediate_cuff_pressure_has_the_same_layout() -> None:
    fields = decode("2a36", H("04 7800 ff07 ff07 4800"))
    assert fields["systolic"] == 120
    assert (fields["diastolic"], fields["diastolic_reason"]) == (None, "NaN")
    assert fields["mean_arterial_reason"] == "NaN"
    assert fields["pulse_rate"] == 72


def test_blood_pressure_status_above_range_and_unknown_user() -> None:
    fields = decode("2A35", H("18 7800 5000 5d00 ff 0800"))
    assert fields["user_id"] is None
    assert fields["measurement_status"] == {"pulse_rate_above_range"}
    assert fields["pulse_rate"] is None
    assert fields["pulse_rate_decimals"] is None


def test_temperature_measurement() -> None:
    fields = decode("2A1C", H("06b00e00fedc070c050b321b04"))
    assert (fields["temperature"], fields["temperature_decimals"]) == (37.6, 2)
    assert fields["temperature_reason"] is None
    assert fields["unit"] == "C"
    assert fields["timestamp"] == DateTime(2012, 12, 5, 11, 50, 27)
    assert fields["temperature_type"] == "finger"


def test_temperature_missing_its_last_byte_is_invalid() -> None:
    with pytest.raises(ValueError, match="Temperature Type"):
        decode("2A1C", H("06b00e00fedc070c050b321b"))


def test_intermediate_temperature_in_fahrenheit_with_reserved_type() -> None:
    fields = decode("2A1E", H("05 a50300ff 0c"))
    assert (fields["temperature"], fields["unit"]) == (93.3, "F")
    assert fields["temperature_type"] == "reserved (12)"


def test_temperature_nres() -> None:
    fields = decode("2A1C", H("00 00008000"))
    assert (fields["temperature"], fields["temperature_reason"]) == (None, "NRes")


def test_plx_continuous_normal_only() -> None:
    fields = decode("2A5F", H("0062004800"))
    assert (fields["spo2"], fields["pulse_rate"]) == (98, 72)
    for key in ("spo2_fast", "pulse_rate_slow", "pulse_amplitude_index"):
        assert fields[key] is None
        assert fields[f"{key}_reason"] is None
    assert fields["measurement_status"] is None
    assert fields["device_sensor_status"] is None


def test_plx_continuous_all_fields() -> None:
    fields = decode("2A5F", H("1f6100480062004a00600047008000201000f4f0"))
    assert (fields["spo2"], fields["pulse_rate"]) == (97, 72)
    assert (fields["spo2_fast"], fields["pulse_rate_fast"]) == (98, 74)
    assert (fields["spo2_slow"], fields["pulse_rate_slow"]) == (96, 71)
    assert fields["measurement_status"] == {"validated_data"}
    assert fields["device_sensor_status"] == {"low_perfusion_detected", "unknown_sensor_connected"}
    assert (fields["pulse_amplitude_index"], fields["pulse_amplitude_index_decimals"]) == (24.4, 1)


def test_plx_spot_check_all_fields() -> None:
    fields = decode("2A5E", H("0f62004800e9070b150a1e00800000000023f0"))
    assert (fields["spo2"], fields["pulse_rate"]) == (98, 72)
    assert fields["timestamp"] == NOV_21
    assert fields["measurement_status"] == {"validated_data"}
    assert fields["device_sensor_status"] == frozenset()
    assert fields["pulse_amplitude_index"] == 3.5
    assert fields["device_clock_not_set"] is False


def test_plx_spot_check_nan_and_clock_not_set() -> None:
    fields = decode("2A5E", H("10ff070000"))
    assert fields["spo2"] is None
    assert fields["spo2_reason"] == "NaN"
    assert fields["spo2_decimals"] is None
    assert (fields["pulse_rate"], fields["pulse_rate_reason"]) == (0, None)
    assert fields["timestamp"] is None
    assert fields["device_clock_not_set"] is True


def test_plx_short_of_a_flagged_field() -> None:
    with pytest.raises(ValueError, match=r"0x2A5F PLX Continuous.*'Device and Sensor Status'"):
        decode("2A5F", H("08620048002010"))


@pytest.mark.parametrize(
    ("hex_bytes", "weight", "decimals", "unit"),
    [("00b036", 70.0, 3, "kg"), ("01543d", 157.0, 2, "lb"), ("00c900", 1.005, 3, "kg")],
)
def test_weight(hex_bytes: str, weight: float, decimals: int, unit: str) -> None:
    fields = decode("2A9D", H(hex_bytes))
    assert (fields["weight"], fields["weight_decimals"], fields["unit"]) == (weight, decimals, unit)
    assert fields["timestamp"] is None
    assert (fields["bmi"], fields["height"], fields["height_unit"]) == (None, None, None)


def test_weight_with_time_user_bmi_and_height() -> None:
    fields = decode("2A9D", H("0eb036e9070b150a1e0002e400d606"))
    assert fields["weight"] == 70.0
    assert fields["timestamp"] == NOV_21
    assert fields["user_id"] == 2
    assert (fields["bmi"], fields["bmi_decimals"]) == (22.8, 1)
    assert (fields["height"], fields["height_decimals"], fields["height_unit"]) == (1.75, 3, "m")


def test_imperial_height_is_in_inches() -> None:
    fields = decode("2A9D", H("09 543d e400 b702"))
    assert (fields["height"], fields["height_unit"]) == (69.5, "in")


def test_weight_unsuccessful_has_no_value_and_a_reason() -> None:
    fields = decode("2A9D", H("00ffff"))
    assert fields["weight"] is None
    assert fields["weight_reason"] == "measurement unsuccessful"


def test_weight_flag_3_needs_both_bmi_and_height() -> None:
    with pytest.raises(ValueError, match="'Height'"):
        decode("2A9D", H("08b036e400"))


def test_battery_level() -> None:
    assert decode("2A19", H("57")) == {"battery_level": 87}
    assert decode("2A19", H("64")) == {"battery_level": 100}
    with pytest.raises(ValueError, match="101 % is above 100"):
        decode("2A19", H("65"))
    with pytest.raises(ValueError, match="Battery Level"):
        decode("2A19", b"")


@pytest.mark.parametrize(
    "uuid",
    ["2A37", "2a37", "0x2A37", "0X2a37", " 2a37 ", "00002a37-0000-1000-8000-00805f9b34fb",
     "00002A37-0000-1000-8000-00805F9B34FB"],
)  # fmt: skip
def test_uuid_forms(uuid: str) -> None:
    assert short_uuid(uuid) == "2a37"
    assert decode(uuid, H("0055"))["heart_rate"] == 85


def test_uuid_helpers() -> None:
    assert full_uuid("0x2A19") == "00002a19-0000-1000-8000-00805f9b34fb"
    assert characteristic_name("2a37") == "0x2A37 Heart Rate Measurement"
    polar = "FB005C82-02E7-F387-1CAD-8ACD2D8DF0C8"
    assert full_uuid(polar) == polar.lower()
    assert characteristic_name(polar.lower()) == f"{polar} Polar PMD data"


@pytest.mark.parametrize(
    ("uuid", "message"),
    [
        ("2A60", "unknown characteristic UUID '2A60'"),
        ("0000fb00-0000-1000-8000-00805f9b34fc", "unknown characteristic"),
        ("heart rate", "not a Bluetooth UUID"),
        ("2A3", "not a Bluetooth UUID"),
        ("", "not a Bluetooth UUID"),
    ],
)
def test_unknown_uuid_is_named(uuid: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode(uuid, H("0055"))


def test_bytearray_from_bleak_is_accepted() -> None:
    assert decode("2A19", bytearray(b"\x57")) == {"battery_level": 87}
