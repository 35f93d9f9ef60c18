"""The WFDB reader: headers (and the files it must refuse), formats 212/16/80, MIT annotations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from drivers.wfdb.annotations import AAMI_CLASS, BEAT_SYMBOLS, read_annotations
from drivers.wfdb.header import WfdbFormatError, read_header
from drivers.wfdb.record import read_record
from tests.data.make_excerpts import checksum

EXCERPTS = Path(__file__).resolve().parents[1] / "data" / "mitdb"

HEADER = """\
rec 2 360 4
# a comment before the signals is still a comment
rec.dat 212 200/mV 11 1024 1000 -12 0 MLII
rec.dat 212 100(5)/mV 11 0 7 0 0 V1
# 69 M 1085 1629 x1
"""


def write_record(tmp_path: Path, header: str, dat: bytes = b"", name: str = "rec") -> Path:
    (tmp_path / f"{name}.hea").write_text(header, encoding="ascii")
    (tmp_path / f"{name}.dat").write_bytes(dat)
    return tmp_path / name


def pack_212(values: list[int]) -> bytes:
    """Samples as format 212: two 12-bit two's-complement values in three bytes."""
    out = bytearray()
    for first, second in zip(values[0::2], values[1::2], strict=True):
        a, b = first & 0xFFF, second & 0xFFF
        out += bytes([a & 0xFF, (a >> 8) | ((b >> 8) << 4), b & 0xFF])
    return bytes(out)


# -- headers -----------------------------------------------------------------------------


def test_a_header_is_parsed_field_by_field(tmp_path: Path) -> None:
    header = read_header(write_record(tmp_path, HEADER))
    assert (header.name, header.fs, header.n_samples) == ("rec", 360.0, 4)
    mlii, v1 = header.signals
    assert (mlii.fmt, mlii.gain, mlii.baseline, mlii.units) == (212, 200.0, 1024, "mV")
    assert (mlii.initial_value, mlii.checksum, mlii.name) == (1000, -12, "MLII")
    assert (v1.gain, v1.baseline, v1.adc_zero) == (100.0, 5, 0)  # "(5)": baseline, not zero
    assert header.comments == ("a comment before the signals is still a comment",
                               "69 M 1085 1629 x1")  # fmt: skip
    assert header.signal_index("mlii") == 0
    assert header.signal_index("V5") is None


def test_a_format_with_a_byte_offset_and_defaults(tmp_path: Path) -> None:
    path = write_record(tmp_path, "A1 1 300 9000\nA1.mat 16+24 1000/mV 16 0 -127 0 0 ECG\n")
    signal = read_header(path).signals[0]
    assert (signal.fmt, signal.byte_offset, signal.gain, signal.name) == (16, 24, 1000.0, "ECG")
    bare = read_header(write_record(tmp_path, "B 1\nB.dat 212\n", name="B")).signals[0]
    assert (bare.gain, bare.baseline, bare.units, bare.initial_value) == (200.0, 0, "mV", None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no record line"),
        ("# only a comment\n", "no record line"),
        ("rec\n", "record line needs a name and a signal count"),
        ("rec two 360\n", "signal count must be an integer, got 'two'"),
        ("rec 1 fast\n", "sampling frequency must be a number, got 'fast'"),
        ("rec 1 0\nrec.dat 212\n", "sampling frequency must be positive"),
        ("rec 1 360 many\nrec.dat 212\n", "sample count must be an integer, got 'many'"),
        ("rec 2 360\nrec.dat 212\n", "2 signals announced, 1 found"),
        ("rec 1 360\nrec.dat 311\n", "signal format 311 is not supported"),
        ("rec 1 360\nrec.dat x212\n", "unreadable format field 'x212'"),
        ("rec 1 360\nrec.dat 212 lots/mV\n", "unreadable gain field 'lots/mV'"),
        ("rec 1 360\nrec.dat 212 200 eleven\n", "ADC resolution must be an integer"),
        ("rec/2 2 360\n", "multi-segment records are not supported"),
    ],
)
def test_a_bad_header_is_refused_with_the_reason(tmp_path: Path, text: str, message: str) -> None:
    path = write_record(tmp_path, text)
    with pytest.raises(WfdbFormatError, match=message) as caught:
        read_header(path)
    assert str(path.with_suffix(".hea")) in str(caught.value)  # which file, too


def test_a_missing_record_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(WfdbFormatError, match=r"cannot read WFDB header .*nothing\.hea"):
        read_record(tmp_path / "nothing")
    write_record(tmp_path, "rec 1 360 2\nother.dat 212\n")
    with pytest.raises(WfdbFormatError, match=r"cannot read WFDB signal file .*other\.dat"):
        read_record(tmp_path / "rec")
    with pytest.raises(WfdbFormatError, match=r"cannot read annotations .*rec\.atr"):
        read_annotations(tmp_path / "rec")


def test_a_header_without_signals_is_not_a_record(tmp_path: Path) -> None:
    with pytest.raises(WfdbFormatError, match="the record has no signals"):
        read_record(write_record(tmp_path, "rec 0 360\n"))


# -- signals -----------------------------------------------------------------------------


def test_format_212_decodes_negative_values_and_marks_invalid_samples(tmp_path: Path) -> None:
    frames = [(1000, 7), (1224, -5), (-2048, 2047), (824, -2047)]  # (MLII, V1) per sample
    dat = pack_212([v for frame in frames for v in frame])
    record = read_record(write_record(tmp_path, HEADER, dat))
    assert record.adc.tolist() == [list(f) for f in frames]
    mlii = record.physical(0)
    assert mlii[[0, 1, 3]] == pytest.approx([-0.12, 1.0, -1.0])  # (adc - 1024) / 200
    assert np.isnan(mlii[2])  # -2048 is WFDB's "no sample"
    assert record.physical(1)[[0, 3]] == pytest.approx([0.02, -20.52])  # baseline 5, gain 100


