"""Make the small WFDB records under ``tests/data/mitdb/`` from the full MIT-BIH records.

A test-data tool, not product code: it owns the tiny WFDB writer the excerpts need.

Each excerpt is a valid WFDB record of its own: the header carries the excerpt's sample count
and each signal's initial value and checksum recomputed; the format-212 bytes are sliced at
frame boundaries (unchanged); the reference annotations are re-encoded in MIT format with their
times shifted, keeping every field (subtype, channel, number, aux note), and a ``+`` with the
rhythm in force at the excerpt's first sample opens the file.

Run from the repository root: ``python -m tests.data.make_excerpts [--source DIR] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from drivers.wfdb.header import RecordHeader, SignalHeader, read_header
from drivers.wfdb.record import read_record

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = Path("/work/shared/data/mitdb")
FS = 360
LENGTH = 5 * 60 * FS  # five minutes


@dataclass(frozen=True, slots=True)
class Excerpt:
    record: str  # the MIT-BIH record it comes from
    start: int  # its first sample in the original
    why: str

    @property
    def name(self) -> str:
        return f"{self.record}x"

    @property
    def stop(self) -> int:
        """One past its last sample in the original."""
        return self.start + LENGTH


EXCERPTS = (
    Excerpt("201", 151200, "AF onset at 477.3 s and offset (nodal rhythm) at 514.1 s"),
    Excerpt("208", 90000, "PVCs, couplets and fusion beats; ventricular trigeminy episodes"),
    Excerpt(
        "207", 540000, "the longest ventricular flutter episode: [ at 1540.8 s to ] at 1638.7 s"
    ),
)

# MIT annotation format: a 16-bit word is a 6-bit code and a 10-bit value, little-endian.
_SKIP, _NUM, _SUB, _CHN, _AUX = 59, 60, 61, 62, 63
_RHYTHM = 28  # "+"
_MAX_INTERVAL = 1023


@dataclass(frozen=True, slots=True)
class RawAnnotation:
    """Every field of one annotation as the MIT format stores it."""

    sample: int
    code: int
    sub: int = 0
    chan: int = 0
    num: int = 0
    aux: bytes = b""


def read_raw_annotations(path: Path) -> list[RawAnnotation]:
    """All annotations of an MIT-format file, with the fields the product reader skips."""
    raw = path.read_bytes()
    words = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<u2").tolist()
    found: list[RawAnnotation] = []
    time = chan = num = 0  # CHN and NUM carry over to the following annotations
    i = 0
    while i < len(words):
        code, value = words[i] >> 10, words[i] & 0x3FF
        i += 1
        if code == 0 and value == 0:
            break
        if code == _SKIP:
            skip = (words[i] << 16) | words[i + 1]
            time += skip - (1 << 32) if skip & 0x80000000 else skip
            i += 2
        elif code == _AUX:
            found[-1] = replace(found[-1], aux=raw[i * 2 : i * 2 + value])
            i += (value + 1) // 2
        elif code == _SUB:
            found[-1] = replace(found[-1], sub=value)
        elif code == _CHN:
            chan = value
            found[-1] = replace(found[-1], chan=value)
        elif code == _NUM:
            num = value
            found[-1] = replace(found[-1], num=value)
        else:
            time += value
            found.append(RawAnnotation(time, code, chan=chan, num=num))
    return found


def encode_annotations(annotations: list[RawAnnotation]) -> bytes:
    """The MIT-format bytes of ``annotations`` (in time order), end marker included."""
    words: list[int] = []
    aux_bytes: dict[int, bytes] = {}  # word index of an AUX header -> its payload
    previous = RawAnnotation(0, 0)
    for ann in annotations:
        interval = ann.sample - previous.sample
        if 0 <= interval <= _MAX_INTERVAL:
            words.append(ann.code << 10 | interval)
        else:  # a long (or backward) gap: a 32-bit SKIP, high word first
            skip = interval & 0xFFFFFFFF
            words += [_SKIP << 10, skip >> 16, skip & 0xFFFF, ann.code << 10]
        if ann.sub:
            words.append(_SUB << 10 | ann.sub)
        if ann.chan != previous.chan:
            words.append(_CHN << 10 | ann.chan)
        if ann.num != previous.num:
            words.append(_NUM << 10 | ann.num)
        if ann.aux:
            aux_bytes[len(words)] = ann.aux
            words.append(_AUX << 10 | len(ann.aux))
            words += [0] * ((len(ann.aux) + 1) // 2)
        previous = ann
    words.append(0)
    data = bytearray(np.asarray(words, dtype="<u2").tobytes())
    for index, payload in aux_bytes.items():
        start = (index + 1) * 2
        data[start : start + len(payload)] = payload
    return bytes(data)


def excerpt_annotations(
    annotations: list[RawAnnotation], start: int, stop: int
) -> list[RawAnnotation]:
    """The annotations in ``start .. stop-1``, shifted to start at 0, opened by the rhythm in
    force at ``start``."""
    kept = [replace(a, sample=a.sample - start) for a in annotations if start <= a.sample < stop]
    before = [a for a in annotations if a.sample < start and a.code == _RHYTHM]
    opens_with_rhythm = bool(kept) and kept[0].sample == 0 and kept[0].code == _RHYTHM
    if before and not opens_with_rhythm:
        kept.insert(0, replace(before[-1], sample=0))
    return kept


def checksum(values: npt.NDArray[np.int32]) -> int:
    """The WFDB checksum: the sum of the samples as a signed 16-bit number."""
    total = int(values.astype(np.int64).sum())
    return (total + 32768) % 65536 - 32768


def header_text(name: str, header: RecordHeader, adc: npt.NDArray[np.int32], note: str) -> str:
    lines = [f"{name} {len(header.signals)} {header.fs:g} {len(adc)}"]
    for i, signal in enumerate(header.signals):
        lines.append(_signal_line(name, signal, int(adc[0, i]), checksum(adc[:, i])))
    lines += [f"# {comment}" for comment in header.comments]
    lines.append(f"# {note}")
    return "\n".join(lines) + "\n"


def _signal_line(name: str, signal: SignalHeader, initial: int, total: int) -> str:
    gain = f"{signal.gain:g}"
    if signal.baseline != signal.adc_zero:
        gain += f"({signal.baseline})"
    return (
        f"{name}.dat 212 {gain}/{signal.units} {signal.adc_resolution} {signal.adc_zero} "
        f"{initial} {total} 0 {signal.name}"
    )


def make_excerpt(source: Path, out: Path, excerpt: Excerpt) -> None:
    original = source / excerpt.record
    header = read_header(original)
    if any(s.fmt != 212 for s in header.signals) or len(header.signals) % 2:
        raise ValueError(f"{original}: only an even number of format-212 signals is sliced")
    if not 0 <= excerpt.start < excerpt.stop <= header.n_samples:
        raise ValueError(f"{original}: samples {excerpt.start}..{excerpt.stop} out of range")
    frame_bytes = len(header.signals) * 3 // 2
    dat = (source / header.signals[0].file_name).read_bytes()
    name = excerpt.name
    (out / f"{name}.dat").write_bytes(dat[excerpt.start * frame_bytes : excerpt.stop * frame_bytes])
    adc = read_record(original).adc[excerpt.start : excerpt.stop]
    note = (
        f"Excerpt of MIT-BIH Arrhythmia Database record {excerpt.record}, samples "
        f"{excerpt.start}-{excerpt.stop - 1} ({excerpt.start / FS:g}-{excerpt.stop / FS:g} s). "
        "ODC-By 1.0; see tests/data/README.md."
    )
    (out / f"{name}.hea").write_text(header_text(name, header, adc, note), encoding="ascii")
    annotations = read_raw_annotations(original.with_suffix(".atr"))
    kept = excerpt_annotations(annotations, excerpt.start, excerpt.stop)
    (out / f"{name}.atr").write_bytes(encode_annotations(kept))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Make the MIT-BIH excerpts for the tests.")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="MIT-BIH folder")
    parser.add_argument("--out", type=Path, default=HERE / "mitdb", help="output folder")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for excerpt in EXCERPTS:
        make_excerpt(args.source, args.out, excerpt)
        sys.stdout.write(f"{excerpt.name}: {excerpt.record} samples {excerpt.start}..\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
