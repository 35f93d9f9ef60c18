"""Review on screen: trends, full disclosure and the alarm log of a recorded desaturation run."""

from __future__ import annotations

import math
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtWidgets
from pytestqt.qtbot import QtBot

import main
from app.alarms.engine import AlarmEngine
from app.alarms.log import LogEntry
from app.alarms.priority import Priority
from app.alarms.visual import COLOUR
from app.demo_ward import SimConfig, build_simulated_station
from app.storage.reader import Trend
from app.storage.review import ReviewReader, iso_local, recorded_events
from widgets import theme
from widgets.disclosure_view import DisclosureView
from widgets.main_window import MainWindow
from widgets.review_dialog import ReviewDialog
from widgets.trend_view import TrendView

BED = "Bed 01"
ECG = "ECG_II"


def near(expected: float | list[float]) -> Any:
    """Equal to within 10 µs: times are seconds since the epoch (~1.8e9), where pytest's
    default relative tolerance would be half an hour."""
    return pytest.approx(expected, rel=0, abs=1e-5)


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("review") / "record.db"
    args = ["--scenario", "desaturation", "--beds", "2", "--duration", "240", "--speed", "max"]
    assert main.main(["simulate", *args, "--db", str(path), "--events", os.devnull]) == 0
    return path


@pytest.fixture
def reader(record: Path) -> Iterator[ReviewReader]:
    opened = ReviewReader(record)
    yield opened
    opened.close()


@pytest.fixture
def trends(qtbot: QtBot, qapp: QtWidgets.QApplication, reader: ReviewReader) -> TrendView:
    theme.apply(qapp)
    view = TrendView(reader, BED, hours=1)
    qtbot.addWidget(view)
    view.resize(1200, 900)
    view.show()
    qtbot.waitExposed(view)
    return view


@pytest.fixture
def disclosure(qtbot: QtBot, qapp: QtWidgets.QApplication, reader: ReviewReader) -> DisclosureView:
    theme.apply(qapp)
    view = DisclosureView(reader, BED)
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    qtbot.waitExposed(view)
    return view


def spo2_low_starts(reader: ReviewReader) -> list[dict[str, Any]]:
    rows = reader.alarm_log(BED, -math.inf, math.inf)
    return [r for r in rows if r["event"] == "start" and r["code"] == "SPO2_LOW"]


# -- trends -------------------------------------------------------------------------------


def test_trends_have_hr_and_spo2_plots_with_points(trends: TrendView) -> None:
    assert {"HR", "SPO2"} <= set(trends.plots)
    for code in ("HR", "SPO2"):
        _, y = trends.curve(code).getData()
        assert np.isfinite(y).sum() >= 3, code
    assert trends.plots["SPO2"].no_data.isVisible() is False
    label = trends.plot_item("SPO2").getAxis("left").labelText
    assert label == "SpO2 (%)"


def test_spo2_curve_is_the_recorded_minute_medians(trends: TrendView, reader: ReviewReader) -> None:
    points = reader.trend(BED, "SPO2", *trends.x_range())
    assert len(points) >= 3
    x, y = trends.curve("SPO2").getData()
    assert list(y) == list(points.median)
    assert list(x) == list(points.minute * 60 + 30)
    assert min(y) < 90  # the desaturation is in it


def test_range_buttons_change_the_time_axis(qtbot: QtBot, trends: TrendView) -> None:
    box = trends.plot_item("HR").getViewBox()
    assert box.viewRange()[0] == near([trends.end - 3600, trends.end])
    qtbot.mouseClick(trends.range_buttons[8.0], QtCore.Qt.MouseButton.LeftButton)
    assert trends.hours == 8
    assert box.viewRange()[0] == near([trends.end - 8 * 3600, trends.end])
    # The plots share the axis.
    assert trends.plot_item("SPO2").getViewBox().viewRange()[0] == box.viewRange()[0]
    qtbot.mouseClick(trends.range_buttons[1.0], QtCore.Qt.MouseButton.LeftButton)
    assert box.viewRange()[0] == near([trends.end - 3600, trends.end])
    assert trends.range_buttons[1.0].isChecked()
    assert not trends.range_buttons[8.0].isChecked()


def test_the_range_ends_at_the_records_newest_minute(
    trends: TrendView, reader: ReviewReader
) -> None:
    newest = reader.newest_time(BED)
    assert newest is not None
    assert trends.end == math.ceil(newest / 60) * 60
    last = reader.trend(BED, "SPO2", trends.end - 3600, trends.end).minute[-1]
    assert (last + 1) * 60 <= trends.end


