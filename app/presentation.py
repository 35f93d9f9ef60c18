"""How numbers and states read on screen, decided without Qt so that tests can pin it down.

A value is never shown as live when it is not:
- a reading older than its parameter's limit is STALE and says how old it is;
- while the device's link is down or silent, its values are STALE and say so;
- a missing value shows dashes and the device's reason in words.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from app.model.ward import Bed
from app.signals.numerics import Latest
from app.signals.stream import DeviceStream
from drivers.base import NIBP_STARTED, DriverState, DriverStatus, NumericSpec, Quality

NO_VALUE = "---"
# A connected device whose waveforms stop for this long is shown as silent ("NO DATA"); a
# device without waveforms (numerics only) is given longer.
WAVEFORM_SILENCE = 3.0
NUMERIC_SILENCE = 30.0


class NumericState(enum.Enum):
    LIVE = "live"
    QUESTIONABLE = "questionable"
    STALE = "stale"
    NO_VALUE = "no value"


@dataclass(frozen=True, slots=True)
class NumericText:
    value: str
    state: NumericState
    note: str = ""  # shown with the value: a reason, an age, "STALE 45 s"


@dataclass(frozen=True, slots=True)
class Link:
    """Whether a device's data can be believed to be current, and if not, why."""

    ok: bool
    reason: str = ""  # "NO LINK", "NO DATA"


LINK_OK = Link(True)


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


def present_numeric(
    latest: Latest | None, spec: NumericSpec, now: float, link: Link = LINK_OK
) -> NumericText:
    if latest is None:
        return NumericText(NO_VALUE, NumericState.NO_VALUE, "no data")
    reading, age = latest.reading, latest.age(now)
    has_value = reading.value is not None and math.isfinite(reading.value)
    text = format_value(reading.value, spec.decimals) if reading.value is not None else NO_VALUE
    if not has_value or reading.quality in (Quality.INVALID, Quality.UNAVAILABLE):
        text, state = NO_VALUE, NumericState.NO_VALUE
        note = reading.message or reading.quality.value
    elif reading.quality is Quality.QUESTIONABLE:
        text, state, note = text + "?", NumericState.QUESTIONABLE, reading.message
        note = note or "questionable"
    else:
        state, note = NumericState.LIVE, reading.message  # e.g. HR 0, "No QRS detected"
    if not link.ok:  # whatever it says, it is not current
        return NumericText(text.rstrip("?"), NumericState.STALE, f"{link.reason} {age_text(age)}")
    if age > spec.stale_after:  # an old value, or an old reason, must never look current
        return NumericText(text.rstrip("?"), NumericState.STALE, f"STALE {age_text(age)}")
    return NumericText(text, state, note)


NIBP_CODES = ("NIBP_SYS", "NIBP_DIA", "NIBP_MEAN")


def present_nibp(
    latest: Mapping[str, Latest],
    spec: NumericSpec,
    now: float,
    link: Link = LINK_OK,
    measuring_since: float | None = None,
) -> NumericText:
    """``120/80`` with the mean and the age of the measurement: ``(93)  4 min ago``.

    The three values must come from one measurement (one timestamp); a mixed set is never
    shown as one. While the link is down the last set is grey and says so; while a new
    measurement runs, the note says that instead of the age.
    """
    sys_, dia, mean = (latest.get(code) for code in NIBP_CODES)
    if sys_ is None:
        note = "not measured yet"
        text = NumericText(f"{NO_VALUE}/{NO_VALUE}", NumericState.NO_VALUE, note)
    else:
        text = _nibp_set(sys_, dia, mean, spec, now)
    if not link.ok:
        return NumericText(text.value, NumericState.STALE, link.reason)
    if measuring_since is not None:
        return NumericText(text.value, text.state, f"measuring {age_text(now - measuring_since)}")
    return text


def _nibp_set(
    sys_: Latest, dia: Latest | None, mean: Latest | None, spec: NumericSpec, now: float
) -> NumericText:
    age = sys_.age(now)
    stale = age > spec.stale_after
    one_set = all(x is not None and x.reading.timestamp == sys_.reading.timestamp
                  for x in (dia, mean))  # fmt: skip
    values = [x.reading.value if x is not None else None for x in (sys_, dia, mean)]
    finite = all(v is not None and math.isfinite(v) for v in values)
    if not one_set or sys_.reading.quality is not Quality.VALID or not finite:
        note = sys_.reading.message or ("incomplete measurement" if not one_set else "failed")
        state = NumericState.STALE if stale else NumericState.NO_VALUE
        return NumericText(f"{NO_VALUE}/{NO_VALUE}", state, note)
    sys_v, dia_v, mean_v = (round(v) for v in values if v is not None)
    text = f"{sys_v}/{dia_v}"
    if stale:
        return NumericText(text, NumericState.STALE, f"({mean_v}) STALE {age_text(age)}")
    return NumericText(text, NumericState.LIVE, f"({mean_v})  {age_text(age)} ago")


def silence_limit(device: DeviceStream) -> float:
    """Seconds without data after which a connected device counts as silent."""
    return WAVEFORM_SILENCE if device.description.channels else NUMERIC_SILENCE


def link_of(device: DeviceStream, now: float) -> Link:
    status = device.status
    if status.state is not DriverState.CONNECTED:
        return Link(False, "NO LINK")
    if device.data_age(now) > silence_limit(device):
        return Link(False, "NO DATA")
    return LINK_OK


@dataclass(frozen=True, slots=True)
class ConnectionText:
    text: str
    ok: bool


