"""Decoder for the Glucose Measurement (0x2A18). The keys are documented in
:mod:`drivers.ble.gatt`; the records come in answer to a Record Access Control Point request
(:mod:`drivers.ble.racp`)."""

from __future__ import annotations

from drivers.ble.gatt_fields import Fields, code_name, flag_names, measured
from drivers.ble.numbers import MedFloat, Reader

GLUCOSE_TYPES = {
    1: "capillary_whole_blood",
    2: "capillary_plasma",
    3: "venous_whole_blood",
    4: "venous_plasma",
    5: "arterial_whole_blood",
    6: "arterial_plasma",
    7: "undetermined_whole_blood",
    8: "undetermined_plasma",
    9: "interstitial_fluid",
    10: "control_solution",
}
SAMPLE_LOCATIONS = {
    1: "finger",
    2: "alternate_site_test",
    3: "earlobe",
    4: "control_solution",
    15: "not_available",
}
SENSOR_STATUS = {
    0: "device_battery_low",
    1: "sensor_malfunction",
    2: "sample_size_insufficient",
    3: "strip_insertion_error",
    4: "strip_type_incorrect",
    5: "result_too_high",
    6: "result_too_low",
    7: "temperature_too_high",
    8: "temperature_too_low",
    9: "read_interrupted",
    10: "general_device_fault",
    11: "time_fault",
}
# The SI unit on the wire and the clinical unit it converts to, as a power of ten:
# 1 kg/L = 10⁵ mg/dL, 1 mol/L = 10³ mmol/L.
UNITS = {False: ("kg/L", "mg/dL", 5), True: ("mol/L", "mmol/L", 3)}


def glucose_measurement(data: bytes, name: str) -> Fields:
    reader = Reader(data, name)
    flags = reader.u8("Flags")
    out: Fields = {
        "sequence_number": reader.u16("Sequence Number"),
        "base_time": reader.date_time("Base Time"),
        "time_offset": reader.sint(2, "Time Offset") if flags & 0x01 else None,
    }
    concentration: MedFloat | None = None
    glucose: MedFloat | None = None
    si_unit = clinical_unit = sample = None
    if flags & 0x02:
        concentration = reader.sfloat("Glucose Concentration")
        si_unit, clinical_unit, power = UNITS[bool(flags & 0x04)]
        glucose = concentration.scaled(power)
        sample = reader.u8("Type-Sample Location")
    out |= measured("concentration", concentration)
    out["concentration_unit"] = si_unit
    out |= measured("glucose", glucose)
    out["glucose_unit"] = clinical_unit
    out["type"] = None if sample is None else code_name(sample & 0x0F, GLUCOSE_TYPES)
    out["sample_location"] = None if sample is None else code_name(sample >> 4, SAMPLE_LOCATIONS)
    out["sensor_status"] = (
        flag_names(reader.u16("Sensor Status Annunciation"), SENSOR_STATUS)
        if flags & 0x08
        else None
    )
    out["context_follows"] = bool(flags & 0x10)
    return out
