"""The WFDB header (``.hea``): record line, one line per signal, ``#`` comments.

Only what Vigil plays back is supported: single-segment records whose signals are stored in
formats 16, 80 or 212 (MIT-BIH uses 212, PhysioNet/CinC 2017 uses 16 with a MAT-file byte
offset). Anything else is refused with a message naming the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SUPPORTED_FORMATS = (16, 80, 212)
DEFAULT_GAIN = 200.0  # WFDB's rule for a gain field of 0 or absent
_GAIN = re.compile(r"^(?P<gain>[-+0-9.eE]+)(?:\((?P<baseline>-?\d+)\))?(?:/(?P<units>\S+))?$")
_FORMAT = re.compile(r"^(?P<fmt>\d+)(?:x\d+)?(?::\d+)?(?:\+(?P<offset>\d+))?$")


class WfdbFormatError(ValueError):
    """A WFDB file that this reader cannot read, with the reason."""


@dataclass(frozen=True, slots=True)
class SignalHeader:
    file_name: str
    fmt: int
    byte_offset: int
    gain: float  # ADC units per physical unit
    baseline: int  # ADC value of physical zero
    units: str
    adc_resolution: int
    adc_zero: int
    initial_value: int | None
    checksum: int | None
    name: str


@dataclass(frozen=True, slots=True)
class RecordHeader:
    name: str
    fs: float
    n_samples: int
    signals: tuple[SignalHeader, ...]
    comments: tuple[str, ...]

    def signal_index(self, name: str) -> int | None:
        """The index of the first signal called ``name`` (case-insensitive), or None."""
        for index, signal in enumerate(self.signals):
            if signal.name.upper() == name.upper():
                return index
        return None


def read_header(path: Path) -> RecordHeader:
    """Parse ``<record>.hea``; ``path`` is the record path with or without the extension."""
    hea = path.with_suffix(".hea") if path.suffix != ".hea" else path
    try:
        text = hea.read_text(encoding="latin-1")
    except OSError as exc:
        raise WfdbFormatError(f"cannot read WFDB header {hea}: {exc.strerror}") from exc
    lines = [line.strip() for line in text.splitlines()]
    comments = tuple(line.lstrip("#").strip() for line in lines if line.startswith("#"))
    fields = [line.split() for line in lines if line and not line.startswith("#")]
    if not fields:
        raise WfdbFormatError(f"{hea}: no record line")
    record_line, signal_lines = fields[0], fields[1:]
    return _record(hea, record_line, signal_lines, comments)


def _record(
    hea: Path, record: list[str], signal_lines: list[list[str]], comments: tuple[str, ...]
) -> RecordHeader:
    if "/" in record[0]:
        raise WfdbFormatError(f"{hea}: multi-segment records are not supported")
    if len(record) < 2:
        raise WfdbFormatError(f"{hea}: record line needs a name and a signal count")
    n_signals = _int(hea, "signal count", record[1])
    fs_field = record[2].split("/")[0].split("(")[0] if len(record) > 2 else "250"
    fs = _float(hea, "sampling frequency", fs_field)
    if fs <= 0:
        raise WfdbFormatError(f"{hea}: sampling frequency must be positive, got {fs}")
    n_samples = _int(hea, "sample count", record[3]) if len(record) > 3 else 0
    if len(signal_lines) < n_signals:
        raise WfdbFormatError(f"{hea}: {n_signals} signals announced, {len(signal_lines)} found")
    signals = tuple(_signal(hea, line) for line in signal_lines[:n_signals])
    return RecordHeader(record[0], fs, n_samples, signals, comments)


def _signal(hea: Path, fields: list[str]) -> SignalHeader:
    if len(fields) < 2:
        raise WfdbFormatError(f"{hea}: signal line needs a file name and a format")
    fmt_match = _FORMAT.match(fields[1])
    if fmt_match is None:
        raise WfdbFormatError(f"{hea}: unreadable format field {fields[1]!r}")
    fmt = int(fmt_match["fmt"])
    if fmt not in SUPPORTED_FORMATS:
        raise WfdbFormatError(f"{hea}: signal format {fmt} is not supported {SUPPORTED_FORMATS}")
    gain, baseline, units = DEFAULT_GAIN, None, "mV"
    if len(fields) > 2:
        gain_match = _GAIN.match(fields[2])
        if gain_match is None:
            raise WfdbFormatError(f"{hea}: unreadable gain field {fields[2]!r}")
        gain = float(gain_match["gain"]) or DEFAULT_GAIN
        baseline = int(gain_match["baseline"]) if gain_match["baseline"] else None
        units = gain_match["units"] or units
    resolution = _int(hea, "ADC resolution", fields[3]) if len(fields) > 3 else 12
    adc_zero = _int(hea, "ADC zero", fields[4]) if len(fields) > 4 else 0
    initial = _int(hea, "initial value", fields[5]) if len(fields) > 5 else None
    checksum = _int(hea, "checksum", fields[6]) if len(fields) > 6 else None
    name = " ".join(fields[8:]) if len(fields) > 8 else ""
    return SignalHeader(
        file_name=fields[0],
        fmt=fmt,
        byte_offset=int(fmt_match["offset"] or 0),
        gain=gain,
        baseline=adc_zero if baseline is None else baseline,
        units=units,
        adc_resolution=resolution,
        adc_zero=adc_zero,
        initial_value=initial,
        checksum=checksum,
        name=name,
    )


def _int(hea: Path, what: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise WfdbFormatError(f"{hea}: {what} must be an integer, got {text!r}") from None


def _float(hea: Path, what: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise WfdbFormatError(f"{hea}: {what} must be a number, got {text!r}") from None
