"""Exporting a stretch of the record: numerics as CSV, waveforms as EDF+, a strip to print.

A request names a bed, a start and a length. The start is an ISO 8601 time (without a zone it
is the machine's local time) or ``+SECONDS`` from the start of that bed's record. The request
is checked against the record before any file is written; one the record cannot answer
raises ``ExportError`` with a message saying what the record holds. The PDF is drawn by the
view layer (``widgets.strip_pdf``, passed in by the composition root): this module gathers
what it shows and stays Qt-free.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import math
import sqlite3
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyedflib

# pyedflib <= 0.1.42 writes the sub-second start 10x too large (holgern/pyedflib#315), so it
# is set through edflib directly, in edflib's unit of 100 ns.
from pyedflib._extensions._pyedflib import set_starttime_subsecond

from app.model.patient import Patient, PatientCategory, Sex
from app.presentation import age_text
from app.storage.reader import RecordError, RecordReader, Strip
from app.storage.schema import SchemaError

FORMATS = ("pdf", "edf", "csv")
MAX_SECONDS = {"pdf": 60, "edf": 3600, "csv": 3600}
DEFAULT_SECONDS = 10
PAGE_SECONDS = 10  # one A4 landscape page of strip at 25 mm/s
SPAN_TOLERANCE = 1e-3  # s: a window may end this close past the last sample (float rounding)
CSV_COLUMNS = ("time", "code", "value", "unit", "quality", "device")
EDF_DIGITAL = (-32768, 32767)  # the minimum is kept for gaps: samples never take it
EDF_ANNOTATION_LEN = 40  # edflib's limit for an annotation's text
RHYTHM_KINDS = ("rhythm", "ectopy")
# Header numerics of the printed strip: label, code, unit shown, decimals, stale after (s).
PRINT_NUMERICS = (
    ("HR", "HR", "bpm", 0, 10.0),
    ("SpO2", "SPO2", "%", 0, 10.0),
    ("NIBP", "NIBP_SYS", "mmHg", 0, 20 * 60.0),
    ("RR", "RR", "rpm", 0, 10.0),
    ("Temp", "TEMP", "°C", 1, 60.0),
)


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


@dataclass(frozen=True, slots=True)
class PrintTrace:
    label: str  # "ECG II", "Pleth", "Resp"
    unit: str  # "mV", "a.u.", "Ohm"
    rate: float
    samples: npt.NDArray[np.float32]  # NaN where nothing was recorded
    calibrated: bool  # an ECG: drawn at the standard gain, 10 mm/mV


@dataclass(frozen=True, slots=True)
class PrintPage:
    offset: float  # seconds from the strip's start
    start_text: str  # ISO 8601
    numerics: tuple[str, ...]  # "HR 72 bpm", "NIBP 120/80 (93) mmHg, 4 min ago", ...


@dataclass(frozen=True, slots=True)
class StripPrint:
    """Everything the printed strip shows, already read from the record."""

    bed: str
    patient: str
    simulated: bool
    seconds: float
    page_seconds: float
    traces: tuple[PrintTrace, ...]
    pages: tuple[PrintPage, ...]


PdfRenderer = Callable[[StripPrint, Path], None]


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


def export(request: ExportRequest, render_pdf: PdfRenderer | None = None) -> None:
    """Write the file a request asks for; ``render_pdf`` draws the strip (format pdf)."""
    check_seconds(request.format, request.seconds)
    if request.format == "pdf" and render_pdf is None:
        raise ExportError("no PDF renderer was given")
    if request.out.resolve() == request.db.resolve():
        raise ExportError(f"--out {request.out} is the record itself")
    with open_record(request.db) as reader:
        window = resolve_window(reader, request)
        try:
            request.out.parent.mkdir(parents=True, exist_ok=True)
            if request.format == "csv":
                write_csv(reader, window, request.out)
            elif request.format == "edf":
                write_edf(reader, window, request.out)
            elif render_pdf is not None:
                render_pdf(strip_print(reader, window), request.out)
        except BaseException as error:
            with contextlib.suppress(OSError):  # never leave half a file behind
                request.out.unlink(missing_ok=True)
            if isinstance(error, OSError):
                raise ExportError(
                    f"cannot write {request.out}: {error.strerror or error}"
                ) from None
            raise


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


def write_csv(reader: RecordReader, window: Window, out: Path) -> None:
    """The bed's numerics in the window, one reading per row, in time order."""
    rows = reader.numerics(window.bed, window.t0, window.t1)
    with out.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            value = row["value"]
            text = "" if value is None or not math.isfinite(value) else repr(float(value))
            writer.writerow(
                [iso_time(row["t"]), row["code"], text, row["unit"], row["quality"], row["device"]]
            )


def channel_label(key: str) -> tuple[str, str]:
    """A stored channel key as an EDF+ label (at most 16 characters) and its unit."""
    known = {"PLETH": ("Pleth", "a.u."), "RESP": ("Resp", "Ohm")}
    if key in known:
        return known[key]
    if key.startswith("ECG_"):
        return ("ECG " + key[4:].replace("_", " "))[:16], "mV"
    return key[:16], ""


