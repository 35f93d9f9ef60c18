"""The alarms in force and their lifecycle: start, priority change, latch, acknowledge, end.

IEC 60601-1-8 semantics:
- a latching alarm (high priority, lethal) keeps signalling after its condition ends, until
  acknowledged; a non-latching one ends with its condition;
- ACKNOWLEDGED silences one alarm while its condition lasts; it sounds again if its priority
  rises or its condition recurs;
- AUDIO PAUSED silences every alarm for a time; a new alarm of higher priority than any that
  sounded when the pause began breaks through and ends the pause;
- an alarm left unacknowledged is re-announced, and escalated once to secondary notification.
Every transition is written to the alarm log.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from app.alarms.catalogue import SPECS
from app.alarms.conditions import Condition
from app.alarms.config import AlarmConfig
from app.alarms.log import AlarmLog, LogEntry
from app.alarms.priority import AlarmKind, Priority


@dataclass(slots=True)
class Alarm:
    id: int
    bed: str
    key: str
    code: str
    kind: AlarmKind
    priority: Priority
    text: str
    latching: bool
    started: float
    condition_active: bool = True
    acknowledged: bool = False
    acknowledged_by: str = ""
    announced: float = 0.0  # when it was last announced (started, or re-announced)
    escalated: bool = False

    @property
    def audible(self) -> bool:
        return not self.acknowledged


@dataclass(frozen=True, slots=True)
class AlarmState:
    """One alarm as a view sees it."""

    id: int
    bed: str
    code: str
    kind: AlarmKind
    priority: Priority
    text: str
    started: float
    condition_active: bool  # False: latched, its condition has ended
    acknowledged: bool
    escalated: bool

    @property
    def latched(self) -> bool:
        return not self.condition_active


def sort_key(alarm: AlarmState | Alarm) -> tuple[int, float, int]:
    """Priority first, then the oldest first (the station-wide alarm bar's order)."""
    return (-int(alarm.priority), alarm.started, alarm.id)


class AlarmBoard:
    def __init__(self, config: AlarmConfig, log: AlarmLog) -> None:
        self.config = config
        self.log = log
        self._alarms: dict[tuple[str, str], Alarm] = {}
        self._ids = itertools.count(1)
        self.paused_until: float | None = None
        self._paused_level = Priority.MEDIUM  # a new alarm above this breaks a pause

    # -- conditions in ---------------------------------------------------------------------

    def apply(self, bed: str, conditions: Iterable[Condition], now: float) -> list[Alarm]:
        """The conditions that hold on ``bed`` now; returns the alarms that started."""
        started: list[Alarm] = []
        present = {c.key: c for c in conditions}
        for key, found in present.items():
            alarm = self._alarms.get((bed, key))
            if alarm is None:
                started.append(self._start(bed, found, now))
            else:
                self._update(alarm, found, now)
        for (alarm_bed, key), alarm in list(self._alarms.items()):
            if alarm_bed == bed and key not in present and alarm.condition_active:
                self._condition_ended(alarm, now)
        return started

    def _start(self, bed: str, found: Condition, now: float) -> Alarm:
        spec = SPECS[found.code]
        alarm = Alarm(
            next(self._ids), bed, found.key, found.code, spec.kind, found.priority, found.text,
            found.latching, now, announced=now,
        )  # fmt: skip
        self._alarms[(bed, found.key)] = alarm
        self._write(alarm, "start", now, since=found.since)
        self._break_pause(alarm.priority, now)
        return alarm

    def _update(self, alarm: Alarm, found: Condition, now: float) -> None:
        alarm.text = found.text
        if not alarm.condition_active:
            alarm.condition_active = True
            alarm.acknowledged = False  # a recurring condition sounds again
            self._write(alarm, "recur", now)
        if found.priority != alarm.priority:
            rose = found.priority > alarm.priority
            alarm.priority = found.priority
            alarm.latching = found.latching
            if rose:
                alarm.acknowledged = False  # a worse condition sounds again
                self._break_pause(alarm.priority, now)
            self._write(alarm, "priority", now, "raised" if rose else "lowered")

    def _condition_ended(self, alarm: Alarm, now: float) -> None:
        if alarm.latching and not alarm.acknowledged:
            alarm.condition_active = False
            self._write(alarm, "condition_end", now, "latched until acknowledged")
        else:
            self._end(alarm, now, "condition ended")

    def _end(self, alarm: Alarm, now: float, why: str, user: str = "") -> None:
        del self._alarms[(alarm.bed, alarm.key)]
        self._write(alarm, "end", now, why, user)

    # -- operator actions ------------------------------------------------------------------

    def acknowledge(self, alarm_id: int, user: str, now: float) -> None:
        alarm = next((a for a in self._alarms.values() if a.id == alarm_id), None)
        if alarm is None:
            raise KeyError(f"alarm {alarm_id} is not in force (it may have ended)")
        if alarm.acknowledged:
            return
        alarm.acknowledged, alarm.acknowledged_by = True, user
        self._write(alarm, "ack", now, user=user)
        if not alarm.condition_active:
            self._end(alarm, now, "acknowledged after its condition ended", user)

    def end_where(self, bed: str, codes: set[str], now: float, why: str, user: str) -> None:
        """End the alarms of ``codes`` on ``bed`` now (their alarm was switched off)."""
        for alarm in [a for a in self._alarms.values() if a.bed == bed and a.code in codes]:
            self._end(alarm, now, why, user)

    def pause_audio(self, user: str, now: float) -> None:
        audible = [a.priority for a in self._alarms.values() if a.audible]
        self._paused_level = max(audible, default=Priority.MEDIUM)
        self.paused_until = now + self.config.audio_pause
        self.log.append(LogEntry(now, "", "pause", user=user,
                                 detail=f"{self.config.audio_pause:g} s"))  # fmt: skip

    def resume_audio(self, user: str, now: float, why: str = "resumed by operator") -> None:
        if self.paused_until is None:
            return
        self.paused_until = None
        self.log.append(LogEntry(now, "", "pause_end", user=user, detail=why))

    def _break_pause(self, priority: Priority, now: float) -> None:
        if self.paused_until is not None and priority > self._paused_level:
            self.paused_until = None
            self.log.append(LogEntry(now, "", "pause_break", priority=priority,
                                     detail="a higher-priority alarm broke through"))  # fmt: skip

    # -- time ------------------------------------------------------------------------------

    def due(self, now: float) -> list[Alarm]:
        """Advance the clock: end an expired pause, re-announce unacknowledged alarms;
        returns the alarms to escalate to secondary notification now."""
        if self.paused_until is not None and now >= self.paused_until:
            self.paused_until = None
            self.log.append(LogEntry(now, "", "pause_end", detail="pause time over"))
        escalate: list[Alarm] = []
        for alarm in self._alarms.values():
            if alarm.acknowledged:
                continue
            if now - alarm.announced >= self.config.reannounce:
                alarm.announced = now
                self._write(alarm, "reannounce", now)
            after = self.config.escalate_after(alarm.priority)
            if not alarm.escalated and after is not None and now - alarm.started >= after:
                alarm.escalated = True
                self._write(alarm, "escalate", now, f"unacknowledged for {after:g} s")
                escalate.append(alarm)
        return escalate

    # -- reading -----------------------------------------------------------------------------

    def sounding(self, now: float) -> Priority | None:
        """The priority the speaker should sound now, None for silence."""
        if self.paused_until is not None and now < self.paused_until:
            return None
        return max((a.priority for a in self._alarms.values() if a.audible), default=None)

    def states(self) -> tuple[AlarmState, ...]:
        ordered = sorted(self._alarms.values(), key=sort_key)
        return tuple(
            AlarmState(a.id, a.bed, a.code, a.kind, a.priority, a.text, a.started,
                       a.condition_active, a.acknowledged, a.escalated)
            for a in ordered
        )  # fmt: skip

    def _write(
        self,
        alarm: Alarm,
        event: str,
        now: float,
        detail: str = "",
        user: str = "",
        *,
        since: float | None = None,
    ) -> None:
        self.log.append(
            LogEntry(now, alarm.bed, event, alarm.id, alarm.priority, alarm.kind, alarm.code,
                     alarm.text, user, detail, since)
        )  # fmt: skip