def test_alarm_markers_for_the_spo2_low_alarm(trends: TrendView, reader: ReviewReader) -> None:
    starts = spo2_low_starts(reader)
    assert starts
    for row in starts:
        marks = [m for m in trends.alarm_marks if m.t == row["t"]]
        assert [m.text for m in marks] == [row["text"]]
        assert marks[0].priority is Priority.MEDIUM
        lines = [ln for ln in trends.plots["SPO2"].alarm_lines if ln.value() == row["t"]]
        assert len(lines) == 1
        assert str(row["text"]) in lines[0].toolTip()
        assert lines[0].pen.color().name() == COLOUR[Priority.MEDIUM]
    # Only alarm starts are marked: the SpO2 LOW end is not.
    ends = [r["t"] for r in reader.alarm_log(BED, -math.inf, math.inf) if r["event"] == "end"]
    assert ends
    assert not {m.t for m in trends.alarm_marks} & set(ends)


class GappyReader(ReviewReader):
    """The record with one SpO2 minute missing, no temperature in the last hour and no RR."""

    def trend(self, bed: str, code: str, t0: float, t1: float) -> Trend:
        points = super().trend(bed, code, t0, t1)
        if code == "SPO2":
            return points.take(np.r_[0, 2 : len(points)])
        if (code == "TEMP" and t1 - t0 < 2 * 3600) or code == "RR":
            return points.take(slice(0, 0))
        return points


@pytest.fixture
def gappy(
    qtbot: QtBot, qapp: QtWidgets.QApplication, record: Path
) -> Iterator[tuple[TrendView, GappyReader]]:
    theme.apply(qapp)
    opened = GappyReader(record)
    view = TrendView(opened, BED, hours=8)
    qtbot.addWidget(view)
    view.show()
    yield view, opened
    opened.close()


def y_data(curve: pg.PlotDataItem) -> npt.NDArray[np.float64]:
    y = curve.getData()[1]
    return np.empty(0) if y is None else np.asarray(y, dtype=np.float64)


def test_missing_minutes_are_gaps(gappy: tuple[TrendView, GappyReader]) -> None:
    view, reader = gappy
    x, y = view.curve("SPO2").getData()
    points = reader.trend(BED, "SPO2", *view.x_range())
    assert np.isnan(y[1])
    assert np.isnan(x[1])
    assert list(y[[0, *range(2, len(y))]]) == list(points.median)
    assert view.curve("SPO2").opts["connect"] == "finite"


def test_an_empty_range_says_no_data(gappy: tuple[TrendView, GappyReader]) -> None:
    view, _ = gappy
    assert not view.plots["TEMP"].no_data.isVisible()
    assert y_data(view.curve("TEMP")).size > 0
    view.set_range(1)
    assert view.plots["TEMP"].no_data.isVisible()
    assert view.plots["TEMP"].no_data.textItem.toPlainText() == "no data"
    assert y_data(view.curve("TEMP")).size == 0
    assert not view.plots["SPO2"].no_data.isVisible()


def test_a_parameter_never_recorded_has_no_plot_and_is_named(
    gappy: tuple[TrendView, GappyReader],
) -> None:
    view, _ = gappy
    assert "RR" not in view.plots
    assert "RR" in view.missing
    assert "RR" in view.missing_label.text()
    assert view.missing_label.isVisible()
    assert {"HR", "SPO2", "NIBP", "TEMP"} <= set(view.plots)


# -- full disclosure ----------------------------------------------------------------------


def test_disclosure_shows_a_10_s_window_of_every_channel(
    disclosure: DisclosureView, reader: ReviewReader
) -> None:
    assert disclosure.window_seconds == 10.0
    assert disclosure.channels == [ECG, "PLETH", "RESP"]
    assert disclosure.plots[ECG].getViewBox().viewRange()[0] == near([0.0, 10.0])
    _, y = disclosure.curves[ECG].getData()
    assert y.size == 2500  # 10 s at 250 Hz
    assert disclosure.plots[ECG].getAxis("left").labelText == "ECG II (mV)"
    assert disclosure.plots[ECG].getViewBox().viewRange()[1] == near([-1.5, 2.0])
    assert disclosure.window_buttons[10.0].isChecked()
    # It opens on the newest moment.
    assert disclosure.centre == near(reader.span(BED)[1] - 5.0)