def _strips(reader: RecordReader, bed: str, t0: float, t1: float) -> list[Strip]:
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


def record_duration(rates: list[float]) -> int:
    """The shortest EDF data record (whole seconds) holding a whole number of every rate's
    samples: 1 s, or 2 s with respiration at 62.5 Hz."""
    for seconds in range(1, 61):
        if all(abs(r * seconds - round(r * seconds)) < 1e-6 for r in rates):
            return seconds
    raise ExportError(f"EDF cannot hold the sampling rates {rates} in whole records")


def write_edf(reader: RecordReader, window: Window, out: Path) -> None:
    """All waveform channels of the bed in the window as EDF+, with its events annotated.

    The file covers the window rounded up to whole data records. Gaps are written as the
    digital minimum, which no sample takes, and annotated "gap: <channel>".
    """
    strips = _strips(reader, window.bed, window.t0, window.t1)
    duration = record_duration([s.rate for s in strips])
    length = math.ceil((window.t1 - window.t0) / duration - 1e-9) * duration
    if length > window.t1 - window.t0:
        strips = _strips(reader, window.bed, window.t0, window.t0 + length)
    headers: list[dict[str, str | int | float | None]] = []
    digital: list[npt.NDArray[np.int32]] = []
    for strip in strips:
        label, unit = channel_label(strip.channel)
        lo, hi = _physical_range(strip.samples)
        headers.append({
            "label": label, "dimension": unit, "sample_frequency": strip.rate,
            "physical_min": lo, "physical_max": hi, "digital_min": EDF_DIGITAL[0],
            "digital_max": EDF_DIGITAL[1], "transducer": "", "prefilter": "",
        })  # fmt: skip
        digital.append(_to_digital(strip.samples, lo, hi))
    notes = list(_annotations(reader, window, strips, window.t0 + length))
    writer = pyedflib.EdfWriter(str(out), len(strips), file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        writer.setSignalHeaders(headers)
        with warnings.catch_warnings():  # the duration is chosen to fit every rate exactly
            warnings.filterwarnings("ignore", "Forcing a specific record_duration")
            writer.setDatarecordDuration(duration)
        _write_header(writer, reader, window)
        records = round(length / duration)
        if len(notes) > 64 * records:  # edflib holds up to 64 per data record
            raise ExportError(f"too many annotations ({len(notes)}) for {length} s of EDF+")
        writer.set_number_of_annotation_signals(min(64, math.ceil(len(notes) / records) + 1))
        start = dt.datetime.fromtimestamp(window.t0)
        writer.setStartdatetime(start.replace(microsecond=0))
        set_starttime_subsecond(writer.handle, start.microsecond * 10)
        for onset, duration_s, text in notes:
            writer.writeAnnotation(onset, duration_s, text[:EDF_ANNOTATION_LEN])
        writer.writeSamples(digital, digital=True)
    finally:
        writer.close()


def _write_header(writer: pyedflib.EdfWriter, reader: RecordReader, window: Window) -> None:
    """De-identified: the patient is known by the MRN only; the bed is the admin code."""
    patient = reader.patient_at(window.bed, window.t0)
    if patient is not None:
        writer.setPatientCode(_edf_text(patient["mrn"]))
    writer.setAdmincode(_edf_text(window.bed))
    writer.setEquipment("Vigil")
    if _simulated(reader, window):
        writer.setRecordingAdditional("SIMULATED")


def _edf_text(text: str) -> str:
    """EDF+ header fields are ASCII, with spaces separating subfields."""
    return text.encode("ascii", "replace").decode("ascii").replace(" ", "_")


def _physical_range(samples: npt.NDArray[np.float32]) -> tuple[float, float]:
    """A range a little wider than the samples, in numbers that fit EDF's 8 characters."""
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return -1.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    margin = (hi - lo) / 1000 if hi > lo else max(abs(hi), 1.0)
    return _edf_number(lo - margin, math.floor), _edf_number(hi + margin, math.ceil)


def _edf_number(x: float, outward: Callable[[float], int]) -> float:
    for decimals in range(6, -1, -1):
        scale = 10.0**decimals
        value = round(outward(x * scale) / scale, decimals)
        if len(str(value)) <= 8 and "e" not in str(value):
            return value
    raise ExportError(f"a value of {x:g} does not fit an EDF header")


def _to_digital(samples: npt.NDArray[np.float32], lo: float, hi: float) -> npt.NDArray[np.int32]:
    d_min, d_max = EDF_DIGITAL
    step = (hi - lo) / (d_max - d_min)
    finite = np.isfinite(samples)
    values = np.where(finite, samples.astype(np.float64), lo)
    digital = np.clip(np.round((values - lo) / step) + d_min, d_min + 1, d_max)
    return np.where(finite, digital, d_min).astype(np.int32)


def _annotations(
    reader: RecordReader, window: Window, strips: list[Strip], t_end: float
) -> Iterator[tuple[float, float, str]]:
    """(onset from the window's start, duration or -1, text), in time order."""
    notes: list[tuple[float, float, str]] = []
    for entry in reader.alarm_log(window.bed, window.t0, t_end):
        if entry["event"] == "start":
            what = entry["text"] or entry["code"] or "alarm"
            notes.append((entry["t"] - window.t0, -1.0, f"alarm {entry['priority']}: {what}"))
    for event in reader.events(window.bed, window.t0, t_end, RHYTHM_KINDS):
        notes.append((event["t"] - window.t0, -1.0, f"{event['kind']}: {event['name']}"))
    for strip in strips:
        label = channel_label(strip.channel)[0]
        for first, last in _gaps(strip.samples):
            notes.append((first / strip.rate, (last - first) / strip.rate, f"gap: {label}"))
    yield from sorted(notes)


def _gaps(samples: npt.NDArray[np.float32]) -> list[tuple[int, int]]:
    """[first, last) sample index of every run of NaN."""
    missing = np.concatenate(([False], np.isnan(samples), [False]))
    edges = np.flatnonzero(np.diff(missing.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _simulated(reader: RecordReader, window: Window) -> bool:
    return any(d["simulated"] for d in reader.sources(window.bed, window.t0, window.t1))


def strip_print(reader: RecordReader, window: Window) -> StripPrint:
    """What the printed strip shows: traces, patient, and the numerics at each page's start."""
    traces = tuple(
        PrintTrace(*channel_label(s.channel), s.rate, s.samples, s.channel.startswith("ECG_"))
        for s in _strips(reader, window.bed, window.t0, window.t1)
    )
    seconds = window.t1 - window.t0
    pages = tuple(
        PrintPage(offset, iso_time(window.t0 + offset),
                  numerics_text(reader.numerics_at(window.bed, window.t0 + offset),
                                window.t0 + offset))
        for offset in range(0, math.ceil(seconds - SPAN_TOLERANCE), PAGE_SECONDS)
    )  # fmt: skip
    return StripPrint(
        bed=window.bed,
        patient=patient_text(reader.patient_at(window.bed, window.t0), window.t0),
        simulated=_simulated(reader, window),
        seconds=seconds,
        page_seconds=PAGE_SECONDS,
        traces=traces,
        pages=pages,
    )


def patient_text(row: dict[str, Any] | None, t: float) -> str:
    if row is None:
        return "unknown patient"
    try:
        patient = Patient(
            row["family_name"], row["given_name"], row["mrn"],
            dt.date.fromisoformat(row["date_of_birth"]), Sex(row["sex"]),
            PatientCategory(row["category"]),
        )  # fmt: skip
    except (TypeError, ValueError):  # an incomplete row: show what is there
        return (
            f"{row.get('family_name') or '?'}, {row.get('given_name') or '?'}  ·  MRN {row['mrn']}"
        )
    today = dt.datetime.fromtimestamp(t).date()
    return (
        f"{patient.display_name}  ·  MRN {patient.mrn}  ·  born "
        f"{patient.date_of_birth.isoformat()} ({patient.age_text(today)})  ·  {patient.sex.value}"
    )


def numerics_text(readings: dict[str, dict[str, Any]], t: float) -> tuple[str, ...]:
    """The header's numerics as they stood at ``t``: "---" for none, with the age if old."""
    texts = []
    for label, code, unit, decimals, stale_after in PRINT_NUMERICS:
        if code == "NIBP_SYS":
            texts.append(f"{label} {_nibp_text(readings, t)}")
            continue
        reading = readings.get(code)
        texts.append(f"{label} {_value_text(reading, decimals, stale_after, t)} {unit}")
    return tuple(texts)


def _value_text(reading: dict[str, Any] | None, decimals: int, stale_after: float, t: float) -> str:
    if reading is None:
        return "---"
    value = reading["value"]
    if (
        value is None
        or not math.isfinite(value)
        or reading["quality"] in ("invalid", "unavailable")
    ):
        return "---"
    text = f"{value:.{decimals}f}" + ("?" if reading["quality"] == "questionable" else "")
    age = t - reading["t"]
    return text + (f" ({age_text(age)} old)" if age > stale_after else "")


def _nibp_text(readings: dict[str, dict[str, Any]], t: float) -> str:
    """One measurement's systolic/diastolic (mean) and its age; never a mixed set."""
    parts = [readings.get(code) for code in ("NIBP_SYS", "NIBP_DIA", "NIBP_MEAN")]
    if any(p is None or p["value"] is None or p["quality"] != "valid" for p in parts):
        return "---/--- mmHg"
    sys_, dia, mean = (p for p in parts if p is not None)
    if not sys_["t"] == dia["t"] == mean["t"]:
        return "---/--- mmHg"
    values = f"{sys_['value']:.0f}/{dia['value']:.0f} ({mean['value']:.0f})"
    return f"{values} mmHg, {age_text(t - sys_['t'])} ago"
