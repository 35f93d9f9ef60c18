"""Decoders for Temperature (0x2A1C, 0x2A1E), Weight (0x2A9D) and Battery Level (0x2A19).
The keys are documented in :mod:`drivers.ble.gatt`."""

from __future__ import annotations

from drivers.ble.gatt_fields import Fields, code_name, measured
from drivers.ble.numbers import MedFloat, Reader

TEMPERATURE_TYPES = {
    1: "armpit",
    2: "body",
    3: "ear",
    4: "finger",
    5: "gastrointestinal_tract",
    6: "mouth",
    7: "rectum",
    8: "toe",
    9: "tympanum",
}
WEIGHT_UNSUCCESSFUL = 0xFFFF  # WSS: "measurement unsuccessful"
UNKNOWN_USER = 0xFF


def temperature(data: bytes, name: str) -> Fields:
    reader = Reader(data, name)
    flags = reader.u8("Flags")
    out = measured("temperature", reader.float32("Temperature Measurement Value"))
    out["unit"] = "F" if flags & 0x01 else "C"
    out["timestamp"] = reader.date_time("Time Stamp") if flags & 0x02 else None
    out["temperature_type"] = (
        code_name(reader.u8("Temperature Type"), TEMPERATURE_TYPES) if flags & 0x04 else None
    )
    return out


def weight(data: bytes, name: str) -> Fields:
    reader = Reader(data, name)
    flags = reader.u8("Flags")
    imperial = bool(flags & 0x01)
    raw = reader.u16("Weight")
    # Resolution 0.005 kg (= 5·10⁻³) or 0.01 lb, kept as the number of decimals.
    if raw == WEIGHT_UNSUCCESSFUL:
        mass = MedFloat(0, 0, "measurement unsuccessful")
    else:
        mass = MedFloat(raw, -2) if imperial else MedFloat(raw * 5, -3)
    out = measured("weight", mass)
    out["unit"] = "lb" if imperial else "kg"
    out["timestamp"] = reader.date_time("Time Stamp") if flags & 0x02 else None
    user = reader.u8("User ID") if flags & 0x04 else None
    out["user_id"] = None if user == UNKNOWN_USER else user
    # One flag (bit 3) for both BMI and height.
    both = bool(flags & 0x08)
    out |= measured("bmi", MedFloat(reader.u16("BMI"), -1) if both else None)
    height = reader.u16("Height") if both else None
    out |= measured("height", None if height is None else MedFloat(height, -1 if imperial else -3))
    out["height_unit"] = ("in" if imperial else "m") if both else None
    return out


def battery_level(data: bytes, name: str) -> Fields:
    reader = Reader(data, name)
    level = reader.u8("Battery Level")
    if level > 100:
        raise reader.error(f"Battery Level {level} % is above 100 %")
    return {"battery_level": level}


DECODERS = {
    "2a1c": ("Temperature Measurement", temperature),
    "2a1e": ("Intermediate Temperature", temperature),
    "2a9d": ("Weight Measurement", weight),
    "2a19": ("Battery Level", battery_level),
}