def test_show_time_centres_and_draws_the_recorded_strip(
    disclosure: DisclosureView, reader: ReviewReader
) -> None:
    first, _ = reader.span(BED)
    t = first + 100.3
    disclosure.show_time(t)
    assert disclosure.centre == near(t)
    assert disclosure.start == near(t - 5.0)
    x, y = disclosure.curves[ECG].getData()
    strip = reader.strip(BED, ECG, t - 5.0, t + 5.0)
    np.testing.assert_array_equal(y, strip.samples)
    assert x[1] - x[0] == near(1 / 250)
    assert np.isfinite(y).all()
    assert disclosure.time_label.text().startswith(iso_local(disclosure.start))


def test_gaps_stay_gaps(disclosure: DisclosureView, reader: ReviewReader) -> None:
    first, _ = reader.span(BED)
    disclosure.show_time(first)  # half the window is before the record began
    _, y = disclosure.curves[ECG].getData()
    expected = reader.strip(BED, ECG, first - 5.0, first + 5.0).samples
    np.testing.assert_array_equal(y, expected)
    assert np.isnan(y[:1200]).all()
    assert np.isfinite(y[1300:]).all()
    assert disclosure.curves[ECG].opts["connect"] == "finite"


def test_stepping_back_moves_by_one_window(qtbot: QtBot, disclosure: DisclosureView) -> None:
    disclosure.show_time(disclosure.span[0] + 120.0)
    before = disclosure.start
    qtbot.mouseClick(disclosure.back_button, QtCore.Qt.MouseButton.LeftButton)
    assert disclosure.start == near(before - 10.0)
    qtbot.mouseClick(disclosure.window_buttons[30.0], QtCore.Qt.MouseButton.LeftButton)
    assert disclosure.window_seconds == 30.0
    assert disclosure.centre == near(before - 5.0)  # zoom keeps the centre
    qtbot.mouseClick(disclosure.back_button, QtCore.Qt.MouseButton.LeftButton)
    assert disclosure.start == near(before - 5.0 - 15.0 - 30.0)
    qtbot.mouseClick(disclosure.forward_button, QtCore.Qt.MouseButton.LeftButton)
    assert disclosure.centre == near(before - 5.0)
    assert disclosure.curves[ECG].getData()[1].size == 30 * 250


def test_the_scroll_bar_moves_through_the_record(disclosure: DisclosureView) -> None:
    first, last = disclosure.span
    assert disclosure.scroll_bar.maximum() == round((last - first) * 10)
    disclosure.scroll_bar.setValue(600)  # 60 s into the record
    assert disclosure.centre == near(first + 60.0)
    disclosure.show_time(first + 30.0)
    assert disclosure.scroll_bar.value() == 300


def test_alarm_and_rhythm_markers_in_the_window(
    disclosure: DisclosureView, reader: ReviewReader
) -> None:
    start = spo2_low_starts(reader)[0]
    disclosure.show_time(float(start["t"]))
    marks = [m for m in disclosure.alarm_marks if m.t == start["t"]]
    assert [(m.event, m.text) for m in marks] == [("start", start["text"])]
    rhythm = recorded_events(reader.events(BED, 0.0, math.inf, ["rhythm"]))[0]
    disclosure.show_time(rhythm.t)
    assert [e.name for e in disclosure.rhythm_marks] == [rhythm.name]
    texts = [i.textItem.toPlainText() for i in disclosure.lane.items if isinstance(i, pg.TextItem)]
    assert rhythm.name in texts


# -- the dialog ---------------------------------------------------------------------------


@pytest.fixture
def dialog(qtbot: QtBot, qapp: QtWidgets.QApplication, record: Path) -> ReviewDialog:
    theme.apply(qapp)
    made = ReviewDialog(record, BED)
    qtbot.addWidget(made)
    made.show()
    qtbot.waitExposed(made)
    return made


