"""Marks under the ECG in the detail view: reference labels and detections on their own rows,
each at its beat's place in the sweep; a replayed bed shows its record's labels."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtGui
from pytestqt.qtbot import QtBot

from app.model.ward import Ward
from app.presentation import REPLAY_TAG
from app.replay_ward import REFERENCE_COLOUR, ReplayConfig, build_replay_station
from app.signals.marks import MarkSource
from app.station import Station
from drivers.base import Mark
from tests.fakes.fake_driver import FakeDriver
from tests.gui.conftest import WindowFactory
from widgets.mark_overlay import MarkOverlay
from widgets.sweep_geometry import column_x
from widgets.waveform_panel import WaveformPanel

DATA = Path(__file__).resolve().parents[1] / "data" / "mitdb"
DETECTED_COLOUR = "#3fd7ff"
T0 = 1000.0
LATENCY = 0.2  # the fake driver's display latency


class Detections:
    """Stands in for Vigil's own beat detector: a list of marks behind a fetch."""

    def __init__(self) -> None:
        self.marks: list[Mark] = []
        self.fail_with: Exception | None = None

    def fetch(self, t_from: float, t_to: float) -> list[Mark]:
        if self.fail_with is not None:
            raise self.fail_with
        return [m for m in self.marks if t_from <= m.timestamp < t_to]


def detail_with_marks(
    make_window: WindowFactory, detections: Detections
) -> tuple[FakeDriver, WaveformPanel, MarkOverlay]:
    station = Station(Ward("W", ["Bed 01"]))
    driver = FakeDriver(simulated=True)
    stream = station.attach("Bed 01", driver)
    bed = station.ward.bed("Bed 01")

    def reference(t_from: float, t_to: float) -> list[Mark]:
        return stream.marks("ECG_II", t_from, t_to)

    bed.add_mark_source(MarkSource("ECG_II", "Ref", REFERENCE_COLOUR, reference))
    bed.add_mark_source(MarkSource("ECG_II", "Vigil", DETECTED_COLOUR, detections.fetch))
    window = make_window(station=station, start=False, size=(1400, 800))
    station.start()
    window.show_bed("Bed 01")
    assert window.detail is not None
    panel = window.detail.panel
    assert panel is not None
    return driver, panel, panel.mark_overlays["ECG_II"]


def colour_pixels(image: QtGui.QImage, colour: str, top: int, bottom: int) -> int:
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1, 4)
    c = QtGui.QColor(colour)
    target = np.array([c.blue(), c.green(), c.red()])
    band = pixels[top:bottom, :, :3].astype(int)
    return int((np.abs(band - target).sum(axis=-1) < 40).sum())


def test_reference_and_detections_sit_on_separate_rows_at_their_beats(
    make_window: WindowFactory,
) -> None:
    detections = Detections()
    driver, panel, overlay = detail_with_marks(make_window, detections)
    assert [s.label for s in overlay.sources] == ["Ref", "Vigil"]
    driver.push_samples("ECG_II", np.zeros(250 * 6), T0)  # 1000 .. 1006 s
    driver.push_marks("ECG_II", Mark(T0 + 1.0, "N"), Mark(T0 + 2.0, "V"), Mark(T0 + 3.0, "N"))
    detections.marks = [Mark(T0 + 1.004, "N"), Mark(T0 + 2.0, "N")]  # a V called N
    panel.advance(T0 + 6.0 + LATENCY)
    placed = [(p.row, p.text) for p in overlay.placed]
    assert placed == [(0, "N"), (0, "V"), (0, "N"), (1, "N"), (1, "N")]
    pxs, width = panel.canvas.px_per_s, panel.canvas.width
    times = [T0 + 1.0, T0 + 2.0, T0 + 3.0, T0 + 1.004, T0 + 2.0]
    for mark, t in zip(overlay.placed, times, strict=True):
        centre = mark.x + overlay.text_width(mark.text) / 2
        assert centre == pytest.approx(column_x(t, pxs, width), abs=0.01)  # the beat's column
    # Drawn in the band under the trace, each row in its own colour.
    image = panel.grab().toImage()
    band_top = round(overlay.pos().y())
    line = overlay.height // 2
    assert colour_pixels(image, REFERENCE_COLOUR, band_top, band_top + line) > 20
    assert colour_pixels(image, DETECTED_COLOUR, band_top + line, band_top + 2 * line) > 20
    assert colour_pixels(image, DETECTED_COLOUR, band_top, band_top + line) == 0
    ecg_row = panel.canvas.rows[0]
    assert ecg_row.y + ecg_row.height <= band_top  # the labels never cover the trace


