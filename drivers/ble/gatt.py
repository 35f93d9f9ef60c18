"""Decode a Bluetooth LE characteristic value: ``decode(uuid, data) -> dict[str, object]``.

``uuid`` is the 16-bit short form (``"2A37"``, ``"2a37"``, ``"0x2A37"``) or the full 128-bit
form, any case. An unknown UUID, and data that does not fit its flags, raise ValueError with
the characteristic, the field and the byte counts; nothing else is ever raised for any bytes.
RFU flag bits are ignored, and so are bytes after the last field the flags announce (later
versions of a spec append fields there). Multi-byte fields are little-endian.

Measured numbers (SFLOAT/FLOAT, and scaled integers that have a "no value" code) give three keys:
``x`` float or None, ``x_decimals`` the precision the device meant (``2.00`` → 2) and
``x_reason``: None, or why there is no number: ``"NaN"``, ``"NRes"`` (not at this resolution),
``"+INF"``, ``"-INF"``, ``"reserved"``, or ``"measurement unsuccessful"`` (weight 0xFFFF).
An optional field the flags leave out has all three None. Below, "(m)" marks such a triplet.

Other optional fields are None when absent. Timestamps are :class:`drivers.ble.numbers.DateTime`
(year, month, day None when the device sent 0 = unknown). Status fields are frozensets of the
names of the set bits. Enumerated codes are names; a code the spec reserves is ``"reserved (N)"``.

0x2A37 Heart Rate Measurement
    heart_rate int bpm; sensor_contact True/False, None when contact is not supported;
    energy_expended int kJ or None; rr_intervals list of float s (raw/1024, exact).
0x2A5F PLX Continuous Measurement
    spo2 (m) %, pulse_rate (m) bpm, spo2_fast (m), pulse_rate_fast (m), spo2_slow (m),
    pulse_rate_slow (m); measurement_status, device_sensor_status (frozensets, see
    ``gatt_vitals.PLX_*``); pulse_amplitude_index (m) %.
0x2A5E PLX Spot-check Measurement
    spo2 (m), pulse_rate (m), timestamp, measurement_status, device_sensor_status,
    pulse_amplitude_index (m), device_clock_not_set bool.
0x2A35 Blood Pressure Measurement, 0x2A36 Intermediate Cuff Pressure
    systolic (m), diastolic (m), mean_arterial (m), unit "mmHg"/"kPa"; timestamp;
    pulse_rate (m) bpm; user_id int, None when absent or 0xFF (unknown user);
    measurement_status: body_movement, cuff_too_loose, irregular_pulse, pulse_rate_above_range,
    pulse_rate_below_range, improper_position.
0x2A1C Temperature Measurement, 0x2A1E Intermediate Temperature
    temperature (m), unit "C"/"F", timestamp, temperature_type ("armpit", "body", "ear",
    "finger", "gastrointestinal_tract", "mouth", "rectum", "toe", "tympanum").
0x2A18 Glucose Measurement
    sequence_number int, base_time DateTime, time_offset int minutes (signed) or None;
    concentration (m) as sent, concentration_unit "kg/L"/"mol/L"; glucose (m) the same value
    in glucose_unit "mg/dL"/"mmol/L"; type (e.g. "capillary_plasma"), sample_location (e.g.
    "finger"); sensor_status (e.g. "device_battery_low", "result_too_high"); context_follows.
0x2AA7 CGM Measurement
    records: list of dicts, one a record: glucose (m), unit "mg/dL", time_offset int minutes
    since session start, warning_octet, cal_temp_octet, status_octet (int or None: the raw
    annunciation octets), trend (m) (mg/dL)/min, quality (m) %, crc_valid True when an E2E-CRC
    was sent and matched, None when none was sent. A mismatching CRC raises ValueError.
0x2A9D Weight Measurement
    weight (m), unit "kg"/"lb", timestamp, user_id (as BPM), bmi (m), height (m), height_unit
    "m"/"in" or None (one flag, bit 3, carries BMI and height together).
0x2A19 Battery Level
    battery_level int 0–100.
0x2A52 Record Access Control Point (responses)
    op_code, record_count, request_op_code, request, response_code, response, succeeded.
FB005C82-02E7-F387-1CAD-8ACD2D8DF0C8 Polar PMD data
    measurement_type "ECG", timestamp_ns (last sample), frame_type, samples_uv list of int.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from drivers.ble import gatt_body, gatt_cgm, gatt_glucose, gatt_vitals, pmd, racp

Decoder = Callable[[bytes, str], dict[str, object]]

_SIG_BASE = re.compile(r"0000([0-9a-f]{4})-0000-1000-8000-00805f9b34fb")
_FULL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_SHORT = re.compile(r"(?:0x)?([0-9a-f]{4})")

# Key: the 16-bit UUID in lower case, or the full UUID for vendor characteristics.
CHARACTERISTICS: dict[str, tuple[str, Decoder]] = {
    **gatt_vitals.DECODERS,
    **gatt_body.DECODERS,
    "2a18": ("Glucose Measurement", gatt_glucose.glucose_measurement),
    "2aa7": ("CGM Measurement", gatt_cgm.cgm_measurement),
    "2a52": ("Record Access Control Point", racp.response_fields),
    pmd.DATA_UUID: ("Polar PMD data", pmd.frame_fields),
}


def short_uuid(uuid: str) -> str:
    """The registry key for ``uuid``: 4 lower-case hex digits for SIG UUIDs, else the full
    lower-case UUID. ValueError for a string that is no UUID."""
    text = uuid.strip().lower()
    for pattern in (_SHORT, _SIG_BASE):
        match = pattern.fullmatch(text)
        if match:
            return match.group(1)
    if _FULL.fullmatch(text):
        return text
    raise ValueError(f"not a Bluetooth UUID: {uuid!r}")


def full_uuid(uuid: str) -> str:
    """The 128-bit form bleak reports, e.g. ``"00002a37-0000-1000-8000-00805f9b34fb"``."""
    key = short_uuid(uuid)
    return f"0000{key}-0000-1000-8000-00805f9b34fb" if len(key) == 4 else key


def characteristic_name(uuid: str) -> str:
    """E.g. ``"0x2A37 Heart Rate Measurement"``; ValueError for an unsupported UUID."""
    key = short_uuid(uuid)
    if key not in CHARACTERISTICS:
        raise ValueError(f"unknown characteristic UUID {uuid!r}")
    label = f"0x{key.upper()}" if len(key) == 4 else key.upper()
    return f"{label} {CHARACTERISTICS[key][0]}"


def decode(uuid: str, data: bytes | bytearray) -> dict[str, object]:
    """The fields of one characteristic value (see the module docstring for the keys)."""
    name = characteristic_name(uuid)
    return CHARACTERISTICS[short_uuid(uuid)][1](bytes(data), name)