def test_double_clicking_an_alarm_shows_it_in_full_disclosure(
    qtbot: QtBot, dialog: ReviewDialog, reader: ReviewReader
) -> None:
    table, disclosure, tabs = dialog.alarm_list, dialog.disclosure, dialog.tabs
    assert table is not None
    assert disclosure is not None
    assert tabs is not None
    assert tabs.currentWidget() is dialog.trends
    rows = reader.alarm_log(BED, -math.inf, math.inf)
    assert table.rowCount() == len(rows)
    times = [dialog.log_time(r) for r in range(table.rowCount())]
    assert times == sorted(times, reverse=True)  # newest first
    target = spo2_low_starts(reader)[0]
    row = times.index(float(target["t"]))
    alarm_cell, item = table.item(row, 3), table.item(row, 1)
    assert alarm_cell is not None
    assert item is not None
    assert alarm_cell.text() == target["text"]
    assert disclosure.centre != near(target["t"])
    table.scrollToItem(item)
    centre = table.visualItemRect(item).center()
    # A real double click: press, release, then the double-click event on the same row.
    qtbot.mouseClick(table.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseDClick(
        table.viewport(),
        QtCore.Qt.MouseButton.LeftButton,
        pos=centre,
    )
    assert tabs.currentWidget() is disclosure
    assert disclosure.centre == near(target["t"])
    assert any(m.t == target["t"] for m in disclosure.alarm_marks)


def test_a_missing_record_is_said_in_the_dialog(
    qtbot: QtBot, qapp: QtWidgets.QApplication, tmp_path: Path
) -> None:
    theme.apply(qapp)
    missing = tmp_path / "nowhere.db"
    made = ReviewDialog(missing, BED)
    qtbot.addWidget(made)
    made.show()
    assert made.message.isVisible()
    assert f"no record at {missing}" in made.message.text()
    assert made.trends is None
    assert made.disclosure is None
    assert not missing.exists()


def test_a_bed_with_nothing_recorded_is_said_in_the_dialog(
    qtbot: QtBot, qapp: QtWidgets.QApplication, record: Path
) -> None:
    theme.apply(qapp)
    made = ReviewDialog(record, "Bed 09")
    qtbot.addWidget(made)
    made.show()
    assert made.message.isVisible()
    assert made.message.text() == f"Nothing is recorded for Bed 09 in {record}."
    assert made.tabs is None


def test_closing_the_dialog_closes_its_reader(dialog: ReviewDialog) -> None:
    trends = dialog.trends
    assert trends is not None
    trends.refresh()  # reads while open
    dialog.done(0)
    with pytest.raises(sqlite3.ProgrammingError):
        trends.refresh()


def test_the_bed_detail_opens_the_review_of_the_record(
    qtbot: QtBot, qapp: QtWidgets.QApplication, record: Path
) -> None:
    theme.apply(qapp)
    station = build_simulated_station(SimConfig(beds=1))
    window = MainWindow(station, kiosk=False, fps=30.0, px_per_mm=4.0, record=record)
    qtbot.addWidget(window)
    window.show_bed("Bed 01")
    assert window.detail is not None
    assert window.detail.review_button.isEnabled()
    dialog = window.detail.open_review()
    assert dialog is not None
    assert dialog.message.text() == ""  # the recorded Bed 01 opens, no error message
    assert dialog.tabs is not None
    assert dialog.tabs.count() == 2
    dialog.done(0)
    window.record = None
    window.show_bed("Bed 01")
    assert window.detail is not None
    assert not window.detail.review_button.isEnabled()  # no record: nothing to review
    window.shutdown()


def test_the_review_prints_the_strip_it_shows(
    qtbot: QtBot, qapp: QtWidgets.QApplication, record: Path, tmp_path: Path
) -> None:
    theme.apply(qapp)
    dialog = ReviewDialog(record, "Bed 01")
    qtbot.addWidget(dialog)
    assert dialog.disclosure is not None
    out = dialog.print_strip(tmp_path / "strip.pdf")
    assert out is not None
    assert out.read_bytes().startswith(b"%PDF")
    dialog.done(0)


def test_the_alarm_history_opens_full_disclosure_at_the_alarm(
    qtbot: QtBot, qapp: QtWidgets.QApplication, record: Path, reader: ReviewReader
) -> None:
    theme.apply(qapp)
    station = build_simulated_station(SimConfig(beds=1))
    engine = AlarmEngine(station)
    window = MainWindow(station, kiosk=False, fps=30.0, px_per_mm=4.0, alarms=engine,
                        record=record)  # fmt: skip
    qtbot.addWidget(window)
    rows = reader.alarm_log("Bed 01", 0.0, 4e9)
    moment = next(r["t"] for r in rows if r["event"] == "start" and r["code"] == "SPO2_LOW")
    # The live log has the same alarm (the station the review belongs to raised it).
    engine.log.append(LogEntry(moment, "Bed 01", "start", 1, Priority.MEDIUM, None,
                               "SPO2_LOW", "SpO2 LOW"))  # fmt: skip
    assert window.alarm_bar is not None
    dialog = window.alarm_bar.open_history()
    assert dialog.table.moment(0) == ("Bed 01", moment)
    dialog.table.cellDoubleClicked.emit(0, 0)
    assert window.detail is not None
    review = window.detail.review
    assert review is not None
    assert review.disclosure is not None
    assert review.disclosure.centre == near(moment)
    review.done(0)
    dialog.done(0)
    window.shutdown()