def test_labels_leave_with_their_beats_as_the_sweep_moves_on(
    make_window: WindowFactory,
) -> None:
    detections = Detections()
    driver, panel, overlay = detail_with_marks(make_window, detections)
    driver.push_samples("ECG_II", np.zeros(250 * 6), T0)
    driver.push_marks("ECG_II", Mark(T0 + 1.0, "N"), Mark(T0 + 5.0, "V"))
    panel.advance(T0 + 6.0 + LATENCY)
    assert [p.text for p in overlay.placed] == ["N", "V"]
    sweep = panel.canvas.sweep_seconds(panel.canvas.rows[0])
    t_end = T0 + 1.5 + sweep  # one sweep later the first beat has been erased, not the second
    driver.push_samples("ECG_II", np.zeros(round(250 * (t_end - T0 - 6.0))), T0 + 6.0)
    panel.advance(t_end + LATENCY)
    assert [p.text for p in overlay.placed] == ["V"]


def test_a_failing_row_says_so_and_the_other_rows_go_on(
    make_window: WindowFactory, caplog: pytest.LogCaptureFixture
) -> None:
    detections = Detections()
    driver, panel, overlay = detail_with_marks(make_window, detections)
    driver.push_samples("ECG_II", np.zeros(250 * 6), T0)
    driver.push_marks("ECG_II", Mark(T0 + 1.0, "N"))
    detections.fail_with = RuntimeError("detector crashed")
    with caplog.at_level(logging.ERROR):
        for frame in range(5):
            panel.advance(T0 + 5.0 + frame / 30 + LATENCY)
    assert overlay.row_error(1) == "MARKS FAILED: detector crashed"
    assert [(p.row, p.text) for p in overlay.placed] == [(0, "N")]
    assert len([r for r in caplog.records if "Vigil" in r.getMessage()]) == 1  # logged once
    detections.fail_with = None
    panel.advance(T0 + 6.0 + LATENCY)
    assert overlay.row_error(1) == ""


def test_a_replayed_bed_shows_its_reference_labels_in_the_detail_only(
    make_window: WindowFactory, qtbot: QtBot
) -> None:
    station = build_replay_station(ReplayConfig((DATA / "208x",)))
    window = make_window(station=station, size=(1600, 900))
    tile = window.grid.tiles[0]
    assert tile.header.tag == REPLAY_TAG
    assert window.top_bar.simulated.isVisible()
    assert window.top_bar.simulated.text().startswith("REPLAY")
    assert tile.panel is not None
    assert [r.spec.key for r in tile.panel.canvas.rows] == ["ECG_MLII"]  # MLII in lead II's place
    assert tile.panel.mark_overlays == {}  # the grid draws no marks
    window.show_bed("R1")
    detail = window.detail
    assert detail is not None
    assert detail.panel is not None
    assert [r.spec.key for r in detail.panel.canvas.rows] == ["ECG_MLII", "ECG_V1"]
    overlay = detail.panel.mark_overlays["ECG_MLII"]
    assert [s.label for s in overlay.sources] == ["Rhythm", "Ref"]

    def beats_shown() -> int:
        return len([p for p in overlay.placed if p.row == 1])

    qtbot.waitUntil(lambda: beats_shown() >= 3, timeout=10000)
    assert (0, "(N") in [(p.row, p.text) for p in overlay.placed]  # the rhythm at the start
    assert {p.text for p in overlay.placed if p.row == 1} <= {"N", "V", "F", "|", "~", "S", "Q"}
    assert "(REPLAY)" in detail.device_info.text()
    assert detail.header.tag == REPLAY_TAG
    assert not detail.admit_button.isEnabled()  # a recording takes no patient
