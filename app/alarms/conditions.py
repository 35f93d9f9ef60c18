"""Which alarm conditions hold on one bed at one moment.

Physiological conditions come from the bed's values against its limits (with delays and
hysteresis, ``limit_watch``) and from the rhythm analysis; technical ones from the devices.
A channel with a poor signal gates what is computed from it: its medium alarms are suppressed
and its high ones downgraded to medium, and its poor-signal alarm says which alarms it holds
back, so nothing is withheld silently.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.alarms.bed_view import BedView, DeviceView
from app.alarms.catalogue import DEVICE_CONDITIONS, SPECS
from app.alarms.config import AlarmConfig
from app.alarms.limit_watch import LimitWatch
from app.alarms.limits import PARAMETERS, BedLimits
from app.alarms.priority import Priority
from drivers.base import DriverState, Quality

LETHAL_RHYTHMS = {"ASYSTOLE": "ASYSTOLE", "VF": "VF", "VT": "VT"}
# What each channel's poor signal holds back, for the alarm text.
GATED_TEXT = {
    "ECG": "HR and arrhythmia alarms suppressed",
    "PLETH": "SpO2 and pulse alarms suppressed",
    "RESP": "RR alarms suppressed",
}
SQI_CODES = {"ECG": "ECG_SQI", "PLETH": "PLETH_SQI", "RESP": "RESP_SQI"}
# (alarm code, parameter, high side, extreme limit)
LIMIT_ALARMS = (
    ("EXTREME_BRADY", "HR", False, True),
    ("EXTREME_TACHY", "HR", True, True),
    ("HR_LOW", "HR", False, False),
    ("HR_HIGH", "HR", True, False),
    ("PR_LOW", "PR", False, False),
    ("PR_HIGH", "PR", True, False),
    ("DESAT", "SPO2", False, True),
    ("SPO2_LOW", "SPO2", False, False),
    ("SPO2_HIGH", "SPO2", True, False),
    ("RR_LOW", "RR", False, False),
    ("RR_HIGH", "RR", True, False),
    ("NIBP_SYS_LOW", "NIBP_SYS", False, False),
    ("NIBP_SYS_HIGH", "NIBP_SYS", True, False),
    ("NIBP_DIA_LOW", "NIBP_DIA", False, False),
    ("NIBP_DIA_HIGH", "NIBP_DIA", True, False),
    ("NIBP_MEAN_LOW", "NIBP_MEAN", False, False),
    ("NIBP_MEAN_HIGH", "NIBP_MEAN", True, False),
    ("TEMP_LOW", "TEMP", False, False),
    ("TEMP_HIGH", "TEMP", True, False),
    ("PVC_HIGH", "PVC", True, False),
)
BY_PARAMETER: dict[str, list[tuple[str, bool, bool]]] = {}
for _code, _param, _high, _extreme in LIMIT_ALARMS:
    BY_PARAMETER.setdefault(_param, []).append((_code, _high, _extreme))
TEXT = {
    "EXTREME_BRADY": "EXTREME BRADY",
    "EXTREME_TACHY": "EXTREME TACHY",
    "HR_LOW": "BRADY",
    "HR_HIGH": "TACHY",
    "DESAT": "DESAT",
    "PVC_HIGH": "PVCs",
}


@dataclass(frozen=True, slots=True)
class Condition:
    key: str  # unique on its bed: the code, or code@device for a device's alarm
    code: str
    priority: Priority
    text: str
    latching: bool
    since: float | None = None  # when a limit was first crossed (the delay runs from here)


def condition(code: str, text: str, key: str = "", since: float | None = None) -> Condition:
    spec = SPECS[code]
    return Condition(key or code, code, spec.priority, text, spec.latching, since)


class BedConditions:
    """The stateful judge of one bed: limit watches, momentary events, poor-signal spells."""

    def __init__(self, config: AlarmConfig) -> None:
        self.config = config
        self._watches = {code: LimitWatch(high) for code, _, high, _ in LIMIT_ALARMS}
        self._events_seen = float("-inf")  # time of the newest ectopy event handled
        self._pause_until = float("-inf")
        self._af_until = float("-inf")
        self._af_last_seen = float("-inf")  # last tick the rhythm was AF
        self._poor_since: dict[str, float] = {}
        self._good_since: dict[str, float] = {}

    def evaluate(
        self,
        view: BedView,
        limits: BedLimits,
        now: float,
        newest_samples: dict[str, float | None],
        off: frozenset[str] = frozenset(),
    ) -> list[Condition]:
        """``newest_samples``: device time of each waveform device's newest sample; ``off``:
        the parameters whose alarms the operator has switched off."""
        poor = self._poor_channels(view, now)
        rhythm = self._rhythm(view, now)
        found = rhythm + self._limits(view, limits, now)
        if any(c.code in LETHAL_RHYTHMS for c in rhythm):  # the rhythm stands for the rate
            found = [c for c in found if SPECS[c.code].parameter not in ("HR", "PR", "PVC")]
        found = [c for c in (self._gated(c, poor) for c in found) if c is not None]
        found += [
            condition(f"{ch}_POOR_SIGNAL", f"{ch_text(ch)} POOR SIGNAL: {GATED_TEXT[ch]}")
            for ch in poor
        ]
        for device in view.devices.values():
            found += self._technical(device, now, newest_samples.get(device.serial))
        return [c for c in found if SPECS[c.code].parameter not in off]

    # -- physiological -----------------------------------------------------------------------

    def _limits(self, view: BedView, limits: BedLimits, now: float) -> list[Condition]:
        out: list[Condition] = []
        for param, sides in BY_PARAMETER.items():
            value = view.value(param, now)
            usable = value is not None and value.quality is Quality.VALID
            number = value.value if usable and value is not None else None
            if number is None:  # nothing to judge: every side of this parameter ends
                for code, *_ in sides:
                    self._watches[code].reset()
                continue
            stamp = value.timestamp if value is not None else now
            settings = limits[param]
            p = PARAMETERS[param]
            for code, high, extreme in sides:
                limit = (
                    (settings.extreme_high if high else settings.extreme_low)
                    if extreme
                    else (settings.high if high else settings.low)
                )
                watch = self._watches[code]
                if watch.update(now, number, stamp, limit=limit, delay=settings.delay,
                                hysteresis=p.hysteresis) and limit is not None:  # fmt: skip
                    sign = ">" if high else "<"
                    name = TEXT.get(code, f"{p.label} {'HIGH' if high else 'LOW'}")
                    text = f"{name} {number:.{p.decimals}f} {sign} {limit:.{p.decimals}f} {p.unit}"
                    out.append(condition(code, text, since=watch.since))
        # An extreme alarm stands for its plain one: one parameter, one alarm.
        codes = {c.code for c in out}
        superseded = {"HR_LOW": "EXTREME_BRADY", "HR_HIGH": "EXTREME_TACHY", "SPO2_LOW": "DESAT"}
        return [c for c in out if superseded.get(c.code) not in codes]

    def _rhythm(self, view: BedView, now: float) -> list[Condition]:
        out: list[Condition] = []
        lethal = LETHAL_RHYTHMS.get(view.rhythm)
        if lethal is not None:
            out.append(condition(lethal, lethal))
        for stamp, name in view.ectopy:
            if stamp <= self._events_seen:
                continue
            self._events_seen = stamp
            if name == "PAUSE":
                self._pause_until = stamp + self.config.event_hold
        if view.rhythm == "AF":
            if now - self._af_last_seen > self.config.af_repeat_gap:  # an onset, not a return
                self._af_until = max(view.rhythm_since, now - 1.0) + self.config.event_hold
            self._af_last_seen = now
        if now < self._pause_until:
            out.append(condition("PAUSE", "PAUSE"))
        if now < self._af_until:
            out.append(condition("AF", "AF ONSET"))
        return out

    # -- signal quality and devices ------------------------------------------------------------

    def _poor_channels(self, view: BedView, now: float) -> list[str]:
        """Channels whose signal is poor now, or was within ``poor_signal_clear``."""
        poor: list[str] = []
        for channel, code in SQI_CODES.items():
            value = view.value(code, now)
            bad = (
                value is not None
                and value.value is not None
                and value.quality is Quality.VALID
                and value.value < self.config.poor_signal_sqi
            )
            if bad:
                self._poor_since.setdefault(channel, now)
                self._good_since.pop(channel, None)
            elif channel in self._poor_since:
                since = self._good_since.setdefault(channel, now)
                if now - since >= self.config.poor_signal_clear:
                    del self._poor_since[channel], self._good_since[channel]
            if channel in self._poor_since:
                poor.append(channel)
        return poor

    def _gated(self, found: Condition, poor: list[str]) -> Condition | None:
        channel = SPECS[found.code].channel
        if channel not in poor:
            return found
        if found.priority is Priority.HIGH:  # never hidden: downgraded, and it says why
            text = f"{found.text}? ({ch_text(channel)} poor signal)"
            return replace(found, priority=Priority.MEDIUM, text=text, latching=False)
        return None

    def _technical(self, device: DeviceView, now: float, newest: float | None) -> list[Condition]:
        out: list[Condition] = []
        model = device.description.info.model
        status = device.status
        if status.state is DriverState.FAILED:
            text = f"{model} FAILED: {status.message}" if status.message else f"{model} FAILED"
            return [condition("DEVICE_FAILED", text, f"DEVICE_FAILED@{device.serial}")]
        if device.derived:
            return out
        silence = self._silence(device, now, newest) if device.description.continuous else None
        if silence is not None:
            out.append(silence)
        if not device.connected:
            return out  # its last conditions are no longer current
        for code, state in device.conditions.items():
            if state.active:
                alarm = DEVICE_CONDITIONS.get(code, "DEVICE_CONDITION")
                text = state.message.upper() if state.message else code.replace("_", " ")
                out.append(condition(alarm, text, f"{alarm}:{code}@{device.serial}"))
        return out

    def _silence(self, device: DeviceView, now: float, newest: float | None) -> Condition | None:
        """NO DATA: no waveform for ``waveform_silence`` s (``numeric_silence`` for a device
        without waveforms); timed from the last data or the last (re)connection."""
        limit = (
            self.config.waveform_silence if device.has_waveforms else self.config.numeric_silence
        )
        last = newest if device.has_waveforms else device.newest_reading
        since = max(last if last is not None else device.quiet_from, device.quiet_from)
        age = now - since
        if age < limit:
            return None
        model = device.description.info.model
        state = device.status.state
        key = f"NO_DATA@{device.serial}"
        if state is DriverState.STOPPED:
            text = f"{model} STOPPED" + (
                f": {device.status.message}" if device.status.message else ""
            )
            return replace(condition("NO_DATA", text, key), priority=Priority.LOW)
        if state is not DriverState.CONNECTED:
            return condition("NO_DATA", f"{model} {state.value.upper()}: NO DATA {age:.0f} s", key)
        return condition("NO_DATA", f"{model}: NO DATA {age:.0f} s", key)


def ch_text(channel: str) -> str:
    return {"ECG": "ECG", "PLETH": "SpO2", "RESP": "RESP"}[channel]
