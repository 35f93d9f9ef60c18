"""How alarms look, decided without Qt: IEC 60601-1-8 Table 3 colours and flashing, and texts.

High priority is red and flashes at 2 Hz, medium yellow at 0.6 Hz (both 50 % duty, inside the
standard's 1.4-2.8 Hz and 0.4-0.8 Hz with 20-60 % on), low cyan and steady. All alarms of one
priority flash in step (the phase is the station clock's), so a screen of them pulses
together instead of shimmering. The text always says the priority too (``!!!``, ``!!``, ``!``),
so colour is never the only carrier.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.alarms.board import AlarmState
from app.alarms.priority import Priority


@dataclass(frozen=True, slots=True)
class Flash:
    hz: float | None  # None: steady
    duty: float


FLASH = {
    Priority.HIGH: Flash(2.0, 0.5),
    Priority.MEDIUM: Flash(0.6, 0.5),
    Priority.LOW: Flash(None, 1.0),
}
COLOUR = {Priority.HIGH: "#ff1f1f", Priority.MEDIUM: "#ffd21f", Priority.LOW: "#19d3f0"}
TEXT_ON = {Priority.HIGH: "#ffffff", Priority.MEDIUM: "#000000", Priority.LOW: "#000000"}
MARK = {Priority.HIGH: "!!!", Priority.MEDIUM: "!!", Priority.LOW: "!"}
DIM = "#3a2a10"  # the "off" half of a flash: a dark tint, so the text stays readable


def lit(priority: Priority, now: float) -> bool:
    """Whether an alarm of ``priority`` shows its full colour at ``now`` (else the dim half)."""
    flash = FLASH[priority]
    if flash.hz is None:
        return True
    return (now * flash.hz) % 1.0 < flash.duty


def elapsed_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 3600:
        return f"{seconds // 60}:{seconds % 60:02d}"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def alarm_text(alarm: AlarmState, now: float, with_bed: bool = False) -> str:
    """``!!! Bed 03  VF  0:42  ACK`` — priority mark, text, time since it started, state."""
    parts = [MARK[alarm.priority]]
    if with_bed:
        parts.append(alarm.bed or "STATION")
    parts += [alarm.text, elapsed_text(now - alarm.started)]
    if alarm.latched:
        parts.append("(ended, latched)")
    if alarm.acknowledged:
        parts.append("ACK")
    return "  ".join(parts)
