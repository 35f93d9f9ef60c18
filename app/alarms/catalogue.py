"""Every alarm Vigil raises: its code, kind, priority and whether it latches.

Priorities follow IEC 60601-1-8 Table 1 (what failing to respond may cost, and how soon):
lethal arrhythmias and extreme values are HIGH and latch until acknowledged; other
physiological alarms are MEDIUM and end by themselves; technical alarms are MEDIUM when the
station can no longer see a patient's vital sign, LOW when it can still see them.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.alarms.priority import AlarmKind, Priority

PHYS, TECH = AlarmKind.PHYSIOLOGICAL, AlarmKind.TECHNICAL
HIGH, MEDIUM, LOW = Priority.HIGH, Priority.MEDIUM, Priority.LOW


@dataclass(frozen=True, slots=True)
class AlarmSpec:
    code: str
    kind: AlarmKind
    priority: Priority
    latching: bool
    # The limit parameter whose ALARM OFF silences this alarm, or "" when it cannot be
    # switched off (lethal arrhythmias, technical alarms).
    parameter: str = ""
    channel: str = ""  # the waveform it is computed from ("ECG", "PLETH", "RESP"), for gating


_SPECS = (
    AlarmSpec("ASYSTOLE", PHYS, HIGH, True, channel="ECG"),
    AlarmSpec("VF", PHYS, HIGH, True, channel="ECG"),
    AlarmSpec("VT", PHYS, HIGH, True, channel="ECG"),
    AlarmSpec("EXTREME_BRADY", PHYS, HIGH, True, "HR", "ECG"),
    AlarmSpec("EXTREME_TACHY", PHYS, HIGH, True, "HR", "ECG"),
    AlarmSpec("DESAT", PHYS, HIGH, True, "SPO2", "PLETH"),
    AlarmSpec("HR_LOW", PHYS, MEDIUM, False, "HR", "ECG"),
    AlarmSpec("HR_HIGH", PHYS, MEDIUM, False, "HR", "ECG"),
    AlarmSpec("PR_LOW", PHYS, MEDIUM, False, "PR", "PLETH"),
    AlarmSpec("PR_HIGH", PHYS, MEDIUM, False, "PR", "PLETH"),
    AlarmSpec("SPO2_LOW", PHYS, MEDIUM, False, "SPO2", "PLETH"),
    AlarmSpec("SPO2_HIGH", PHYS, MEDIUM, False, "SPO2", "PLETH"),
    AlarmSpec("RR_LOW", PHYS, MEDIUM, False, "RR", "RESP"),
    AlarmSpec("RR_HIGH", PHYS, MEDIUM, False, "RR", "RESP"),
    AlarmSpec("NIBP_SYS_LOW", PHYS, MEDIUM, False, "NIBP_SYS"),
    AlarmSpec("NIBP_SYS_HIGH", PHYS, MEDIUM, False, "NIBP_SYS"),
    AlarmSpec("NIBP_DIA_LOW", PHYS, MEDIUM, False, "NIBP_DIA"),
    AlarmSpec("NIBP_DIA_HIGH", PHYS, MEDIUM, False, "NIBP_DIA"),
    AlarmSpec("NIBP_MEAN_LOW", PHYS, MEDIUM, False, "NIBP_MEAN"),
    AlarmSpec("NIBP_MEAN_HIGH", PHYS, MEDIUM, False, "NIBP_MEAN"),
    AlarmSpec("TEMP_LOW", PHYS, MEDIUM, False, "TEMP"),
    AlarmSpec("TEMP_HIGH", PHYS, MEDIUM, False, "TEMP"),
    AlarmSpec("PVC_HIGH", PHYS, MEDIUM, False, "PVC", "ECG"),
    AlarmSpec("PAUSE", PHYS, MEDIUM, False, "PAUSE", "ECG"),
    AlarmSpec("AF", PHYS, MEDIUM, False, "AF", "ECG"),
    AlarmSpec("NEWS2", PHYS, MEDIUM, False, "NEWS2"),  # HIGH at the high threshold
    AlarmSpec("ECG_LEAD_OFF", TECH, MEDIUM, False),
    AlarmSpec("SPO2_PROBE_OFF", TECH, MEDIUM, False),
    AlarmSpec("NO_DATA", TECH, MEDIUM, False),
    AlarmSpec("DEVICE_FAILED", TECH, MEDIUM, False),
    AlarmSpec("ECG_POOR_SIGNAL", TECH, LOW, False),
    AlarmSpec("PLETH_POOR_SIGNAL", TECH, LOW, False),
    AlarmSpec("RESP_POOR_SIGNAL", TECH, LOW, False),
    AlarmSpec("BATTERY_LOW", TECH, LOW, False),
    AlarmSpec("DEVICE_CONDITION", TECH, LOW, False),  # a condition Vigil has no entry for
    # Station-wide, raised by other parts through hooks.
    AlarmSpec("STORAGE_FAILURE", TECH, HIGH, False),
    AlarmSpec("STORAGE_LOW", TECH, MEDIUM, False),
    AlarmSpec("EHR_SYNC_FAILING", TECH, LOW, False),
    AlarmSpec("DISPLAY_FROZEN", TECH, HIGH, False),
    AlarmSpec("NOTIFICATION_FAILED", TECH, MEDIUM, False),
    AlarmSpec("BEAT_CLASSIFIER_OFF", TECH, LOW, False),
    AlarmSpec("BLUETOOTH_UNAVAILABLE", TECH, MEDIUM, False),  # wearables asked for, no radio
)

SPECS: dict[str, AlarmSpec] = {s.code: s for s in _SPECS}

# Alarm-off switches that exist per bed beyond the limit parameters.
SWITCHABLE = ("PAUSE", "AF", "NEWS2")
# Device conditions (drivers.base.DeviceCondition codes) and the alarm each raises.
DEVICE_CONDITIONS = {
    "ECG_LEAD_OFF": "ECG_LEAD_OFF",
    "SPO2_PROBE_OFF": "SPO2_PROBE_OFF",
    "BATTERY_LOW": "BATTERY_LOW",
    "BLE_NO_DATA": "NO_DATA",  # a wearable connected but silent (drivers.ble)
}


def spec(code: str) -> AlarmSpec:
    try:
        return SPECS[code]
    except KeyError:
        raise KeyError(f"no alarm {code!r} in the catalogue") from None