def test_a_short_signal_file_gives_the_frames_it_holds(tmp_path: Path) -> None:
    dat = pack_212([1, 2, 3, 4])[:5]  # the second frame is cut
    record = read_record(write_record(tmp_path, HEADER, dat))
    assert record.adc.tolist() == [[1, 2]]


def test_format_16_with_an_offset_and_format_80(tmp_path: Path) -> None:
    values = np.array([0, 1000, -1000, -32768], "<i2")
    (tmp_path / "A.mat").write_bytes(b"\x00" * 24 + values.tobytes())
    (tmp_path / "A.hea").write_text("A 1 300 4\nA.mat 16+24 1000/mV 16 0 -127 0 0 ECG\n")
    ecg = read_record(tmp_path / "A").physical(0)
    assert ecg[:3] == pytest.approx([0.0, 1.0, -1.0])
    assert np.isnan(ecg[3])
    (tmp_path / "B.dat").write_bytes(bytes([128, 228, 28]))
    (tmp_path / "B.hea").write_text("B 1 100 3\nB.dat 80 100/mV 8 0\n")
    assert read_record(tmp_path / "B").physical(0) == pytest.approx([0.0, 1.0, -1.0])


@pytest.mark.parametrize("name", ["201x", "207x", "208x"])
def test_the_shipped_excerpts_match_their_header_checksums(name: str) -> None:
    record = read_record(EXCERPTS / name)
    assert record.fs == 360.0
    assert record.n_samples == record.header.n_samples == 5 * 60 * 360
    assert [s.name for s in record.header.signals][:1] == ["MLII"]
    for i, signal in enumerate(record.header.signals):
        assert record.adc[0, i] == signal.initial_value
        assert checksum(record.adc[:, i]) == signal.checksum
    mlii = record.physical(0)
    assert np.isfinite(mlii).all()
    assert 0.3 < float(np.percentile(mlii, 99.5) - np.percentile(mlii, 0.5)) < 8.0  # mV


# -- annotations -------------------------------------------------------------------------


def word(code: int, value: int) -> bytes:
    return (code << 10 | value).to_bytes(2, "little")


def test_mit_annotations_with_skip_aux_and_skipped_fields(tmp_path: Path) -> None:
    data = (
        word(28, 9) + word(63, 5) + b"(AFIB\x00"  # "+" at 9, aux padded to a whole word
        + word(1, 300) + word(61, 1) + word(62, 1) + word(60, 3)  # N, then SUB, CHN, NUM
        + word(59, 0) + (70000 >> 16).to_bytes(2, "little") + (70000 & 0xFFFF).to_bytes(2, "little")
        + word(5, 0)  # V at 9 + 300 + 70000
        + word(28, 20) + word(63, 2) + b"(N"
        + word(32, 1) + word(31, 3) + word(33, 500)  # [ ! ]
        + word(0, 0)
        + word(1, 5)  # after the end marker: ignored
    )  # fmt: skip
    (tmp_path / "rec.atr").write_bytes(data)
    ann = read_annotations(tmp_path / "rec")
    assert ann.samples.tolist() == [9, 309, 70309, 70329, 70330, 70333, 70833]
    assert ann.symbols == ("+", "N", "V", "+", "[", "!", "]")
    assert ann.aux[0] == "(AFIB"
    assert ann.rhythm_changes() == [(9, "(AFIB"), (70329, "(N")]
    samples, symbols = ann.beats()
    assert samples.tolist() == [309, 70309]
    assert symbols == ("N", "V")


def test_a_truncated_skip_is_refused(tmp_path: Path) -> None:
    (tmp_path / "rec.atr").write_bytes(word(1, 5) + word(59, 0) + b"\x01\x00")
    with pytest.raises(WfdbFormatError, match="truncated SKIP"):
        read_annotations(tmp_path / "rec")


def test_beat_symbols_and_their_aami_classes() -> None:
    assert set(AAMI_CLASS) == BEAT_SYMBOLS
    assert (AAMI_CLASS["V"], AAMI_CLASS["A"], AAMI_CLASS["L"], AAMI_CLASS["F"]) == (
        "V", "S", "N", "F",
    )  # fmt: skip
    assert not {"+", "~", "|", "[", "]", "!", "x"} & BEAT_SYMBOLS


def test_the_excerpts_open_with_the_rhythm_in_force() -> None:
    af = read_annotations(EXCERPTS / "201x")
    assert af.rhythm_changes()[:3] == [(0, "(N"), (20615, "(AFIB"), (33868, "(NOD")]
    pvc = read_annotations(EXCERPTS / "208x")
    beats = "".join(pvc.beats()[1])
    assert beats.count("VV") >= 20  # couplets
    assert pvc.rhythm_changes()[0] == (0, "(N")
    flutter = read_annotations(EXCERPTS / "207x")
    assert flutter.rhythm_changes()[:3] == [(0, "(N"), (11800, "(B"), (14740, "(VFL")]
    starts = [int(s) for s, sym in zip(flutter.samples, flutter.symbols, strict=True)
              if sym in "[]"]  # fmt: skip
    assert starts == [554682 - 540000, 589926 - 540000]
