"""Decoded GATT fields → station readings: missing values with their reason, units the
station uses, and the time a stored measurement was really taken."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from drivers.base import Quality, Reading
from drivers.ble.numbers import DateTime

KPA_TO_MMHG = 7.500617
LB_TO_KG = 0.45359237
FRESH = 300.0  # s: a device clock this close to ours means "measured just now"


def reading(
    fields: Mapping[str, object],
    key: str,
    code: str,
    unit: str,
    timestamp: float,
    *,
    scale: float = 1.0,
    offset: float = 0.0,
    quality: Quality = Quality.VALID,
    message: str = "",
) -> Reading:
    """The reading of one measured field (``key``, ``key_reason``), converted as
    ``value * scale + offset``; a special value becomes no value with the device's reason."""
    value = fields.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Reading(code, float(value) * scale + offset, unit, timestamp, quality, message)
    reason = fields.get(f"{key}_reason")
    text = f"device sent {reason}" if reason else "not measured"
    return Reading(code, None, unit, timestamp, Quality.INVALID, text)


def set_flags(value: object) -> frozenset[str]:
    """The names of a decoded status field's set bits (a frozenset; empty when absent)."""
    return frozenset(str(v) for v in value) if isinstance(value, frozenset) else frozenset()


def measured_at(stamp: object, now: float) -> tuple[float, str]:
    """When a measurement was taken, from the device's own timestamp (local time, no zone).

    A stored record transferred late keeps its own time, so it shows as old, never as live;
    a clock that is unset, or ahead of ours, is not trusted (the time of arrival, with a note).
    """
    if not isinstance(stamp, DateTime) or None in (stamp.year, stamp.month, stamp.day):
        return now, ""
    try:
        when = dt.datetime(stamp.year or 1, stamp.month or 1, stamp.day or 1, stamp.hours,
                           stamp.minutes, stamp.seconds).timestamp()  # fmt: skip
    except (ValueError, OverflowError, OSError):
        return now, "device clock unreadable"
    if when > now + FRESH:
        return now, "device clock ahead"
    if when >= now - FRESH:
        return now, ""
    return when, ""
