"""``main.py export``: a stretch of the record as CSV numerics, EDF+ waveforms or a PDF strip.

Every file is opened back: the CSV with ``csv``, the EDF+ with pyEDFlib (the library other
tools use), the PDF with QtPdf, rendered and measured in millimetres of the page.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyedflib
import pytest

import main
from app.export import CSV_COLUMNS
from app.export_request import iso_time
from app.storage.reader import RecordReader

ROOT = Path(__file__).resolve().parents[2]
BED = "Bed 01"
PX_PER_MM = 10  # PDF pages are rendered back at 254 dpi


def simulate(path: Path, *args: str) -> Path:
    argv = ["simulate", *args, "--speed", "max", "--db", str(path), "--events", os.devnull]
    assert main.main(argv) == 0
    return path


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two simulated beds, 30 s each (normal sinus rhythm and atrial fibrillation)."""
    return simulate(tmp_path_factory.mktemp("export") / "record.db", "--beds", "2",
                    "--duration", "30")  # fmt: skip


@pytest.fixture
def reader(record: Path) -> Iterator[RecordReader]:
    reader = RecordReader(record)
    yield reader
    reader.close()


def export(record: Path, out: Path, start: str, fmt: str, *args: str) -> Path:
    argv = ["export", "--db", str(record), "--bed", BED, "--start", start, "--format", fmt]
    assert main.main([*argv, *args, "--out", str(out)]) == 0
    return out


def edf_start(edf: pyedflib.EdfReader) -> dt.datetime:
    """The file's start, sub-second included. pyEDFlib 0.1.42 reads the sub-second part 10x
    too small (holgern/pyedflib#315); edflib's own value is in units of 100 ns."""
    whole = edf.getStartdatetime().replace(microsecond=0)
    return whole + dt.timedelta(microseconds=edf.starttime_subsecond / 10)


