"""Polar PMD: commands, control point indications, features, ECG frames and sample timing."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.ble import pmd
from drivers.ble.gatt import decode
from tests.fakes.ble_payloads import pmd_cp_response, pmd_ecg_frame

H = bytes.fromhex
SDK_ECG_VECTOR = "00 0094357700000000 00 0280ff 028000"  # Polar SDK EcgDataTest
PERIOD = 1e9 / 130


def test_uuids() -> None:
    assert pmd.SERVICE_UUID == "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
    assert pmd.CONTROL_POINT_UUID.startswith("fb005c81-")
    assert pmd.DATA_UUID.startswith("fb005c82-")


def test_commands() -> None:
    assert pmd.start_ecg() == H("02 00 00 01 82 00 01 01 0E 00")
    assert pmd.start_ecg(sample_rate=250, resolution=16) == H("02 00 00 01 fa 00 01 01 10 00")
    assert pmd.stop_ecg() == H("0300")
    assert pmd.get_settings() == H("0100")
    assert pmd.get_settings(pmd.MeasurementType.ACC) == H("0102")
    with pytest.raises(ValueError, match="uint16"):
        pmd.start_ecg(sample_rate=70_000)


def test_success_response_to_start() -> None:
    response = pmd.parse_control_point(pmd_cp_response(0x02, 0x00, 0x00))
    assert isinstance(response, pmd.ControlPointResponse)
    assert (response.op_code, response.measurement_type, response.status) == (2, 0, 0)
    assert response.ok
    assert response.status_text == "success"
    assert response.more is False
    assert response.params == b""


def test_settings_response_carries_params_and_more() -> None:
    params = H("000182000101 0e00")
    response = pmd.parse_control_point(H("f0 01 00 00 01") + params)
    assert isinstance(response, pmd.ControlPointResponse)
    assert response.more is True
    assert response.params == params


@pytest.mark.parametrize(
    ("status", "text"),
    [(1, "invalid op code"), (6, "already in state"), (10, "invalid MTU"), (14, "disk full"),
     (99, "unknown status 99")],
)  # fmt: skip
def test_error_responses(status: int, text: str) -> None:
    response = pmd.parse_control_point(bytes([0xF0, 0x02, 0x00, status]))
    assert isinstance(response, pmd.ControlPointResponse)
    assert not response.ok
    assert response.status_text == text
    assert (response.more, response.params) == (False, b"")


def test_online_measurement_stopped() -> None:
    message = pmd.parse_control_point(H("01 00 02"))
    assert isinstance(message, pmd.MeasurementStopped)
    assert message.measurement_types == (0, 2)
    assert message.names == ("ECG", "ACC")


@pytest.mark.parametrize(
    ("hex_bytes", "message"),
    [("", "'response code'"), ("f00200", "'status'"), ("0f0500", "neither a response")],
)
def test_malformed_control_point(hex_bytes: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pmd.parse_control_point(H(hex_bytes))


@pytest.mark.parametrize(
    ("hex_bytes", "names"),
    [
        ("0f05", {"ECG", "ACC"}),  # a Polar H10
        ("0f0500", {"ECG", "ACC"}),
        ("0fef", {"ECG", "PPG", "ACC", "PPI", "GYRO", "MAGNETOMETER", "SKIN_TEMP"}),
        ("0f001e", {"SDK_MODE", "LOCATION", "PRESSURE", "TEMPERATURE"}),
        ("0f1060", {"OFFLINE_RECORDING", "OFFLINE_HR"}),
    ],
)
def test_features(hex_bytes: str, names: set[str]) -> None:
    assert pmd.parse_features(H(hex_bytes)) == names


def test_features_too_short() -> None:
    with pytest.raises(ValueError, match="'features'"):
        pmd.parse_features(H("0f"))


def test_sdk_ecg_vector() -> None:
    frame = pmd.decode_frame(H(SDK_ECG_VECTOR))
    assert frame.timestamp_ns == 2_000_000_000
    assert frame.samples_uv == (-32766, 32770)
    assert frame.frame_type == 0


def test_ecg_frame_through_gatt_decode() -> None:
    fields = decode(pmd.DATA_UUID.upper(), H(SDK_ECG_VECTOR))
    assert fields == {
        "measurement_type": "ECG",
        "timestamp_ns": 2_000_000_000,
        "frame_type": 0,
        "samples_uv": [-32766, 32770],
    }


@pytest.mark.parametrize(
    ("hex_bytes", "message"),
    [
        ("02 0094357700000000 01 000000", "ACC frames are not supported"),
        ("00 0094357700000000 80 000000", "compressed"),
        ("00 0094357700000000 01 000000", "frame type 1"),
        ("00 0094357700000000 00 0280", "2 bytes is not whole int24"),
        ("00 0094357700000000 00", "0 bytes"),
        ("00 00943577", "'timestamp'"),
    ],
)
def test_unsupported_or_malformed_frames(hex_bytes: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pmd.decode_frame(H(hex_bytes))


@given(
    st.lists(st.integers(-(2**23), 2**23 - 1), min_size=1, max_size=80), st.integers(0, 2**64 - 1)
)
@settings(max_examples=300, deadline=None)
def test_ecg_frame_round_trip(samples: list[int], timestamp: int) -> None:
    frame = pmd.decode_frame(pmd_ecg_frame(samples, timestamp))
    assert frame.samples_uv == tuple(samples)
    assert frame.timestamp_ns == timestamp


def test_polar_time_to_unix() -> None:
    assert pmd.polar_to_unix(0) == 946_684_800.0
    assert pmd.polar_to_unix(2_000_000_000) == 946_684_802.0
    reset = dt.datetime(2019, 1, 1, tzinfo=dt.UTC).timestamp()
    assert pmd.polar_to_unix(599_616_000_000_000_000) == reset


def test_first_frame_is_spread_back_at_the_nominal_rate() -> None:
    clock = pmd.EcgSampleClock(130)
    stamps = clock.timestamps(10_000_000_000, 73)
    assert stamps[-1] == 10_000_000_000
    assert stamps[0] == round(10_000_000_000 - 72 * PERIOD)
    assert stamps[1] - stamps[0] == pytest.approx(PERIOD, abs=1)


def test_later_frames_follow_the_sensor_clock() -> None:
    clock = pmd.EcgSampleClock(130)
    clock.timestamps(10_000_000_000, 73)
    # 73 samples in 0.5612 s: 130.08 Hz, the sensor's real rate, not the nominal one.
    stamps = clock.timestamps(10_561_200_000, 73)
    delta = 561_200_000 / 73
    assert stamps[0] == round(10_000_000_000 + delta)
    assert stamps[36] == round(10_000_000_000 + 37 * delta)
    assert stamps[-1] == 10_561_200_000


def test_sdk_vector_timing_on_a_first_frame() -> None:
    stamps = pmd.EcgSampleClock(130).timestamps(2_000_000_000, 2)
    assert stamps == [round(2_000_000_000 - PERIOD), 2_000_000_000]


@pytest.mark.parametrize("next_ts", [10_000_000_000, 9_000_000_000, 11_200_000_000])
def test_duplicates_resets_and_gaps_restart_the_clock(next_ts: int) -> None:
    clock = pmd.EcgSampleClock(130)
    clock.timestamps(10_000_000_000, 73)
    stamps = clock.timestamps(next_ts, 73)
    assert stamps[-1] == next_ts
    assert stamps[0] == round(next_ts - 72 * PERIOD)


def test_reset_forgets_the_previous_frame() -> None:
    clock = pmd.EcgSampleClock(130)
    clock.timestamps(10_000_000_000, 73)
    clock.reset()
    assert clock.timestamps(10_561_200_000, 73)[0] == round(10_561_200_000 - 72 * PERIOD)


def test_clock_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="at least one sample"):
        pmd.EcgSampleClock().timestamps(1, 0)
    with pytest.raises(ValueError, match="sample_rate"):
        pmd.EcgSampleClock(0)
