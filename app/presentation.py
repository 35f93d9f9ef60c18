"""How numbers and states read on screen, decided without Qt so that tests can pin it down.

A value is never shown as live when it is not: a reading older than its parameter's limit is
STALE and says how old it is; a missing value shows dashes and the reason in words.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from drivers.base import DriverState, DriverStatus, NumericSpec, Quality, Reading

NO_VALUE = "---"


class NumericState(enum.Enum):
    LIVE = "live"
    QUESTIONABLE = "questionable"
    STALE = "stale"
    NO_VALUE = "no value"


@dataclass(frozen=True, slots=True)
class NumericText:
    value: str
    state: NumericState
    note: str = ""  # shown under the value: a reason, an age, "STALE 45 s"


def age_text(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{int(seconds)} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def format_value(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def present_numeric(reading: Reading | None, spec: NumericSpec, now: float) -> NumericText:
    if reading is None:
        return NumericText(NO_VALUE, NumericState.NO_VALUE, "no data")
    age = now - reading.timestamp
    has_value = reading.value is not None and math.isfinite(reading.value)
    text = format_value(reading.value, spec.decimals) if reading.value is not None else NO_VALUE
    if not has_value or reading.quality in (Quality.INVALID, Quality.UNAVAILABLE):
        text, state, note = NO_VALUE, NumericState.NO_VALUE, reading.message
        note = note or reading.quality.value
    elif reading.quality is Quality.QUESTIONABLE:
        text, state, note = text + "?", NumericState.QUESTIONABLE, reading.message
        note = note or "questionable"
    else:
        state, note = NumericState.LIVE, ""
    if age > spec.stale_after:  # an old value, or an old reason, must never look current
        return NumericText(text.rstrip("?"), NumericState.STALE, f"STALE {age_text(age)}")
    return NumericText(text, state, note)


def present_nibp(
    systolic: Reading | None,
    diastolic: Reading | None,
    mean: Reading | None,
    spec: NumericSpec,
    now: float,
) -> NumericText:
    """``120/80`` with the mean and the age of the measurement beneath: ``(93)  4 min``."""
    if systolic is None:
        return NumericText(NO_VALUE, NumericState.NO_VALUE, "not measured yet")
    age = now - systolic.timestamp
    values = (systolic.value, diastolic.value if diastolic else None, mean.value if mean else None)
    stale = age > spec.stale_after
    if systolic.quality is not Quality.VALID or any(v is None for v in values):
        state = NumericState.STALE if stale else NumericState.NO_VALUE
        return NumericText(f"{NO_VALUE}/{NO_VALUE}", state, systolic.message or "failed")
    sys_v, dia_v, mean_v = (round(v) for v in values if v is not None)
    text = f"{sys_v}/{dia_v}"
    if stale:
        return NumericText(text, NumericState.STALE, f"({mean_v}) STALE {age_text(age)}")
    return NumericText(text, NumericState.LIVE, f"({mean_v})  {age_text(age)} ago")


@dataclass(frozen=True, slots=True)
class ConnectionText:
    text: str
    ok: bool


def present_connection(status: DriverStatus, now: float) -> ConnectionText:
    state = status.state
    if state is DriverState.CONNECTED:
        return ConnectionText("CONNECTED", True)
    since = age_text(now - status.timestamp)
    if state is DriverState.DISCONNECTED:
        return ConnectionText(f"DISCONNECTED {since}", False)
    if state is DriverState.FAILED:
        return ConnectionText(f"FAILED: {status.message}", False)
    if state is DriverState.CONNECTING:
        return ConnectionText(f"CONNECTING {since}", False)
    return ConnectionText("STOPPED", False)


def present_battery(reading: Reading | None, low: bool, now: float, stale_after: float) -> str:
    if reading is None or reading.value is None:
        return "BATT ?"
    text = f"BATT {round(reading.value)}%"
    if now - reading.timestamp > stale_after:
        return text + " (old)"
    return text + " LOW" if low else text


def deidentified_label(bed_index: int) -> str:
    """What kiosk mode shows instead of a name."""
    return f"Demo patient {bed_index + 1:02d}"
