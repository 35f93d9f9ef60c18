"""An export request: which bed, from when, for how long, in which format; checked against
the record before any file is written. A request the record cannot answer raises
``ExportError`` with a message saying what the record holds.

The start is an ISO 8601 time (without a zone it is the machine's local time) or
``+SECONDS`` from the start of that bed's record.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from app.storage.reader import RecordError, RecordReader, Strip
from app.storage.schema import SchemaError

FORMATS = ("pdf", "edf", "csv")
MAX_SECONDS = {"pdf": 60, "edf": 3600, "csv": 3600}
DEFAULT_SECONDS = 10
SPAN_TOLERANCE = 1e-3  # s: a window may end this close past the last sample (float rounding)


class ExportError(ValueError):
    """A request the record cannot answer, or a file that cannot be written; says why."""


@dataclass(frozen=True, slots=True)
class When:
    """A start: epoch seconds, or with ``relative`` seconds after the bed's first sample."""

    seconds: float
    relative: bool = False

    def resolve(self, record_start: float) -> float:
        return record_start + self.seconds if self.relative else self.seconds


@dataclass(frozen=True, slots=True)
class ExportRequest:
    db: Path
    bed: str
    start: When
    seconds: int
    format: str  # one of FORMATS
    out: Path


@dataclass(frozen=True, slots=True)
class Window:
    bed: str
    t0: float
    t1: float


def iso_time(t: float) -> str:
    """Epoch seconds as local ISO 8601 with the zone, to the millisecond."""
    moment = dt.datetime.fromtimestamp(t, dt.UTC).astimezone()
    return moment.isoformat(timespec="milliseconds")


def parse_when(text: str) -> When:
    """``+SECONDS`` (from the start of the bed's record) or an ISO 8601 time."""
    text = text.strip()
    if text.startswith("+"):
        try:
            seconds = float(text[1:])
        except ValueError:
            seconds = math.nan
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ExportError(f"+SECONDS needs a number of seconds of 0 or more, not {text!r}")
        return When(seconds, relative=True)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ExportError(
            f"not a time: {text!r}; use ISO 8601 (2026-03-01T14:05:00 is local time; add Z "
            "or +01:00 for another zone) or +SECONDS from the start of the bed's record"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # naive: the machine's local time
    return When(moment.timestamp())


def check_seconds(fmt: str, seconds: int) -> None:
    top = MAX_SECONDS[fmt]
    if not 1 <= seconds <= top:
        raise ExportError(f"the length must be 1-{top} s for {fmt}, got {seconds}")


@contextlib.contextmanager
def open_record(path: Path) -> Iterator[RecordReader]:
    """A reader on the record; a missing, newer or foreign file is an ``ExportError``."""
    try:
        reader = RecordReader(path)
    except (RecordError, SchemaError) as error:
        raise ExportError(str(error)) from None
    except sqlite3.DatabaseError as error:
        raise ExportError(f"{path} is not a Vigil record ({error})") from None
    try:
        try:
            reader.beds()  # a file that is not a record fails here, not halfway through
        except sqlite3.DatabaseError as error:
            raise ExportError(f"{path} is not a Vigil record ({error})") from None
        yield reader
    finally:
        reader.close()


def resolve_window(reader: RecordReader, request: ExportRequest) -> Window:
    """The request's times, checked against the bed's record."""
    beds = reader.beds()
    if not beds:
        raise ExportError(f"{request.db} holds no waveforms")
    if request.bed not in beds:
        raise ExportError(f"no bed {request.bed!r} in the record; it holds {', '.join(beds)}")
    start, end = reader.span(request.bed)
    t0 = request.start.resolve(start)
    t1 = t0 + request.seconds
    if t0 < start - SPAN_TOLERANCE or t1 > end + SPAN_TOLERANCE:
        raise ExportError(
            f"{request.seconds} s from {iso_time(t0)} is outside the record of {request.bed}, "
            f"which runs from {iso_time(start)} to {iso_time(end)} ({end - start:.1f} s)"
        )
    return Window(request.bed, t0, t1)


def channel_label(key: str) -> tuple[str, str]:
    """A stored channel key as an EDF+ label (at most 16 characters) and its unit."""
    known = {"PLETH": ("Pleth", "a.u."), "RESP": ("Resp", "Ohm")}
    if key in known:
        return known[key]
    if key.startswith("ECG_"):
        return ("ECG " + key[4:].replace("_", " "))[:16], "mV"
    return key[:16], ""


def window_strips(reader: RecordReader, bed: str, t0: float, t1: float) -> list[Strip]:
    """Every channel of the bed with something recorded in [t0, t1), ECG leads first."""
    strips = []
    for key in sorted(reader.channels(bed), key=lambda k: (not k.startswith("ECG_"), k)):
        try:
            strips.append(reader.strip(bed, key, t0, t1))
        except RecordError:
            continue  # a channel not recorded in this window
    if not strips:
        raise ExportError(f"no waveforms of {bed} between {iso_time(t0)} and {iso_time(t1)}")
    return strips


def window_is_simulated(reader: RecordReader, window: Window) -> bool:
    return any(d["simulated"] for d in reader.sources(window.bed, window.t0, window.t1))