def test_csv_holds_the_numerics_of_the_window(
    record: Path, reader: RecordReader, tmp_path: Path
) -> None:
    out = export(record, tmp_path / "numerics.csv", "+5", "csv")
    with out.open(newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert tuple(rows[0]) == CSV_COLUMNS == ("time", "code", "value", "unit", "quality", "device")
    start = reader.span(BED)[0]
    expected = reader.numerics(BED, start + 5, start + 15)
    assert len(rows) - 1 == len(expected) > 30
    times = [dt.datetime.fromisoformat(r[0]).timestamp() for r in rows[1:]]
    assert all(start + 5 - 0.001 <= t < start + 15 for t in times)
    assert times == sorted(times)
    assert {"HR", "SPO2", "RR", "PR"} <= {r[1] for r in rows[1:]}
    hr = [r for r in rows[1:] if r[1] == "HR" and r[4] == "valid"]
    assert hr
    assert all(40 <= float(r[2]) <= 160 and r[3] == "/min" and r[5] for r in hr)
    assert [r[2] for r in rows[1:]] == [
        "" if e["value"] is None else repr(float(e["value"])) for e in expected
    ]


def test_edf_opens_back_with_the_recorded_samples(
    record: Path, reader: RecordReader, tmp_path: Path
) -> None:
    out = export(record, tmp_path / "strip.edf", "+5", "edf")
    start = reader.span(BED)[0] + 5
    with pyedflib.EdfReader(str(out)) as edf:
        assert edf.getSignalLabels() == ["ECG II", "Pleth", "Resp"]
        assert edf.getSampleFrequencies().tolist() == [250.0, 125.0, 62.5]
        assert [edf.getPhysicalDimension(i) for i in range(3)] == ["mV", "a.u.", "Ohm"]
        assert edf.file_duration == 10
        assert abs(edf_start(edf) - dt.datetime.fromtimestamp(start)) <= dt.timedelta(
            microseconds=1
        )
        patient = reader.patient_at(BED, start)
        assert patient is not None
        assert edf.getPatientCode() == patient["mrn"]
        assert edf.getAdmincode() == BED  # pyEDFlib turns the stored "Bed_01" back
        assert edf.getRecordingAdditional() == "SIMULATED"
        for i, channel in enumerate(["ECG_II", "PLETH", "RESP"]):
            recorded = reader.strip(BED, channel, start, start + 10).samples
            step = (edf.getPhysicalMaximum(i) - edf.getPhysicalMinimum(i)) / 65535
            read = edf.readSignal(i)
            assert read.size == recorded.size
            assert np.isfinite(recorded).all()
            assert np.abs(read - recorded).max() <= 0.5 * step + 1e-9
            assert step < 1e-3 * (np.ptp(recorded) or 1.0)  # finer than the recording


def test_edf_annotates_rhythm_events_and_marks_gaps(
    record: Path, reader: RecordReader, tmp_path: Path
) -> None:
    start, end = reader.span(BED)
    out = export(record, tmp_path / "start.edf", "+0", "edf", "--seconds", "12")
    (rhythm,) = reader.events(BED, start, start + 12, ["rhythm"])
    with pyedflib.EdfReader(str(out)) as edf:
        onsets, durations, texts = edf.readAnnotations()
    assert texts.tolist() == [f"rhythm: {rhythm['name']}"]
    assert onsets[0] == pytest.approx(rhythm["t"] - start, abs=1e-3)
    # 9 s at 62.5 Hz are not whole samples: the file runs to whole 2-s records, 1 s past the
    # end of the record, and that second is a gap, marked and written as the digital minimum.
    out = export(record, tmp_path / "end.edf", "+21", "edf", "--seconds", "9")
    with pyedflib.EdfReader(str(out)) as edf:
        assert edf.file_duration == 10
        onsets, durations, texts = edf.readAnnotations()
        ecg = edf.readSignal(0, digital=True)
    assert texts.tolist() == ["gap: ECG II", "gap: Pleth", "gap: Resp"]
    assert onsets == pytest.approx([end - start - 21] * 3, abs=0.02)
    assert durations == pytest.approx([1.0] * 3, abs=0.02)
    assert (ecg[2250:] == -32768).all()
    assert (ecg[:2250] > -32768).all()


def test_edf_annotates_alarm_starts(tmp_path: Path) -> None:
    vt = simulate(tmp_path / "vt.db", "--scenario", "vt", "--duration", "40")
    out = export(vt, tmp_path / "vt.edf", "+26", "edf", "--seconds", "12")
    with pyedflib.EdfReader(str(out)) as edf:
        onsets, _, texts = edf.readAnnotations()
    notes = dict(zip(texts.tolist(), onsets.tolist(), strict=True))
    assert {"rhythm: VT", "alarm high: VT"} <= set(notes)
    assert 4.0 < notes["alarm high: VT"] <= 10.0  # the VT run starts at 30 s
    assert notes["rhythm: VT"] <= notes["alarm high: VT"]


def test_relative_and_iso_starts_agree(record: Path, reader: RecordReader, tmp_path: Path) -> None:
    t = reader.span(BED)[0] + 5.5
    starts = {
        "relative": "+5.5",
        "utc": dt.datetime.fromtimestamp(t, dt.UTC).isoformat().replace("+00:00", "Z"),
        "zone": dt.datetime.fromtimestamp(t, dt.timezone(dt.timedelta(hours=-5))).isoformat(),
        "local": dt.datetime.fromtimestamp(t).isoformat(),  # naive: local time
    }
    texts = {name: export(record, tmp_path / f"{name}.csv", when, "csv").read_text()
             for name, when in starts.items()}  # fmt: skip
    assert len(set(texts.values())) == 1
    assert texts["relative"].count("\n") > 20
    for name, when in starts.items():
        with pyedflib.EdfReader(str(export(record, tmp_path / f"{name}.edf", when, "edf"))) as edf:
            assert abs(edf_start(edf) - dt.datetime.fromtimestamp(t)) <= dt.timedelta(
                microseconds=1
            )


def page_pixels(path: Path, page: int = 0) -> npt.NDArray[np.float64]:
    """A page of the PDF rendered with QtPdf at ``PX_PER_MM``, as RGB on white paper."""
    from PySide6 import QtCore, QtGui, QtPdf

    document = QtPdf.QPdfDocument()
    try:
        assert document.load(str(path)) == QtPdf.QPdfDocument.Error.None_
        size = document.pagePointSize(page)
        assert (size.width(), size.height()) == pytest.approx((841.89, 595.28), abs=0.6)  # A4
        image = document.render(page, QtCore.QSize(297 * PX_PER_MM, 210 * PX_PER_MM))
    finally:
        document.close()
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGBA8888)
    raw = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1)
    rgba = raw[:, : image.width() * 4].reshape(image.height(), image.width(), 4) / 255.0
    return (rgba[..., :3] * rgba[..., 3:] + (1.0 - rgba[..., 3:])) * 255.0


