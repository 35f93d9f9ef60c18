"""The alarm engine: every bed's conditions judged on its own tick, never waiting on a view.

``tick(now)`` applies what the station delivered up to ``now`` (through the engine's own bus
subscription), judges each bed's conditions, moves the alarms through their lifecycle and
publishes an immutable snapshot. Operator actions (acknowledge, audio pause, alarm off,
limits) come from the GUI thread and take effect at once under the engine's lock; each is
logged with who and when. Later parts raise station-wide technical alarms through
``raise_technical`` (storage failure, EHR sync failing) and receive escalations through
``add_secondary_notifier``.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from app.alarms.bed_news2 import BedNews2, NurseObservation
from app.alarms.bed_view import BedView, DeviceView
from app.alarms.board import Alarm, AlarmBoard, AlarmState
from app.alarms.catalogue import SPECS, SWITCHABLE
from app.alarms.conditions import BedConditions, Condition, condition
from app.alarms.config import AlarmConfig
from app.alarms.limits import PARAMETERS, BedLimits, LimitError, Limits
from app.alarms.log import AlarmLog, LogEntry
from app.alarms.priority import Priority
from app.bus import FeedItem
from app.model.patient import PatientCategory
from app.model.ward import DERIVED_KIND, Bed
from app.scores.news2 import News2Result
from app.station import Station

log = logging.getLogger(__name__)

STATION = ""  # the "bed" of station-wide alarms


class AlarmError(ValueError):
    """An operator action that cannot be done; the message says why."""


@dataclass(frozen=True, slots=True)
class AlarmOff:
    bed: str
    parameter: str
    since: float
    user: str


@dataclass(frozen=True, slots=True)
class AlarmSnapshot:
    time: float
    alarms: tuple[AlarmState, ...]  # priority first, then oldest first
    sounding: Priority | None
    audio_paused_until: float | None
    alarms_off: tuple[AlarmOff, ...]
    reminders: int  # reminders due so far: each new one is signalled once
    display_watched: bool = False
    news2: Mapping[str, Bed2Score] = field(default_factory=dict)

    def for_bed(self, bed: str) -> tuple[AlarmState, ...]:
        return tuple(a for a in self.alarms if a.bed == bed)

    def off_for_bed(self, bed: str) -> tuple[AlarmOff, ...]:
        return tuple(o for o in self.alarms_off if o.bed == bed)


@dataclass(frozen=True, slots=True)
class Bed2Score:
    """A bed's NEWS2 now, and the nurse's entry it rests on."""

    result: News2Result | None
    observation: NurseObservation | None


EMPTY = AlarmSnapshot(0.0, (), None, None, (), 0)


@dataclass(slots=True)
class _Bed:
    view: BedView
    judge: BedConditions
    limits: BedLimits
    patient_key: str | None = None  # the MRN the settings belong to
    off: dict[str, AlarmOff] = field(default_factory=dict)
    reminded: dict[str, float] = field(default_factory=dict)
    news2: BedNews2 = field(default_factory=BedNews2)


Notifier = Callable[[AlarmState], None]


class AlarmEngine:
    def __init__(self, station: Station, config: AlarmConfig | None = None) -> None:
        self.config = config or AlarmConfig()
        self.log = AlarmLog()
        self._station = station
        self._feed = station.bus.subscribe()
        self._lock = threading.RLock()
        self._board = AlarmBoard(self.config, self.log)
        self._beds: dict[str, _Bed] = {}
        # Delivered ahead of the engine's clock (headless), a heap by time and arrival.
        self._held: list[tuple[float, int, FeedItem]] = []
        self._arrivals = itertools.count()
        self._now = float("-inf")
        self._external: dict[tuple[str, str], Condition] = {}  # raised through hooks
        self._notifiers: list[Notifier] = []
        self._display_seen: float | None = None
        self._reminders = 0
        self._snapshot = EMPTY

    # -- the tick --------------------------------------------------------------------------

    def tick(self, now: float, hold_future: bool = False) -> AlarmSnapshot:
        """Judge every bed at ``now``. ``hold_future``: keep what was delivered stamped
        after ``now`` for a later tick (headless, where beds run ahead of the clock)."""
        with self._lock:
            self._now = max(self._now, now)
            now = self._now
            self._sync_beds()
            self._apply_feed(now, hold_future)
            for label, bed in self._beds.items():
                self._check_patient(label, bed, now)
                streams = self._station.ward.bed(label).devices
                newest = {d.serial: d.newest_sample_time() for d in streams}
                found = bed.judge.evaluate(bed.view, bed.limits, now, newest, frozenset(bed.off))
                found += self._news2(bed, now)
                self._board.apply(label, found, now)
                self._remind(label, bed, now)
            self._board.apply(STATION, self._station_conditions(now), now)
            for alarm in self._board.due(now):
                self._notify(alarm)
            self._snapshot = self._make_snapshot(now)
            return self._snapshot

    def snapshot(self) -> AlarmSnapshot:
        with self._lock:
            return self._snapshot

    @property
    def now(self) -> float:
        """The engine's clock: the time of its last tick."""
        with self._lock:
            return self._now

    def _apply_feed(self, now: float, hold_future: bool) -> None:
        """Apply what was delivered, in time order (arrival order among equal times)."""
        for item in self._feed.drain():
            heapq.heappush(self._held, (item.timestamp, next(self._arrivals), item))
        held = self._held
        while held and (not hold_future or held[0][0] <= now):
            item = heapq.heappop(held)[2]
            bed = self._beds.get(item.bed)
            if bed is not None:
                bed.view.apply(item)

    def _sync_beds(self) -> None:
        """Pick up beds and devices attached since the last tick."""
        for bed in self._station.ward.beds:
            state = self._beds.get(bed.label)
            if state is None:
                view = BedView(bed.label)
                state = _Bed(view, BedConditions(self.config), BedLimits(_category(bed)))
                state.patient_key = _patient_key(bed)
                self._beds[bed.label] = state
            attached = {stream.serial for stream in bed.devices}
            for serial in set(state.view.devices) - attached:
                state.view.remove_device(serial)
            for stream in bed.devices:
                if stream.serial not in state.view.devices:
                    state.view.add_device(
                        DeviceView(
                            stream.serial,
                            stream.description,
                            stream.description.info.kind == DERIVED_KIND,
                            stream.status,
                        )
                    )

    def _check_patient(self, label: str, bed: _Bed, now: float) -> None:
        """A new patient gets the defaults of their category, and every alarm switched on."""
        ward_bed = self._station.ward.bed(label)
        key = _patient_key(ward_bed)
        if key == bed.patient_key:
            return
        bed.patient_key = key
        bed.limits.reset(_category(ward_bed))
        bed.off.clear()
        bed.reminded.clear()
        bed.news2 = BedNews2()
        detail = f"defaults for {bed.limits.category.value}"
        self.log.append(LogEntry(now, label, "settings_reset", detail=detail))

    def _news2(self, bed: _Bed, now: float) -> list[Condition]:
        alarm = bed.news2.update(bed.view, now)
        if alarm is None or "NEWS2" in bed.off:
            return []
        priority = Priority.HIGH if alarm.level == "high" else Priority.MEDIUM
        return [replace(condition("NEWS2", alarm.text), priority=priority)]

    def _remind(self, label: str, bed: _Bed, now: float) -> None:
        for parameter, off in bed.off.items():
            if now - bed.reminded.get(parameter, off.since) >= self.config.reminder:
                bed.reminded[parameter] = now
                self._reminders += 1
                text = f"{_label(parameter)} ALARM OFF since {off.user}"
                self.log.append(LogEntry(now, label, "reminder", code=parameter, text=text))

    def _station_conditions(self, now: float) -> list[Condition]:
        found = list(self._external.values())
        seen = self._display_seen
        if seen is not None and now - seen > self.config.display_frozen:
            found.append(condition("DISPLAY_FROZEN", f"DISPLAY NOT UPDATING {now - seen:.0f} s"))
        return found

    def _notify(self, alarm: Alarm) -> None:
        state = next((s for s in self._board.states() if s.id == alarm.id), None)
        if state is None:
            return
        for notifier in list(self._notifiers):
            try:
                notifier(state)
                self._external.pop((STATION, "NOTIFICATION_FAILED"), None)
            except Exception as exc:
                # The escalation did not reach anyone: that must be seen at the station.
                log.exception("secondary notification of alarm %s failed", alarm.id)
                text = f"SECONDARY NOTIFICATION FAILED: {exc}"
                self._external[(STATION, "NOTIFICATION_FAILED")] = condition(
                    "NOTIFICATION_FAILED", text
                )

    def _make_snapshot(self, now: float) -> AlarmSnapshot:
        offs = tuple(o for bed in self._beds.values() for o in bed.off.values())
        return AlarmSnapshot(
            now,
            self._board.states(),
            self._board.sounding(now),
            self._board.paused_until,
            offs,
            self._reminders,
            self._display_seen is not None,
            {
                label: Bed2Score(bed.news2.result, bed.news2.observation)
                for label, bed in self._beds.items()
            },
        )

    # -- operator actions (any thread) -------------------------------------------------------

    def acknowledge(self, alarm_id: int, user: str) -> None:
        with self._lock:
            self._board.acknowledge(alarm_id, user, self._now)
            self._snapshot = self._make_snapshot(self._now)

    def acknowledge_all(self, user: str, bed: str | None = None) -> None:
        with self._lock:
            for alarm in self._board.states():
                if (bed is None or alarm.bed == bed) and not alarm.acknowledged:
                    self._board.acknowledge(alarm.id, user, self._now)
            self._snapshot = self._make_snapshot(self._now)

    def pause_audio(self, user: str) -> None:
        with self._lock:
            self._board.pause_audio(user, self._now)
            self._snapshot = self._make_snapshot(self._now)

    def resume_audio(self, user: str) -> None:
        with self._lock:
            self._board.resume_audio(user, self._now)
            self._snapshot = self._make_snapshot(self._now)

    def switch_off(self, bed: str, parameter: str, user: str, confirmed: bool) -> None:
        """ALARM OFF for one parameter of one bed; needs the operator's explicit
        confirmation, and leaves an indicator and a reminder every ``config.reminder`` s."""
        if parameter not in PARAMETERS and parameter not in SWITCHABLE:
            raise AlarmError(f"{parameter!r} alarms cannot be switched off")
        if not confirmed:
            raise AlarmError(f"switching {_label(parameter)} alarms off needs confirmation")
        if not user.strip():
            raise AlarmError("switching an alarm off needs the operator's name")
        with self._lock:
            state = self._bed(bed)
            if parameter in state.off:
                return
            state.off[parameter] = AlarmOff(bed, parameter, self._now, user)
            self.log.append(LogEntry(self._now, bed, "off", code=parameter, user=user,
                                     text=f"{_label(parameter)} ALARM OFF"))  # fmt: skip
            codes = {s.code for s in SPECS.values() if s.parameter == parameter}
            self._board.end_where(bed, codes, self._now, "alarm switched off", user)
            self._snapshot = self._make_snapshot(self._now)

    def switch_on(self, bed: str, parameter: str, user: str) -> None:
        with self._lock:
            state = self._bed(bed)
            if state.off.pop(parameter, None) is None:
                return
            state.reminded.pop(parameter, None)
            self.log.append(LogEntry(self._now, bed, "on", code=parameter, user=user,
                                     text=f"{_label(parameter)} alarm on"))  # fmt: skip
            self._snapshot = self._make_snapshot(self._now)

    def limits(self, bed: str) -> dict[str, Limits]:
        with self._lock:
            return dict(self._bed(bed).limits.as_mapping())

    def category(self, bed: str) -> PatientCategory:
        with self._lock:
            return self._bed(bed).limits.category

    def set_limits(self, bed: str, code: str, limits: Limits, user: str) -> None:
        """Apply one parameter's limits, or raise LimitError and change nothing."""
        with self._lock:
            state = self._bed(bed)
            old = state.limits.get(code)
            state.limits.set(code, limits)
            detail = f"{_limits_text(old)} -> {_limits_text(limits)}"
            self.log.append(LogEntry(self._now, bed, "limits", code=code, user=user,
                                     detail=detail))  # fmt: skip
            self._snapshot = self._make_snapshot(self._now)

    def set_observation(
        self,
        bed: str,
        consciousness: str,
        on_oxygen: bool,
        spo2_scale: int,
        user: str,
        *,
        at: float | None = None,
    ) -> None:
        """What the nurse observed for NEWS2 (at ``at``, default the engine's clock);
        ValueError, and nothing changes, on bad input."""
        with self._lock:
            state = self._bed(bed)
            when = self._now if at is None else at
            obs = NurseObservation(consciousness, on_oxygen, spo2_scale, when, user)
            state.news2.observe(obs)
            air = "on oxygen" if on_oxygen else "on air"
            detail = f"ACVPU {consciousness}, {air}, SpO2 scale {spo2_scale}"
            self.log.append(LogEntry(when, bed, "observation", code="NEWS2", user=user,
                                     detail=detail))  # fmt: skip
            self._snapshot = self._make_snapshot(self._now)

    # -- hooks for other parts -----------------------------------------------------------------

    def raise_technical(self, code: str, text: str, bed: str = STATION) -> None:
        """Raise (or update) a technical alarm from outside the engine, e.g. STORAGE_FAILURE;
        it holds until ``clear_technical``. It shows at the next tick."""
        if code not in SPECS:
            raise KeyError(f"no alarm {code!r} in the catalogue")
        with self._lock:
            self._external[(bed, code)] = condition(code, text)

    def clear_technical(self, code: str, bed: str = STATION) -> None:
        with self._lock:
            self._external.pop((bed, code), None)

    def add_secondary_notifier(self, notifier: Notifier) -> None:
        """Called on the engine's thread with each alarm that escalates; it must not block."""
        with self._lock:
            self._notifiers.append(notifier)

    def display_alive(self, now: float) -> None:
        """The screen repainted at ``now``; once called, a screen that stops is an alarm."""
        with self._lock:
            self._display_seen = now

    def _bed(self, label: str) -> _Bed:
        self._sync_beds()
        try:
            return self._beds[label]
        except KeyError:
            raise AlarmError(f"no bed {label!r}") from None


def _category(bed: Bed) -> PatientCategory:
    return bed.patient.category if bed.patient is not None else PatientCategory.ADULT


def _patient_key(bed: Bed) -> str | None:
    return bed.patient.mrn if bed.patient is not None else None


def _label(parameter: str) -> str:
    p = PARAMETERS.get(parameter)
    return p.label if p is not None else parameter


def _limits_text(limits: Limits | None) -> str:
    if limits is None:
        return "none"
    low = "off" if limits.low is None else f"{limits.low:g}"
    high = "off" if limits.high is None else f"{limits.high:g}"
    return f"{low}-{high}, delay {limits.delay:g} s"


__all__ = ["STATION", "AlarmEngine", "AlarmError", "AlarmOff", "AlarmSnapshot", "LimitError"]
