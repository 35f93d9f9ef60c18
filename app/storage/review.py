"""What a review of the record needs beyond :class:`RecordReader`, decided without Qt.

The trended parameters and the channels, with their labels, units and colour roles (the record
stores codes and channel names only); the per-minute trend as arrays with a NaN in each gap, so
a missing stretch is drawn as a gap; alarm-log rows as marks with their priority; recorded
events (rhythm changes) as values; and :class:`ReviewReader`, three small queries a review
needs that :class:`RecordReader` does not answer yet.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from app.alarms.priority import Priority
from app.storage.reader import RecordReader, Trend
from drivers.base import ColourRole

FloatArray = npt.NDArray[np.float64]
MINUTE = 60.0


@dataclass(frozen=True, slots=True)
class TrendParameter:
    key: str
    label: str
    unit: str  # as a clinician reads it
    codes: tuple[str, ...]  # trend codes drawn in this plot (NIBP: sys, dia, mean)
    role: ColourRole | None  # None: not a device parameter (NEWS2), drawn in the text colour
    y_range: tuple[float, float]  # the least the axis shows; it widens to fit the data
    decimals: int = 0


NIBP_CODES = ("NIBP_SYS", "NIBP_DIA", "NIBP_MEAN")
TREND_PARAMETERS: tuple[TrendParameter, ...] = (
    TrendParameter("HR", "HR", "bpm", ("HR",), ColourRole.ECG, (40.0, 160.0)),
    TrendParameter("SPO2", "SpO2", "%", ("SPO2",), ColourRole.PLETH, (80.0, 100.0)),
    TrendParameter("RR", "RR", "rpm", ("RR",), ColourRole.RESP, (0.0, 40.0)),
    TrendParameter("NIBP", "NIBP", "mmHg", NIBP_CODES, ColourRole.NIBP, (40.0, 180.0)),
    TrendParameter("TEMP", "Temp", "°C", ("TEMP",), ColourRole.TEMP, (35.0, 39.0), 1),
    TrendParameter("NEWS2", "NEWS2", "score", ("NEWS2",), None, (0.0, 10.0)),
)


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    label: str
    unit: str  # "" where the record's unit is arbitrary (pleth, impedance resp)
    role: ColourRole
    y_range: tuple[float, float] | None  # a fixed, labelled scale; None: fitted to the window
    order: int


ECG_RANGE_MV = (-1.5, 2.0)


def channel_info(channel: str) -> ChannelInfo:
    """How a recorded channel is labelled and scaled (ECG in mV at a fixed scale, first)."""
    name = channel.upper()
    if name.startswith("ECG"):
        lead = channel[3:].strip("_ ")
        return ChannelInfo(f"ECG {lead}".strip(), "mV", ColourRole.ECG, ECG_RANGE_MV, 0)
    if name.startswith("PLETH"):
        return ChannelInfo("Pleth", "", ColourRole.PLETH, None, 1)
    if name.startswith("RESP"):
        return ChannelInfo("Resp", "", ColourRole.RESP, None, 2)
    return ChannelInfo(channel, "", ColourRole.DEVICE, None, 3)


def ordered_channels(channels: Iterable[str]) -> list[str]:
    return sorted(channels, key=lambda c: (channel_info(c).order, c))


@dataclass(frozen=True, slots=True)
class TrendSeries:
    """One code's minutes as arrays: x at each minute's middle, NaN between two runs."""

    x: FloatArray
    median: FloatArray
    low: FloatArray
    high: FloatArray
    isolated: FloatArray  # x of minutes with no neighbour (no line can show them)

    @property
    def empty(self) -> bool:
        return self.x.size == 0


def trend_series(trend: Trend) -> TrendSeries:
    minutes = trend.minute
    x = minutes * MINUTE + MINUTE / 2
    step = np.diff(minutes)
    # A NaN row goes in before each minute that does not follow its predecessor.
    breaks = np.flatnonzero(step > 1) + 1
    columns = [np.insert(v.astype(np.float64), breaks, math.nan)
               for v in (x, trend.median, trend.low, trend.high)]  # fmt: skip
    joined = step == 1
    joined_before = np.concatenate(([False], joined))[: x.size]
    joined_after = np.concatenate((joined, [False]))[: x.size]
    isolated = x[~(joined_before | joined_after)].astype(np.float64)
    return TrendSeries(columns[0], columns[1], columns[2], columns[3], isolated)


@dataclass(frozen=True, slots=True)
class AlarmMark:
    t: float
    event: str  # start, end, reannounce, ack, ...
    priority: Priority
    text: str


def priority_of(text: str | None) -> Priority | None:
    """The priority of an alarm-log row (stored as its name: "high", "medium", "low")."""
    if not text:
        return None
    try:
        return Priority[text.upper()]
    except KeyError:
        return None


def alarm_marks(
    rows: Iterable[dict[str, Any]], events: Iterable[str] | None = None
) -> list[AlarmMark]:
    """Alarm-log rows that concern an alarm (they have a priority), optionally of some events."""
    wanted = None if events is None else set(events)
    marks = []
    for row in rows:
        priority = priority_of(row.get("priority"))
        if priority is None or (wanted is not None and row["event"] not in wanted):
            continue
        marks.append(AlarmMark(float(row["t"]), str(row["event"]), priority,
                               str(row.get("text") or row.get("code") or "")))  # fmt: skip
    return marks


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    t: float
    kind: str
    name: str
    message: str


def iso_local(t: float, timespec: str = "milliseconds") -> str:
    """``t`` (seconds since the epoch) as an ISO 8601 local time with its UTC offset."""
    return dt.datetime.fromtimestamp(t).astimezone().isoformat(sep=" ", timespec=timespec)


def recorded_events(rows: Iterable[dict[str, Any]]) -> list[RecordedEvent]:
    """Rows of :meth:`RecordReader.events` as events."""
    return [
        RecordedEvent(float(r["t"]), str(r["kind"]), str(r["name"]), str(r.get("message") or ""))
        for r in rows
    ]


class ReviewReader(RecordReader):
    """A :class:`RecordReader` that also answers what a review asks beyond it: the event in
    effect at a moment, whether a bed has anything recorded, and a bed's newest moment.

    (These belong in ``RecordReader`` itself; they live here until it has them.)
    """

    def last_event(self, bed: str, kind: str, t: float) -> RecordedEvent | None:
        """The newest event of ``kind`` at or before ``t`` (e.g. the rhythm in effect)."""
        row = self._db.execute(
            "SELECT t, kind, name, message FROM events WHERE bed = ? AND kind = ? AND t <= ? "
            "ORDER BY t DESC, id DESC LIMIT 1",
            [bed, kind, t],
        ).fetchone()
        return None if row is None else RecordedEvent(float(row[0]), row[1], row[2], row[3] or "")

    def has_bed(self, bed: str) -> bool:
        """Whether anything at all (waveforms, numerics, trends, alarms) is recorded for it."""
        for table in ("waveforms", "trends", "numerics", "alarm_log"):
            row = self._db.execute(f"SELECT 1 FROM {table} WHERE bed = ? LIMIT 1", [bed])
            if row.fetchone() is not None:
                return True
        return False

    def newest_time(self, bed: str) -> float | None:
        """The newest moment recorded for ``bed`` in any table; None if nothing is."""
        row = self._db.execute(
            "SELECT MAX(t) FROM ("
            " SELECT MAX(t_start + n / rate) AS t FROM waveforms WHERE bed = ?"
            " UNION ALL SELECT (MAX(minute) + 1) * 60.0 FROM trends WHERE bed = ?"
            # Each series' newest through its key: no scan of the bed's readings.
            " UNION ALL SELECT MAX((SELECT MAX(t) FROM readings WHERE series = s.id))"
            " FROM series s WHERE s.bed = ?"
            " UNION ALL SELECT MAX(t) FROM alarm_log WHERE bed = ?)",
            [bed, bed, bed, bed],
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])