def is_major_grid(rgb: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return (r > 190) & (g < 140) & (b < 140)


def is_minor_grid(rgb: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return (r > 230) & (g > 150) & (g < 215) & (np.abs(g - b) < 20)


def is_ink(rgb: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    return np.asarray(rgb.max(axis=-1) < 80, dtype=np.bool_)


def ink_across(rgb: npt.NDArray[np.float64], axis: int) -> npt.NDArray[np.bool_]:
    """Whether each row (axis 1) or column (axis 0) of the image has any dark ink."""
    return np.asarray(is_ink(rgb).any(axis=axis), dtype=np.bool_)


def line_centres(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """The centre (mm) of every run of True: where a grid line crosses."""
    where = np.flatnonzero(mask)
    runs = np.split(where, np.flatnonzero(np.diff(where) > 1) + 1)
    return np.array([run.mean() for run in runs]) / PX_PER_MM


@pytest.mark.usefixtures("qapp")
def test_pdf_strip_is_calibrated_on_the_standard_grid(record: Path, tmp_path: Path) -> None:
    from widgets.strip_pdf import CAL_ZONE, ECG_BASELINE, GRID_TOP, PAGE_WIDTH, PAPER_SPEED

    out = export(record, tmp_path / "strip.pdf", "+5", "pdf")
    assert out.read_bytes().startswith(b"%PDF-")
    rgb = page_pixels(out)
    left = (PAGE_WIDTH - CAL_ZONE - 10 * PAPER_SPEED) / 2  # mm: 10 s and the pulse, centred
    top, bottom = round(GRID_TOP * PX_PER_MM), round((GRID_TOP + 110) * PX_PER_MM)
    x0, x1 = round(left * PX_PER_MM), round((left + 260) * PX_PER_MM)
    assert is_minor_grid(rgb[top:bottom, x0:x1]).mean() > 0.05
    # 5 mm lines, exactly 5 mm apart on the page: 53 across (260 mm), 23 down (110 mm).
    major = is_major_grid(rgb[top - 5 : bottom + 5, x0 - 5 : x1 + 5])
    columns = line_centres(major.mean(axis=0) > 0.5) + left - 0.5
    rows = line_centres(major.mean(axis=1) > 0.5) + GRID_TOP - 0.5
    assert len(columns) == 53
    assert len(rows) == 23
    assert columns[0] == pytest.approx(left, abs=0.15)
    assert rows[0] == pytest.approx(GRID_TOP, abs=0.15)
    assert np.diff(columns) == pytest.approx(5.0, abs=0.15)
    assert np.diff(rows) == pytest.approx(5.0, abs=0.15)
    assert columns[-1] - columns[0] == pytest.approx(260.0, abs=0.2)  # 10.4 s at 25 mm/s
    assert rows[-1] - rows[0] == pytest.approx(110.0, abs=0.2)
    # The calibration pulse: 1 mV at 10 mm/mV is 10 mm high, 200 ms at 25 mm/s 5 mm wide.
    base = round((GRID_TOP + ECG_BASELINE) * PX_PER_MM)
    rise = round((left + 2.5) * PX_PER_MM)
    edge = np.flatnonzero(ink_across(rgb[base - 120 : base + 20, rise - 5 : rise + 5], 1))
    assert (edge[-1] - edge[0]) / PX_PER_MM == pytest.approx(10.0, abs=0.4)
    roof = np.flatnonzero(ink_across(rgb[base - 103 : base - 96, rise - 10 : rise + 70], 0))
    assert (roof[-1] - roof[0]) / PX_PER_MM == pytest.approx(5.0, abs=0.4)
    # The trace itself: dark ink across all 10 s of the ECG row, with no break.
    ecg = rgb[top : top + 500, round((left + CAL_ZONE) * PX_PER_MM) :]
    assert is_ink(ecg).sum() > 5_000
    assert ink_across(ecg, 0)[: 250 * PX_PER_MM].mean() > 0.98


@pytest.mark.usefixtures("qapp")
def test_a_long_strip_prints_10_s_per_page(record: Path, tmp_path: Path) -> None:
    from PySide6 import QtPdf

    from widgets.strip_pdf import CAL_ZONE, GRID_TOP, PAGE_WIDTH, PAPER_SPEED

    out = export(record, tmp_path / "long.pdf", "+0", "pdf", "--seconds", "25")
    document = QtPdf.QPdfDocument()
    try:
        assert document.load(str(out)) == QtPdf.QPdfDocument.Error.None_
        assert document.pageCount() == 3
    finally:
        document.close()
    # The last page holds 5 s: its ECG stops half-way across the grid.
    trace_left = (PAGE_WIDTH + CAL_ZONE - 10 * PAPER_SPEED) / 2
    row = page_pixels(out, 2)[
        round((GRID_TOP + 8) * PX_PER_MM) : round((GRID_TOP + 48) * PX_PER_MM)
    ]
    ink = ink_across(row[:, round(trace_left * PX_PER_MM) :], 0)
    assert ink[: 120 * PX_PER_MM].mean() > 0.98
    assert not ink[130 * PX_PER_MM : 250 * PX_PER_MM].any()


def test_pdf_without_a_display_draws_off_screen(record: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}  # fmt: skip
    out = tmp_path / "strip.pdf"
    result = subprocess.run(
        [sys.executable, "main.py", "export", "--db", str(record), "--bed", BED,
         "--start", "+1", "--format", "pdf", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert out.read_bytes().startswith(b"%PDF-")


def test_csv_and_edf_exports_never_load_qt(record: Path, tmp_path: Path) -> None:
    code = (
        "import sys, main\n"
        f"for fmt in ('csv', 'edf'):\n"
        f"    main.main(['export', '--db', {str(record)!r}, '--bed', {BED!r}, '--start', '+0',\n"
        f"               '--format', fmt, '--out', {str(tmp_path)!r} + '/x.' + fmt])\n"
        "print(','.join(m for m in ('PySide6', 'shiboken6', 'pyqtgraph') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=True)  # fmt: skip
    assert result.stdout.strip() == ""
    assert (tmp_path / "x.csv").exists()
    assert (tmp_path / "x.edf").exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"--bed": "Bed 09"}, "no bed 'Bed 09' in the record; it holds Bed 01, Bed 02"),
        ({"--start": "+25"}, "is outside the record of Bed 01, which runs from"),
        ({"--start": "2000-01-01T00:00:00Z"}, "is outside the record of Bed 01"),
        ({"--start": "yesterday"}, "argument --start: not a time: 'yesterday'; use ISO 8601"),
        ({"--start": "+-3"}, "argument --start: +SECONDS needs a number of seconds of 0 or more"),
        ({"--format": "xls"}, "argument --format: invalid choice: 'xls'"),
        ({"--seconds": "0"}, "argument --seconds: the length must be 1-3600 s for csv, got 0"),
        ({"--seconds": "ten"}, "argument --seconds: not a whole number: 'ten'"),
        ({"--seconds": "61", "--format": "pdf"}, "the length must be 1-60 s for pdf, got 61"),
        ({"--db": "MISSING"}, "argument --db: no record at"),
        ({"--db": "TEXT"}, "is not a Vigil record"),
        ({"--db": None}, "the following arguments are required: --db"),
        ({"--out": None}, "the following arguments are required: --out"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(
    record: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    changes: dict[str, str | None],
    message: str,
) -> None:
    """Each case changes a good request (None: leaves the option out)."""
    text = tmp_path / "notes.txt"
    text.write_text("not a record\n")
    out = tmp_path / "out.csv"
    files = {"MISSING": str(tmp_path / "none.db"), "TEXT": str(text)}
    given: dict[str, str | None] = {"--db": str(record), "--bed": BED, "--start": "+0",
                                    "--format": "csv", "--out": str(out)}  # fmt: skip
    given |= {name: files.get(value, value) if value else None for name, value in changes.items()}
    argv = ["export"] + [part for name, value in given.items() if value for part in (name, value)]
    with pytest.raises(SystemExit) as exit_info:
        main.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "main.py export: error: " in err
    assert message in err
    assert not out.exists()


def test_a_window_outside_the_record_names_its_span(
    record: Path, reader: RecordReader, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    start, end = reader.span(BED)
    with pytest.raises(SystemExit):
        export(record, tmp_path / "x.edf", "+25", "edf")
    err = capsys.readouterr().err
    assert f"10 s from {iso_time(start + 25)} is outside the record of Bed 01" in err
    assert f"which runs from {iso_time(start)} to {iso_time(end)} (30.0 s)" in err
