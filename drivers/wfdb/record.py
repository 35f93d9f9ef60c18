"""WFDB signal files: decode formats 16, 80 and 212 into physical units."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from drivers.wfdb.header import RecordHeader, SignalHeader, WfdbFormatError, read_header

Int32Array = npt.NDArray[np.int32]
Float64Array = npt.NDArray[np.float64]

INVALID_16 = -32768  # WFDB's "no sample" value in format 16
INVALID_212 = -2048  # and in format 212
_BYTES_PER_FRAME_SAMPLE = {16: 2.0, 80: 1.0, 212: 1.5}


@dataclass(frozen=True, slots=True)
class WfdbRecord:
    header: RecordHeader
    adc: Int32Array  # shape (n_samples, n_signals), raw ADC values

    @property
    def fs(self) -> float:
        return self.header.fs

    @property
    def n_samples(self) -> int:
        return int(self.adc.shape[0])

    def physical(self, signal: int) -> Float64Array:
        """One signal in its physical units (mV for ECG); invalid samples become NaN."""
        spec = self.header.signals[signal]
        raw = self.adc[:, signal]
        values = (raw.astype(np.float64) - spec.baseline) / spec.gain
        values[raw == _invalid_value(spec.fmt)] = np.nan
        return values


def read_record(path: str | Path) -> WfdbRecord:
    """Read a whole record; ``path`` names the record without extension, e.g. ``mitdb/100``."""
    record_path = Path(path)
    header = read_header(record_path)
    if not header.signals:
        raise WfdbFormatError(f"{record_path}: the record has no signals")
    groups: dict[str, list[int]] = {}
    for index, signal in enumerate(header.signals):
        groups.setdefault(signal.file_name, []).append(index)
    columns: dict[int, Int32Array] = {}
    for file_name, indices in groups.items():
        specs = [header.signals[i] for i in indices]
        data = _read_group(record_path.parent / file_name, specs, header.n_samples)
        for column, index in enumerate(indices):
            columns[index] = data[:, column]
    n = min(len(column) for column in columns.values())
    adc = np.stack([columns[i][:n] for i in range(len(header.signals))], axis=1)
    return WfdbRecord(header, adc.astype(np.int32))


def _read_group(path: Path, specs: list[SignalHeader], n_samples: int) -> Int32Array:
    fmt, offset = specs[0].fmt, specs[0].byte_offset
    if any(spec.fmt != fmt or spec.byte_offset != offset for spec in specs):
        raise WfdbFormatError(f"{path}: signals sharing a file must share a format")
    try:
        raw = np.fromfile(path, dtype=np.uint8, offset=offset)
    except OSError as exc:
        raise WfdbFormatError(f"cannot read WFDB signal file {path}: {exc.strerror}") from exc
    n_signals = len(specs)
    frame_bytes = _BYTES_PER_FRAME_SAMPLE[fmt] * n_signals
    available = int(len(raw) // frame_bytes)
    frames = min(available, n_samples) if n_samples > 0 else available
    if fmt == 212:
        samples = _decode_212(raw, frames * n_signals)
    elif fmt == 16:
        samples = raw[: frames * n_signals * 2].view("<i2").astype(np.int32)
    else:  # 80: offset binary bytes
        samples = raw[: frames * n_signals].astype(np.int32) - 128
    return samples[: frames * n_signals].reshape(frames, n_signals)


def _decode_212(raw: npt.NDArray[np.uint8], count: int) -> Int32Array:
    """Two 12-bit two's-complement samples packed into three bytes."""
    n_pairs = (count + 1) // 2
    data = raw[: n_pairs * 3]
    if len(data) < n_pairs * 3:
        data = np.concatenate([data, np.zeros(n_pairs * 3 - len(data), np.uint8)])
    triples = data.reshape(n_pairs, 3).astype(np.int32)
    first = triples[:, 0] | ((triples[:, 1] & 0x0F) << 8)
    second = triples[:, 2] | ((triples[:, 1] & 0xF0) << 4)
    samples = np.empty(n_pairs * 2, np.int32)
    samples[0::2], samples[1::2] = first, second
    samples[samples > 2047] -= 4096
    return samples[:count]


def _invalid_value(fmt: int) -> int:
    return {16: INVALID_16, 212: INVALID_212}.get(fmt, -129)
