"""Exporting a stretch of the record: numerics as CSV, waveforms as EDF+ (``export_edf``),
a strip to print. The request and its checks are ``export_request``'s. The PDF is drawn by the
view layer (``widgets.strip_pdf``, passed in by the composition root): this module gathers
what it shows and stays Qt-free.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from app.export_edf import write_edf
from app.export_request import (
    SPAN_TOLERANCE,
    ExportError,
    ExportRequest,
    Window,
    channel_label,
    check_seconds,
    iso_time,
    open_record,
    resolve_window,
    window_is_simulated,
    window_strips,
)
from app.model.patient import Patient, PatientCategory, Sex
from app.presentation import age_text
from app.storage.reader import RecordReader

PAGE_SECONDS = 10  # one A4 landscape page of strip at 25 mm/s
CSV_COLUMNS = ("time", "code", "value", "unit", "quality", "device")
# Header numerics of the printed strip: label, code, unit shown, decimals, stale after (s).
PRINT_NUMERICS = (
    ("HR", "HR", "bpm", 0, 10.0),
    ("SpO2", "SPO2", "%", 0, 10.0),
    ("NIBP", "NIBP_SYS", "mmHg", 0, 20 * 60.0),
    ("RR", "RR", "rpm", 0, 10.0),
    ("Temp", "TEMP", "°C", 1, 60.0),
)


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


def strip_print(reader: RecordReader, window: Window) -> StripPrint:
    """What the printed strip shows: traces, patient, and the numerics at each page's start."""
    traces = tuple(
        PrintTrace(*channel_label(s.channel), s.rate, s.samples, s.channel.startswith("ECG_"))
        for s in window_strips(reader, window.bed, window.t0, window.t1)
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
        simulated=window_is_simulated(reader, window),
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
