"""What the screen says about the EHR sync: one line for the top bar, and its level."""

from __future__ import annotations

import enum
import time

from app.sync.state import Health, SyncState, SyncStatus


class Level(enum.Enum):
    OFF = "off"  # not configured: said, in grey
    OK = "ok"
    WARNING = "warning"  # retrying, or refused items waiting for the operator
    FAULT = "fault"  # failing for FAILING_AFTER: the technical alarm is up too


def clock_text(t: float | None) -> str:
    return "never" if t is None else time.strftime("%H:%M:%S", time.localtime(t))


def sync_line(state: SyncState | None, now: float) -> tuple[str, Level]:
    """E.g. "EHR OK · last 14:02:11", "EHR RETRYING · 40 waiting", "EHR SYNC OFF"."""
    if state is None:
        return "EHR SYNC OFF", Level.OFF
    station = state.station
    parts = [_health_text(station, now)]
    if station.backlog:
        parts.append(f"{station.backlog:,} waiting")
    if station.dead_letters:
        parts.append(f"{station.dead_letters:,} refused")
    if station.health is Health.OK and not station.backlog:
        parts.append(f"last {clock_text(station.last_success)}")
    return " · ".join(parts), _level(station)


def _health_text(status: SyncStatus, now: float) -> str:
    if status.health is Health.FAILING and status.failing_since is not None:
        return f"EHR FAILING {(now - status.failing_since) / 60:.0f} min"
    return f"EHR {status.health.value.upper()}"


def _level(status: SyncStatus) -> Level:
    if status.health is Health.FAILING:
        return Level.FAULT
    if status.health is Health.RETRYING or status.dead_letters:
        return Level.WARNING
    return Level.OK
