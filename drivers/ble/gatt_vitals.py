"""Decoders for Heart Rate (0x2A37), Pulse Oximeter (0x2A5E, 0x2A5F) and Blood Pressure (0x2A35,
0x2A36) characteristics. The keys are documented in :mod:`drivers.ble.gatt`."""

from __future__ import annotations

from drivers.ble.gatt_fields import Fields, flag_names, measured, sfloat_if
from drivers.ble.numbers import Reader

PLX_MEASUREMENT_STATUS = {
    5: "measurement_ongoing",
    6: "early_estimated_data",
    7: "validated_data",
    8: "fully_qualified_data",
    9: "data_from_measurement_storage",
    10: "data_for_demonstration",
    11: "data_for_testing",
    12: "calibration_ongoing",
    13: "measurement_unavailable",
    14: "questionable_measurement_detected",
    15: "invalid_measurement_detected",
}
PLX_DEVICE_SENSOR_STATUS = {
    0: "extended_display_update_ongoing",
    1: "equipment_malfunction_detected",
    2: "signal_processing_irregularity_detected",
    3: "inadequate_signal_detected",
    4: "poor_signal_detected",
    5: "low_perfusion_detected",
    6: "erratic_signal_detected",
    7: "nonpulsatile_signal_detected",
    8: "questionable_pulse_detected",
    9: "signal_analysis_ongoing",
    10: "sensor_interference_detected",
    11: "sensor_unconnected_to_user",
    12: "unknown_sensor_connected",
    13: "sensor_displaced",
    14: "sensor_malfunctioning",
    15: "sensor_disconnected",
}
BP_MEASUREMENT_STATUS = {
    0: "body_movement",
    1: "cuff_too_loose",
    2: "irregular_pulse",
    5: "improper_position",
}
# Bits 3–4 of the BP status are one 2-bit field; 0 means "within range", 3 is RFU.
BP_PULSE_RANGE = {1: "pulse_rate_above_range", 2: "pulse_rate_below_range"}
UNKNOWN_USER = 0xFF


def heart_rate(data: bytes, name: str) -> Fields:
    reader = Reader(data, name)
    flags = reader.u8("Flags")
    if flags & 0x01:
        bpm = reader.u16("Heart Rate Measurement Value (uint16)")
    else:
        bpm = reader.u8("Heart Rate Measurement Value (uint8)")
    energy = reader.u16("Energy Expended") if flags & 0x08 else None
    rr: list[float] = []
    if flags & 0x10:
        # All remaining bytes are RR intervals; the flag promises at least one.
        if reader.remaining == 0:
            raise reader.error("RR-Interval flag set but no RR-Interval bytes follow")
        if reader.remaining % 2:
            raise reader.error(f"RR-Intervals are uint16: {reader.remaining} bytes left is odd")
        rr = [reader.u16("RR-Interval") / 1024 for _ in range(reader.remaining // 2)]
    return {
        "heart_rate": bpm,
        # Bit 1 (contact detected) only means something when bit 2 (supported) is set.
        "sensor_contact": bool(flags & 0x02) if flags & 0x04 else None,
        "energy_expended": energy,
        "rr_intervals": rr,
    }


def _plx_status(reader: Reader, measurement: int, device: int) -> Fields:
    return {
        "measurement_status": (
            flag_names(reader.u16("Measurement Status"), PLX_MEASUREMENT_STATUS)
            if measurement
            else None
        ),
        "device_sensor_status": (
            flag_names(reader.uint(3, "Device and Sensor Status"), PLX_DEVICE_SENSOR_STATUS)
            if device
            else None
        ),
    }


def _plx_start(data: bytes, name: str, pair: str) -> tuple[Reader, int, Fields]:
    """The reader after the flags and the first SpO2/PR pair, the flags, and that pair."""
    reader = Reader(data, name)
    flags = reader.u8("Flags")
    out = measured("spo2", reader.sfloat(f"{pair}SpO2"))
    out |= measured("pulse_rate", reader.sfloat(f"{pair}PR"))
    return reader, flags, out


def plx_spot_check(data: bytes, name: str) -> Fields:
    reader, flags, out = _plx_start(data, name, "")
    out["timestamp"] = reader.date_time("Timestamp") if flags & 0x01 else None
    out |= _plx_status(reader, flags & 0x02, flags & 0x04)
    out |= measured("pulse_amplitude_index", sfloat_if(reader, flags & 0x08, "PAI"))
    out["device_clock_not_set"] = bool(flags & 0x10)
    return out


def plx_continuous(data: bytes, name: str) -> Fields:
    reader, flags, out = _plx_start(data, name, "SpO2PR-Normal ")
    for bit, speed in ((0x01, "fast"), (0x02, "slow")):
        out |= measured(f"spo2_{speed}", sfloat_if(reader, flags & bit, f"SpO2PR-{speed} SpO2"))
        out |= measured(f"pulse_rate_{speed}", sfloat_if(reader, flags & bit, f"SpO2PR-{speed} PR"))
    out |= _plx_status(reader, flags & 0x04, flags & 0x08)
    out |= measured("pulse_amplitude_index", sfloat_if(reader, flags & 0x10, "PAI"))
    return out


def _bp_status(raw: int) -> frozenset[str]:
    pulse_range = BP_PULSE_RANGE.get(raw >> 3 & 0b11)
    names = flag_names(raw, BP_MEASUREMENT_STATUS)
    return names | {pulse_range} if pulse_range else names


def blood_pressure(data: bytes, name: str) -> Fields:
    reader = Reader(data, name)
    flags = reader.u8("Flags")
    out = measured("systolic", reader.sfloat("Systolic"))
    out |= measured("diastolic", reader.sfloat("Diastolic"))
    out |= measured("mean_arterial", reader.sfloat("Mean Arterial Pressure"))
    out["unit"] = "kPa" if flags & 0x01 else "mmHg"
    out["timestamp"] = reader.date_time("Time Stamp") if flags & 0x02 else None
    out |= measured("pulse_rate", sfloat_if(reader, flags & 0x04, "Pulse Rate"))
    user = reader.u8("User ID") if flags & 0x08 else None
    out["user_id"] = None if user == UNKNOWN_USER else user
    out["measurement_status"] = (
        _bp_status(reader.u16("Measurement Status")) if flags & 0x10 else None
    )
    return out


DECODERS = {
    "2a37": ("Heart Rate Measurement", heart_rate),
    "2a5e": ("PLX Spot-check Measurement", plx_spot_check),
    "2a5f": ("PLX Continuous Measurement", plx_continuous),
    "2a35": ("Blood Pressure Measurement", blood_pressure),
    "2a36": ("Intermediate Cuff Pressure", blood_pressure),
}
