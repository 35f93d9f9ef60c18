"""Properties of the GATT decoders: any bytes give a dict or a ValueError, never anything else,
and what the fake peripherals' encoders send decodes back to what they were given."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.ble import pmd, racp
from drivers.ble.gatt import CHARACTERISTICS, decode
from drivers.ble.gatt_cgm import record_size
from drivers.ble.numbers import crc16_mcrf4xx
from tests.fakes import ble_payloads as enc

UUIDS = sorted(CHARACTERISTICS)


def decodes_or_refuses(uuid: str, data: bytes) -> None:
    try:
        fields = decode(uuid, data)
    except ValueError:
        return
    assert isinstance(fields, dict)
    assert fields


@given(st.sampled_from(UUIDS), st.binary(max_size=48))
@settings(max_examples=1500, deadline=None)
def test_random_bytes_only_ever_raise_value_error(uuid: str, data: bytes) -> None:
    decodes_or_refuses(uuid, data)


@given(st.sampled_from(UUIDS), st.integers(0, 255), st.binary(max_size=40))
@settings(max_examples=1000, deadline=None)
def test_every_flag_combination_decodes_or_refuses(uuid: str, flags: int, rest: bytes) -> None:
    decodes_or_refuses(uuid, bytes([flags]) + rest)


@given(st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=16)), min_size=1, max_size=4))
@settings(max_examples=500, deadline=None)
def test_cgm_records_with_plausible_sizes_decode_or_refuse(parts: list[tuple[int, bytes]]) -> None:
    data = b""
    for flags, body in parts:
        payload = bytes([flags]) + body
        data += bytes([len(payload) + 1]) + payload
    decodes_or_refuses("2AA7", data)


@given(st.integers(0, 255), st.binary(min_size=11, max_size=11))
@settings(max_examples=300, deadline=None)
def test_cgm_records_with_a_correct_crc_are_valid(flags: int, filler: bytes) -> None:
    base = record_size(flags)
    record = bytes([base + 2, flags]) + filler[: base - 2]
    data = record + crc16_mcrf4xx(record).to_bytes(2, "little")
    records = decode("2AA7", data)["records"]
    assert isinstance(records, list)
    assert records[0]["crc_valid"] is True
    assert records[0]["time_offset"] == int.from_bytes(record[4:6], "little")


@given(st.binary(max_size=40))
@settings(max_examples=500, deadline=None)
def test_pmd_and_racp_parsers_only_raise_value_error(data: bytes) -> None:
    for parse in (
        pmd.parse_control_point,
        pmd.parse_features,
        pmd.decode_frame,
        racp.decode_response,
    ):
        try:
            result = parse(data)
        except ValueError:
            continue
        assert result is not None


@given(
    st.integers(0, 65535),
    st.none() | st.booleans(),
    st.none() | st.integers(0, 65535),
    st.lists(st.integers(0, 65535), max_size=8),
)
@settings(max_examples=300, deadline=None)
def test_heart_rate_round_trip(
    bpm: int, contact: bool | None, energy: int | None, rr_raw: list[int]
) -> None:
    rr = [raw / 1024 for raw in rr_raw]
    data = enc.heart_rate_measurement(bpm, contact=contact, energy_kj=energy, rr_s=rr)
    assert decode("2A37", data) == {
        "heart_rate": bpm,
        "sensor_contact": contact,
        "energy_expended": energy,
        "rr_intervals": rr,
    }


tenths = st.integers(0, 2045).map(lambda n: n / 10)


@given(st.none() | tenths, st.none() | st.integers(0, 2045).map(float))
@settings(max_examples=300, deadline=None)
def test_plx_round_trip(spo2: float | None, pulse: float | None) -> None:
    fields = decode("2A5F", enc.plx_continuous(spo2, pulse))
    assert (fields["spo2"], fields["pulse_rate"]) == (spo2, pulse)
    assert fields["spo2_reason"] == (None if spo2 is not None else "NaN")
    assert fields["pulse_rate_reason"] == (None if pulse is not None else "NaN")


@given(tenths, tenths, tenths, st.none() | tenths, st.booleans())
@settings(max_examples=300, deadline=None)
def test_blood_pressure_round_trip(
    sys: float, dia: float, mean: float, pulse: float | None, kpa: bool
) -> None:
    fields = decode("2A35", enc.blood_pressure(sys, dia, mean, pulse=pulse, kpa=kpa))
    assert (fields["systolic"], fields["diastolic"], fields["mean_arterial"]) == (sys, dia, mean)
    assert fields["pulse_rate"] == pulse
    assert fields["unit"] == ("kPa" if kpa else "mmHg")


@given(st.integers(-(2**23) + 3, 2**23 - 3))
@settings(max_examples=300, deadline=None)
def test_temperature_round_trip(hundredths: int) -> None:
    celsius = hundredths / 100
    fields = decode("2A1C", enc.temperature(celsius))
    assert (fields["temperature"], fields["temperature_decimals"]) == (celsius, 2)
    assert fields["unit"] == "C"


@given(st.integers(0, 0xFFFE))
@settings(max_examples=300, deadline=None)
def test_weight_round_trip(steps: int) -> None:
    kg = steps * 5 / 1000
    fields = decode("2A9D", enc.weight_kg(kg))
    assert (fields["weight"], fields["unit"], fields["weight_reason"]) == (kg, "kg", None)


@given(st.integers(0, 100))
def test_battery_round_trip(level: int) -> None:
    assert decode("2A19", enc.battery(level)) == {"battery_level": level}
