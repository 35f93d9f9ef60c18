"""The shipped MIT-BIH excerpts agree sample for sample and beat for beat with the originals.

Needs the full records (``/work/shared/data/mitdb``, or ``$VIGIL_SHARED_DATA/mitdb``); without
them these comparisons are skipped, while ``test_wfdb.py`` still checks the excerpts themselves.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from drivers.wfdb.annotations import read_annotations
from drivers.wfdb.header import read_header
from drivers.wfdb.record import read_record
from tests.data.make_excerpts import (
    EXCERPTS,
    Excerpt,
    checksum,
    encode_annotations,
    make_excerpt,
    read_raw_annotations,
)

SHIPPED = Path(__file__).resolve().parents[1] / "data" / "mitdb"
SHARED = Path(os.environ.get("VIGIL_SHARED_DATA", "/work/shared/data")) / "mitdb"
needs_originals = pytest.mark.skipif(
    not (SHARED / "RECORDS").is_file(), reason=f"the full MIT-BIH records are not in {SHARED}"
)
ORIGINALS = ("101", "114", "201", "207", "208", "230")


@needs_originals
@pytest.mark.parametrize("record", ORIGINALS)
def test_the_decoder_reproduces_physionet_checksums_and_initial_values(record: str) -> None:
    full = read_record(SHARED / record)
    assert full.n_samples == 650000
    for i, signal in enumerate(full.header.signals):
        assert full.adc[0, i] == signal.initial_value
        assert checksum(full.adc[:, i]) == signal.checksum


@needs_originals
@pytest.mark.parametrize("record", ORIGINALS)
def test_the_annotation_writer_rewrites_an_original_byte_for_byte(record: str) -> None:
    original = SHARED / f"{record}.atr"
    assert encode_annotations(read_raw_annotations(original)) == original.read_bytes()


@needs_originals
@pytest.mark.parametrize("excerpt", EXCERPTS, ids=lambda e: e.name)
def test_an_excerpt_is_the_original_sample_for_sample(excerpt: Excerpt) -> None:
    original = read_record(SHARED / excerpt.record)
    part = read_record(SHIPPED / excerpt.name)
    np.testing.assert_array_equal(part.adc, original.adc[excerpt.start : excerpt.stop])
    for i in range(len(part.header.signals)):
        np.testing.assert_array_equal(
            part.physical(i), original.physical(i)[excerpt.start : excerpt.stop]
        )
    full, cut = read_header(SHARED / excerpt.record), part.header
    assert [s.name for s in cut.signals] == [s.name for s in full.signals]
    assert [(s.gain, s.baseline, s.units) for s in cut.signals] == [
        (s.gain, s.baseline, s.units) for s in full.signals
    ]
    assert cut.comments[: len(full.comments)] == full.comments
    assert f"samples {excerpt.start}-{excerpt.stop - 1}" in cut.comments[-1]


@needs_originals
@pytest.mark.parametrize("excerpt", EXCERPTS, ids=lambda e: e.name)
def test_an_excerpt_has_the_original_annotations_shifted(excerpt: Excerpt) -> None:
    original = read_annotations(SHARED / excerpt.record)
    part = read_annotations(SHIPPED / excerpt.name)
    inside = (original.samples >= excerpt.start) & (original.samples < excerpt.stop)
    index = np.flatnonzero(inside)
    # The first annotation is the rhythm in force at the start, added; the rest are the original.
    assert part.samples[1:].tolist() == (original.samples[index] - excerpt.start).tolist()
    assert part.symbols[1:] == tuple(original.symbols[i] for i in index)
    assert part.aux[1:] == tuple(original.aux[i] for i in index)
    in_force = [r for s, r in original.rhythm_changes() if s < excerpt.start][-1]
    assert (int(part.samples[0]), part.symbols[0], part.rhythm_changes()[0][1]) == (
        0, "+", in_force,
    )  # fmt: skip
    # Subtypes, channels and numbers (which the product reader skips) are kept too.
    raw_original = read_raw_annotations(SHARED / f"{excerpt.record}.atr")
    raw_part = read_raw_annotations(SHIPPED / f"{excerpt.name}.atr")
    kept = [(a.sub, a.chan, a.num, a.aux) for a in raw_original
            if excerpt.start <= a.sample < excerpt.stop]  # fmt: skip
    assert [(a.sub, a.chan, a.num, a.aux) for a in raw_part[1:]] == kept


@needs_originals
@pytest.mark.parametrize("excerpt", EXCERPTS, ids=lambda e: e.name)
def test_the_shipped_files_are_what_the_tool_makes(excerpt: Excerpt, tmp_path: Path) -> None:
    make_excerpt(SHARED, tmp_path, excerpt)
    for suffix in (".hea", ".dat", ".atr"):
        made = (tmp_path / excerpt.name).with_suffix(suffix).read_bytes()
        assert made == (SHIPPED / excerpt.name).with_suffix(suffix).read_bytes(), suffix
