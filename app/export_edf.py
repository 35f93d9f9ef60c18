"""A stretch of the record as EDF+: every waveform channel of the bed, with its alarms,
rhythm events and gaps annotated, so that other tools can open it."""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyedflib

# pyedflib <= 0.1.42 writes the sub-second start 10x too large (holgern/pyedflib#315), so it
# is set through edflib directly, in edflib's unit of 100 ns.
from pyedflib._extensions._pyedflib import set_starttime_subsecond

from app.export_request import (
    ExportError,
    Window,
    channel_label,
    window_is_simulated,
    window_strips,
)
from app.storage.reader import RecordReader, Strip

EDF_DIGITAL = (-32768, 32767)  # the minimum is kept for gaps: samples never take it
EDF_ANNOTATION_LEN = 40  # edflib's limit for an annotation's text
RHYTHM_KINDS = ("rhythm", "ectopy")


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
    strips = window_strips(reader, window.bed, window.t0, window.t1)
    duration = record_duration([s.rate for s in strips])
    length = math.ceil((window.t1 - window.t0) / duration - 1e-9) * duration
    if length > window.t1 - window.t0:
        strips = window_strips(reader, window.bed, window.t0, window.t0 + length)
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
    if window_is_simulated(reader, window):
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
