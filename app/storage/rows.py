"""What the station produces, as rows of the record.

Device readings are measurements and are all kept. Vigil's own analysis recomputes its
numbers with every piece of signal, several times a second; of those, one per parameter per
5 s is kept (and every change of quality), which is what a trend or a review can use.
Trends are per-minute aggregates of the VALID readings of the number the bed shows (Vigil's
analysis first, as on screen).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from app.alarms.log import LogEntry
from app.bus import FeedItem, ReadingSet
from drivers.base import DeviceCondition, DeviceEvent, DriverStatus, Quality, Reading

Row = dict[str, Any]
DERIVED_EVERY = 5.0  # s between kept readings of one analysis parameter
TREND_CODES = frozenset(
    {"HR", "PR", "SPO2", "RR", "NIBP_SYS", "NIBP_DIA", "NIBP_MEAN", "TEMP", "PVC", "NEWS2"}
)
TREND_GRACE = 10.0  # s after a minute ends before its aggregate is final


def event_row(item: FeedItem) -> Row | None:
    """A status change, technical condition or analysis event; None for readings."""
    p = item.payload
    base: Row = {"t": item.timestamp, "bed": item.bed, "device": item.device}
    if isinstance(p, DeviceEvent):
        return base | {"kind": p.kind, "name": p.name, "active": None, "message": ""}
    if isinstance(p, DriverStatus):
        return base | {"kind": "status", "name": p.state.value, "active": None,
                       "message": p.message}  # fmt: skip
    if isinstance(p, DeviceCondition):
        return base | {"kind": "condition", "name": p.code, "active": int(p.active),
                       "message": p.message}  # fmt: skip
    return None


def alarm_row(entry: LogEntry) -> Row:
    return {
        "t": entry.t,
        "bed": entry.bed,
        "event": entry.event,
        "alarm_id": entry.alarm_id,
        "priority": entry.priority.text if entry.priority else None,
        "kind": entry.kind.value if entry.kind else None,
        "code": entry.code,
        "text": entry.text,
        "user": entry.user,
        "detail": entry.detail,
        "since": entry.since,
    }


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


@dataclass
class NumericRows:
    """Turns reading sets into numeric rows and feeds the trend aggregates."""

    derived: set[str] = field(default_factory=set)  # serials of Vigil's analysis sources
    _kept: dict[tuple[str, str], tuple[float, Quality]] = field(default_factory=dict)
    _minutes: dict[tuple[str, str, int], list[float]] = field(
        default_factory=lambda: defaultdict(list)
    )
    _derived_codes: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def rows(self, item: FeedItem) -> tuple[list[Row], list[Reading]]:
        """The rows to store, and the readings the bed shows (what trends and the EHR get):
        Vigil's analysis first, a device's own number where the analysis has none."""
        if not isinstance(item.payload, ReadingSet):
            return [], []
        derived = item.device in self.derived
        out, shown = [], []
        for reading in item.payload.readings:
            if derived:
                self._derived_codes[item.bed].add(reading.code)
                if not self._keep(item.device, reading):
                    continue
            out.append(self._row(item, reading))
            if derived or reading.code not in self._derived_codes[item.bed]:
                shown.append(reading)
                self._trend(item.bed, reading)
        return out, shown

    def _keep(self, device: str, reading: Reading) -> bool:
        last = self._kept.get((device, reading.code))
        recent = last is not None and reading.timestamp - last[0] < DERIVED_EVERY
        if recent and last is not None and reading.quality is last[1]:
            return False
        self._kept[(device, reading.code)] = (reading.timestamp, reading.quality)
        return True

    @staticmethod
    def _row(item: FeedItem, reading: Reading) -> Row:
        return {
            "t": reading.timestamp,
            "bed": item.bed,
            "device": item.device,
            "code": reading.code,
            "value": _finite(reading.value),
            "unit": reading.unit,
            "quality": reading.quality.value,
            "message": reading.message,
        }

    def _trend(self, bed: str, reading: Reading) -> None:
        value = _finite(reading.value)
        if reading.code in TREND_CODES and value is not None and reading.quality is Quality.VALID:
            self._minutes[(bed, reading.code, int(reading.timestamp // 60))].append(value)

    def add_trend_value(self, bed: str, code: str, t: float, value: float) -> None:
        """A value the station computes outside any device (NEWS2)."""
        self._minutes[(bed, code, int(t // 60))].append(value)

    def finished_minutes(self, now: float) -> list[Row]:
        """Aggregates of the minutes that ended ``TREND_GRACE`` s before ``now`` (or all,
        with ``now`` = inf, when recording stops)."""
        done = [key for key in self._minutes if (key[2] + 1) * 60 + TREND_GRACE <= now]
        out = []
        for key in done:
            values = self._minutes.pop(key)
            out.append({
                "bed": key[0], "code": key[1], "minute": key[2], "n": len(values),
                "median": statistics.median(values), "mean": statistics.fmean(values),
                "min": min(values), "max": max(values),
            })  # fmt: skip
        return out