def present_connection(status: DriverStatus, now: float, data_age: float = 0.0,
                       silence: float = WAVEFORM_SILENCE) -> ConnectionText:  # fmt: skip
    state = status.state
    since = age_text(now - status.timestamp)
    if state is DriverState.CONNECTED:
        if data_age > silence:  # connected, but nothing is arriving
            return ConnectionText(f"NO DATA {age_text(data_age)}", False)
        return ConnectionText("CONNECTED", True)
    if state is DriverState.DISCONNECTED:
        return ConnectionText(f"DISCONNECTED {since}", False)
    if state is DriverState.FAILED:
        return ConnectionText(f"FAILED: {status.message}", False)
    if state is DriverState.CONNECTING:
        return ConnectionText(f"CONNECTING {since}", False)
    return ConnectionText(f"STOPPED: {status.message}" if status.message else "STOPPED", False)


def present_battery(latest: Latest | None, low: bool, now: float, stale_after: float) -> str:
    value = latest.reading.value if latest is not None else None
    if latest is None or value is None or not math.isfinite(value):
        return "BATT LOW" if low else "BATT ?"
    text = f"BATT {round(value)}%"
    if low:
        text += " LOW"  # the device's own warning, whatever the age of the level
    if latest.age(now) > stale_after:
        text += " (old)"
    return text


def trace_messages(device: DeviceStream, now: float) -> dict[str, str]:
    """What to print over each trace of a device: why it shows no signal."""
    link = link_of(device, now)
    if not link.ok:
        if device.status.state is DriverState.CONNECTED:
            text = f"NO DATA {age_text(device.data_age(now))}"
        else:
            text = "NO SIGNAL: " + device.status.state.value.upper()
        return {spec.key: text for spec in device.description.channels}
    active = {c.code for c in device.active_conditions}
    leads_off = "LEADS OFF" if "ECG_LEAD_OFF" in active else ""
    # Every channel gets its text, so a message from an outage is cleared whatever the key.
    messages = dict.fromkeys((spec.key for spec in device.description.channels), "")
    return messages | {
        "ECG_II": leads_off,
        "RESP": leads_off,
        "PLETH": "PROBE OFF" if "SPO2_PROBE_OFF" in active else "",
    }


SIMULATED_TAG = "SIMULATED"
REPLAY_TAG = "REPLAY"


def source_tag(devices: Iterable[DeviceStream]) -> str:
    """How devices that are not a live patient are marked: REPLAY when every such device
    plays a recording, SIMULATED when any is a simulator, "" when all are live."""
    kinds = {d.description.info.kind for d in devices if d.simulated}
    if not kinds:
        return ""
    return REPLAY_TAG if kinds == {"replay"} else SIMULATED_TAG


@dataclass(frozen=True, slots=True)
class HeaderText:
    simulated: bool
    connection: ConnectionText
    battery: str
    tag: str = SIMULATED_TAG  # what a simulated bed is marked with


def present_header(bed: Bed, now: float) -> HeaderText:
    device = bed.monitor
    if device is None:
        return HeaderText(False, ConnectionText("NO DEVICE", False), "")
    connection = present_connection(device.status, now, device.data_age(now), silence_limit(device))
    low = any(c.code == "BATTERY_LOW" for c in device.active_conditions)
    spec = next((n for n in device.description.numerics if n.code == "BATTERY"), None)
    battery = ""  # a device without a battery (mains, a replay) says nothing about one
    if spec is not None or low:
        stale_after = spec.stale_after if spec else 90.0
        battery = present_battery(device.numerics.latest("BATTERY"), low, now, stale_after)
    return HeaderText(bed.simulated, connection, battery, source_tag(bed.devices) or SIMULATED_TAG)


def present_bed_numerics(bed: Bed, codes: list[str], now: float) -> dict[str, NumericText]:
    """The text of each numeric of a bed, from one consistent snapshot per device."""
    out: dict[str, NumericText] = {}
    per_device: dict[str, tuple[dict[str, Latest], Link]] = {}
    for code in codes:
        found = bed.find_numeric(code)
        if found is None:
            continue
        device, spec = found
        if device.serial not in per_device:
            per_device[device.serial] = (device.numerics.snapshot(), link_of(device, now))
        latest, link = per_device[device.serial]
        if code == "NIBP_SYS":
            out[code] = present_nibp(latest, spec, now, link, nibp_measuring_since(device))
        else:
            out[code] = present_numeric(latest.get(code), spec, now, link)
    return out


def nibp_measuring_since(device: DeviceStream) -> float | None:
    """When the cuff measurement now under way began, if one is."""
    event = device.last_event("nibp")
    return event.timestamp if event is not None and event.name == NIBP_STARTED else None


def deidentified_label(bed_index: int) -> str:
    """What kiosk mode shows instead of a name."""
    return f"Demo patient {bed_index + 1:02d}"


def patient_text(bed: Bed, index: int, kiosk: bool, today: dt.date, full: bool = False) -> str:
    """The patient line of a tile, or with ``full`` the detail view's longer one."""
    if bed.subject:  # a recording: its subject is already de-identified
        return bed.subject + ("  ·  recorded ECG, de-identified" if full else "")
    if kiosk:
        return deidentified_label(index) + ("  (de-identified demo)" if full else "")
    patient = bed.patient
    if patient is None:
        return "No patient admitted"
    text = f"{patient.display_name}  ·  {patient.age_text(today)} {patient.sex.value[0].upper()}"
    if full:
        text += f"  ·  MRN {patient.mrn}  ·  born {patient.date_of_birth.isoformat()}"
        text += f"  ·  {patient.category.value}"
    return text
