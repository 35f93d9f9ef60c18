"""Profiles of the standard SIG services: heart rate (with RR intervals), pulse oximetry,
blood pressure, thermometry, weight and battery."""

from __future__ import annotations

from drivers.base import ChannelSpec, ColourRole, DeviceCondition, NumericSpec, Quality, Reading
from drivers.ble import gatt
from drivers.ble.profile import Gatt, Output, Subscription, full_uuid
from drivers.ble.readings import KPA_TO_MMHG, LB_TO_KG, measured_at, reading, set_flags

RR_INTERVAL = "RRI"  # one reading per beat-to-beat interval, stamped at the later beat
BATTERY_LOW_AT = 15  # %
NIBP_STALE = 20 * 60.0
_MMHG = "mm[Hg]"


class _Base:
    """Defaults every profile shares; subclasses set the class attributes."""

    service_uuid = ""
    name = ""
    numerics: tuple[NumericSpec, ...] = ()
    channels: tuple[ChannelSpec, ...] = ()
    subscriptions: tuple[Subscription, ...] = ()
    required = True

    async def prepare(self, gatt: Gatt, now: float) -> Output:
        return Output()

    def reset(self) -> None:
        return None


class HeartRateProfile(_Base):
    """0x180D: the strap's own rate, each RR interval (for Vigil's HR and HRV), skin contact."""

    service_uuid = full_uuid("180D")
    name = "heart rate"
    numerics = (
        NumericSpec("HR", "HR (strap)", "/min", "bpm", ColourRole.ECG, stale_after=5.0),
        NumericSpec(RR_INTERVAL, "RR interval", "s", "s", ColourRole.ECG, 5.0, decimals=3),
    )
    subscriptions = (Subscription(full_uuid("2A37"), period=1.0),)

    def on_notify(self, uuid: str, data: bytes, now: float) -> Output:
        fields = gatt.decode(uuid, data)
        contact = fields["sensor_contact"]
        out = Output()
        if contact is False:
            out.readings.append(Reading("HR", None, "/min", now, Quality.UNAVAILABLE,
                                        "no skin contact"))  # fmt: skip
        else:
            out.readings.append(reading(fields, "heart_rate", "HR", "/min", now))
            intervals = fields["rr_intervals"]
            if isinstance(intervals, list):
                out.readings += _rr_readings([float(r) for r in intervals], now)
        if contact is not None:
            out.conditions.append(DeviceCondition("ECG_LEAD_OFF", contact is False, now,
                                                  "chest strap: no skin contact"))  # fmt: skip
        return out


def _rr_readings(intervals: list[float], now: float) -> list[Reading]:
    """The last interval ends at the beat just notified; earlier ones end before it."""
    out: list[Reading] = []
    end = now
    for rr in reversed(intervals):
        out.append(Reading(RR_INTERVAL, rr, "s", end, Quality.VALID))
        end -= rr
    return out[::-1]


# Status bits (drivers.ble.gatt_vitals names) that make a value doubtful, or absent.
PLX_DOUBTFUL = frozenset({
    "measurement_ongoing", "early_estimated_data", "calibration_ongoing",
    "questionable_measurement_detected", "invalid_measurement_detected",
    "data_for_demonstration", "data_for_testing", "signal_processing_irregularity_detected",
    "inadequate_signal_detected", "poor_signal_detected", "low_perfusion_detected",
    "erratic_signal_detected", "nonpulsatile_signal_detected", "questionable_pulse_detected",
    "signal_analysis_ongoing", "sensor_interference_detected",
})  # fmt: skip
PLX_PROBE_OFF = frozenset({
    "sensor_unconnected_to_user", "sensor_displaced", "sensor_disconnected",
    "sensor_malfunctioning", "equipment_malfunction_detected", "unknown_sensor_connected",
})  # fmt: skip


class PulseOximeterProfile(_Base):
    """0x1822: SpO2 and pulse rate, continuous (0x2A5F) or spot checks (0x2A5E)."""

    service_uuid = full_uuid("1822")
    name = "pulse oximetry"
    numerics = (
        NumericSpec("SPO2", "SpO2", "%", "%", ColourRole.PLETH, stale_after=10.0),
        NumericSpec("PR", "PR", "/min", "bpm", ColourRole.PLETH, stale_after=10.0),
    )
    subscriptions = (Subscription(full_uuid("2A5F"), period=1.0),)

    def on_notify(self, uuid: str, data: bytes, now: float) -> Output:
        fields = gatt.decode(uuid, data)
        flags = set_flags(fields.get("measurement_status")) | set_flags(
            fields.get("device_sensor_status")
        )
        probe_off = sorted(flags & PLX_PROBE_OFF)
        doubtful = sorted(flags & PLX_DOUBTFUL)
        quality = Quality.QUESTIONABLE if doubtful else Quality.VALID
        note = ", ".join(d.replace("_", " ") for d in doubtful)
        out = Output()
        for key, code, unit in (("spo2", "SPO2", "%"), ("pulse_rate", "PR", "/min")):
            if probe_off:
                text = probe_off[0].replace("_", " ")
                out.readings.append(Reading(code, None, unit, now, Quality.UNAVAILABLE, text))
            else:
                out.readings.append(reading(fields, key, code, unit, now, quality=quality,
                                            message=note))  # fmt: skip
        text = "SpO2 probe: " + probe_off[0].replace("_", " ") if probe_off else ""
        out.conditions.append(DeviceCondition("SPO2_PROBE_OFF", bool(probe_off), now, text))
        return out


class BloodPressureProfile(_Base):
    """0x1810: one cuff measurement per indication, in mmHg (kPa converted)."""

    service_uuid = full_uuid("1810")
    name = "blood pressure"
    numerics = (
        NumericSpec("NIBP_SYS", "NIBP", _MMHG, "mmHg", ColourRole.NIBP, stale_after=NIBP_STALE),
        NumericSpec("NIBP_DIA", "NIBP dia", _MMHG, "mmHg", ColourRole.NIBP, NIBP_STALE),
        NumericSpec("NIBP_MEAN", "NIBP mean", _MMHG, "mmHg", ColourRole.NIBP, NIBP_STALE),
        NumericSpec("PR", "PR (cuff)", "/min", "bpm", ColourRole.NIBP, stale_after=NIBP_STALE),
    )
    subscriptions = (Subscription(full_uuid("2A35"), period=None),)

    def on_notify(self, uuid: str, data: bytes, now: float) -> Output:
        fields = gatt.decode(uuid, data)
        when, note = measured_at(fields.get("timestamp"), now)
        scale = KPA_TO_MMHG if fields["unit"] == "kPa" else 1.0
        status = sorted(set_flags(fields.get("measurement_status")))
        quality = Quality.QUESTIONABLE if status or note else Quality.VALID
        message = ", ".join([s.replace("_", " ") for s in status] + ([note] if note else []))
        out = Output()
        for key, code in (("systolic", "NIBP_SYS"), ("diastolic", "NIBP_DIA"),
                          ("mean_arterial", "NIBP_MEAN")):  # fmt: skip
            out.readings.append(reading(fields, key, code, _MMHG, when, scale=scale,
                                        quality=quality, message=message))  # fmt: skip
        if fields.get("pulse_rate_reason") is not None or fields.get("pulse_rate") is not None:
            out.readings.append(reading(fields, "pulse_rate", "PR", "/min", when))
        return out


class ThermometerProfile(_Base):
    """0x1809: body temperature in °C (°F converted), as measured (indicated)."""

    service_uuid = full_uuid("1809")
    name = "temperature"
    numerics = (
        NumericSpec("TEMP", "Temp", "Cel", "°C", ColourRole.TEMP, stale_after=3600.0, decimals=1),
    )
    subscriptions = (Subscription(full_uuid("2A1C"), period=None),)

    def on_notify(self, uuid: str, data: bytes, now: float) -> Output:
        fields = gatt.decode(uuid, data)
        when, note = measured_at(fields.get("timestamp"), now)
        site = fields.get("temperature_type")
        message = ", ".join(str(x) for x in (site, note) if x)
        quality = Quality.QUESTIONABLE if note else Quality.VALID
        scale, offset = (5 / 9, -32 * 5 / 9) if fields["unit"] == "F" else (1.0, 0.0)
        return Output([reading(fields, "temperature", "TEMP", "Cel", when, scale=scale,
                               offset=offset, quality=quality, message=message)])  # fmt: skip


class WeightProfile(_Base):
    """0x181D: body weight in kg (lb converted)."""

    service_uuid = full_uuid("181D")
    name = "weight"
    numerics = (
        NumericSpec("WEIGHT", "Weight", "kg", "kg", ColourRole.DEVICE, 24 * 3600.0, decimals=1),
    )
    subscriptions = (Subscription(full_uuid("2A9D"), period=None),)

    def on_notify(self, uuid: str, data: bytes, now: float) -> Output:
        fields = gatt.decode(uuid, data)
        when, note = measured_at(fields.get("timestamp"), now)
        scale = LB_TO_KG if fields["unit"] == "lb" else 1.0
        return Output([reading(fields, "weight", "WEIGHT", "kg", when, scale=scale,
                               message=note)])  # fmt: skip


class BatteryProfile(_Base):
    """0x180F: the battery level, read at connect and notified when it changes."""

    service_uuid = full_uuid("180F")
    name = "battery"
    numerics = (NumericSpec("BATTERY", "Battery", "%", "%", ColourRole.DEVICE, 24 * 3600.0),)
    subscriptions = (Subscription(full_uuid("2A19"), period=None),)
    required = False

    async def prepare(self, gatt: Gatt, now: float) -> Output:
        return self.on_notify(full_uuid("2A19"), await gatt.read(full_uuid("2A19")), now)

    def on_notify(self, uuid: str, data: bytes, now: float) -> Output:
        level = _integer(gatt.decode(uuid, data)["battery_level"])
        low = level <= BATTERY_LOW_AT
        return Output(
            [Reading("BATTERY", float(level), "%", now, Quality.VALID)],
            conditions=[DeviceCondition("BATTERY_LOW", low, now, f"sensor battery {level} %")],
        )


def _integer(value: object) -> int:
    if isinstance(value, int):
        return value
    raise ValueError(f"{value!r} is not an integer")
