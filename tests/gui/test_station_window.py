"""The central-station window as a nurse uses it: the grid, a bed's detail, admission, kiosk."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets
from pytestqt.qtbot import QtBot

from app import cli
from app.model.ward import Ward
from app.presentation import NumericState, NumericText
from app.station import Station
from drivers.base import NIBP_DONE, NIBP_STARTED, ColourRole, DriverState, Quality, Reading
from tests.fakes.fake_driver import FakeDriver
from tests.gui.conftest import PX_PER_MM, WindowFactory
from widgets import theme
from widgets.admit_dialog import AdmitDialog
from widgets.bed_detail import BedDetail
from widgets.bed_tile import BedTile
from widgets.station_app import arrange, calibrate
from widgets.tile_layout import grid_shape


def test_one_tile_per_bed_with_name_and_simulated_tag(make_window: WindowFactory) -> None:
    window = make_window(8)
    tiles = window.grid.tiles
    assert [t.bed.label for t in tiles] == [f"Bed {i:02d}" for i in range(1, 9)]
    for tile in tiles:
        patient = tile.bed.patient
        assert patient is not None
        assert tile.header.patient.startswith(patient.display_name)
        assert tile.header.simulated
        assert set(tile.numerics.boxes) >= {"HR", "SPO2", "NIBP_SYS", "RR", "TEMP"}


@pytest.mark.parametrize(("beds", "shape"), [(1, (1, 1)), (4, (2, 2)), (8, (2, 4)),
                                             (16, (4, 4)), (32, (4, 8))])  # fmt: skip
def test_the_grid_adapts_to_the_number_of_beds(
    make_window: WindowFactory, beds: int, shape: tuple[int, int]
) -> None:
    window = make_window(beds, start=False)
    assert grid_shape(beds) == shape
    assert len(window.grid.tiles) == beds
    cols = len({t.geometry().x() for t in window.grid.tiles})
    rows = len({t.geometry().y() for t in window.grid.tiles})
    assert (cols, rows) == shape
    assert not window.top_bar.page_label.isVisible()


def test_above_32_beds_the_grid_pages(make_window: WindowFactory, qtbot: QtBot) -> None:
    window = make_window(40, start=False)
    assert len(window.grid.tiles) == 32
    assert window.top_bar.page_label.text() == "Page 1 of 2"
    qtbot.mouseClick(window.top_bar.next_page, QtCore.Qt.MouseButton.LeftButton)
    assert [t.bed.label for t in window.grid.tiles] == [f"Bed {i}" for i in range(33, 41)]
    assert window.top_bar.page_label.text() == "Page 2 of 2"
    qtbot.waitUntil(lambda: window.grid.tiles[-1].height() > 100)
    # Page 2 is laid out for its own 8 beds (2 × 4), filling the grid.
    grid = window.grid.rect()
    xs = sorted({t.geometry().x() for t in window.grid.tiles})
    ys = sorted({t.geometry().y() for t in window.grid.tiles})
    assert (len(xs), len(ys)) == (2, 4)
    assert all(t.width() > 0.45 * grid.width() for t in window.grid.tiles)
    assert window.grid.tiles[-1].geometry().bottom() > 0.9 * grid.height()


def test_main_numerics_are_at_least_36_px_tall_at_1080p(make_window: WindowFactory) -> None:
    for beds in (4, 8, 16, 32):
        window = make_window(beds, start=False)
        for tile in window.grid.tiles:
            for code in ("HR", "SPO2"):
                box = tile.numerics.boxes[code]
                assert box.value_height() >= 36, f"{beds} beds: {code} {box.value_height()} px"
                assert box.height() >= box.value_height()
        window.shutdown()


def test_clicking_a_tile_opens_its_detail_and_back_returns(
    make_window: WindowFactory, qtbot: QtBot
) -> None:
    window = make_window(8)
    tile = window.grid.tiles[2]
    qtbot.mouseClick(tile, QtCore.Qt.MouseButton.LeftButton)
    detail = window.stack.currentWidget()
    assert isinstance(detail, BedDetail)
    assert detail.bed.label == "Bed 03"
    assert detail.panel is not None
    assert [r.spec.key for r in detail.panel.canvas.rows] == ["ECG_II", "PLETH", "RESP"]
    qtbot.mouseClick(detail.back_button, QtCore.Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is window.grid
    assert window.detail is None
    qtbot.mouseClick(window.grid.tiles[0], QtCore.Qt.MouseButton.LeftButton)
    assert isinstance(window.stack.currentWidget(), BedDetail)
    qtbot.keyClick(window.stack.currentWidget(), QtCore.Qt.Key.Key_Escape)
    assert window.stack.currentWidget() is window.grid


def test_detail_ecg_gain_and_sweep_speed(make_window: WindowFactory, qtbot: QtBot) -> None:
    window = make_window(2)
    window.show_bed("Bed 01")
    detail = window.detail
    assert detail is not None
    assert detail.panel is not None
    panel = detail.panel
    assert panel.ecg_mm_per_mv() == pytest.approx(10.0)  # the standard, with room to spare
    assert panel.canvas.px_per_s == pytest.approx(25.0 * PX_PER_MM)
    for index, (gain, mm) in enumerate(((0.5, 5.0), (1.0, 10.0), (2.0, 20.0))):
        detail.gain.setCurrentIndex(index)
        assert panel.ecg_gain == gain
        assert panel.ecg_mm_per_mv() == pytest.approx(mm)
    for index, mm_s in enumerate((12.5, 25.0, 50.0)):
        detail.speed.setCurrentIndex(index)
        assert panel.canvas.px_per_s == pytest.approx(mm_s * PX_PER_MM)


def test_sweep_speed_is_calibrated_to_the_screen(make_window: WindowFactory) -> None:
    window = make_window(1, px_per_mm=5.0, start=False)
    panel = window.grid.tiles[0].panel
    assert panel is not None
    assert panel.canvas.px_per_s == pytest.approx(125.0)  # 25 mm/s at 5 px/mm


def trace_pixels(tile: BedTile, role: ColourRole) -> int:
    """How many pixels of a tile's waveform panel are drawn in a parameter's colour."""
    image = tile.panel.grab().toImage() if tile.panel else QtGui.QImage()
    colour = QtGui.QColor(theme.ROLE_COLOURS[role])
    array = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1, 4)[..., :3]
    target = np.array([colour.blue(), colour.green(), colour.red()])
    return int((np.abs(array.astype(int) - target).sum(axis=-1) < 60).sum())


def test_waveforms_are_drawn_live(make_window: WindowFactory, qtbot: QtBot) -> None:
    window = make_window(4)
    tile = window.grid.tiles[0]
    qtbot.wait(1500)
    assert trace_pixels(tile, ColourRole.ECG) > 200
    assert trace_pixels(tile, ColourRole.PLETH) > 200
    assert window.clock.measured_fps() > 10  # loose: CI machines are busy


def test_kiosk_mode_shows_no_real_names(make_window: WindowFactory, qtbot: QtBot) -> None:
    window = make_window(8, kiosk=True)
    qtbot.wait(300)
    window.show_bed("Bed 04")
    qtbot.wait(300)
    assert window.watermark is not None
    assert window.watermark.isVisible()
    texts = [window.windowTitle()]
    for widget in window.findChildren(QtWidgets.QWidget):
        for attr in ("text", "patient", "bed_label"):
            value = getattr(widget, attr, None)
            value = value() if callable(value) else value
            if isinstance(value, str):
                texts.append(value)
    joined = "\n".join(texts)
    for bed in window.station.ward.beds:
        assert bed.patient is not None
        for secret in (bed.patient.family_name, bed.patient.given_name, bed.patient.mrn):
            assert secret.upper() not in joined.upper(), f"{secret} shown in kiosk mode"
    assert "Demo patient 04" in joined
    detail = window.detail
    assert detail is not None
    assert not detail.admit_button.isVisible()
    assert not detail.discharge_button.isVisible()


def fill(dialog: AdmitDialog, **values: str) -> None:
    fields = {"family_name": "Okafor", "given_name": "Ngozi", "mrn": "A1234567",
              "date_of_birth": "1961-04-30"} | values  # fmt: skip
    for name, value in fields.items():
        getattr(dialog, name).setText(value)
    dialog.sex.setCurrentIndex(dialog.sex.findData(values.get("sex", "female")))
    dialog.category.setCurrentIndex(dialog.category.findData(values.get("category", "adult")))


def test_admit_dialog_rejects_bad_input_and_saves_nothing(
    qtbot: QtBot, qapp: QtWidgets.QApplication
) -> None:
    ward = Ward("W", ["Bed 01", "Bed 02"])
    dialog = AdmitDialog(ward, "Bed 01", today=dt.date(2026, 11, 21))
    qtbot.addWidget(dialog)
    dialog.show()
    fill(dialog, date_of_birth="2031-01-01", mrn="12")
    qtbot.mouseClick(dialog.admit_button, QtCore.Qt.MouseButton.LeftButton)
    assert dialog.isVisible()
    assert dialog.errors.isVisible()
    assert "in the future" in dialog.errors.text()
    assert "MRN '12' is not valid" in dialog.errors.text()
    assert dialog.date_of_birth.property("invalid") is True
    assert dialog.family_name.property("invalid") is False
    assert ward.bed("Bed 01").patient is None
    fill(dialog, family_name="")
    qtbot.mouseClick(dialog.admit_button, QtCore.Qt.MouseButton.LeftButton)
    assert dialog.errors.text() == "• Family name is required."
    assert ward.bed("Bed 01").patient is None
    fill(dialog)
    qtbot.mouseClick(dialog.admit_button, QtCore.Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    assert dialog.result() == QtWidgets.QDialog.DialogCode.Accepted
    patient = ward.bed("Bed 01").patient
    assert patient is not None
    assert patient.mrn == "A1234567"


def test_admit_dialog_refuses_an_mrn_admitted_elsewhere(
    qtbot: QtBot, qapp: QtWidgets.QApplication
) -> None:
    ward = Ward("W", ["Bed 01", "Bed 02"])
    first = AdmitDialog(ward, "Bed 01", today=dt.date(2026, 11, 21))
    qtbot.addWidget(first)
    fill(first)
    assert first.try_admit()
    second = AdmitDialog(ward, "Bed 02", today=dt.date(2026, 11, 21))
    qtbot.addWidget(second)
    fill(second, family_name="Other")
    assert not second.try_admit()
    assert "already admitted in Bed 01" in second.errors.text()
    assert ward.bed("Bed 02").patient is None


def test_discharge_and_admit_from_the_detail_view(
    make_window: WindowFactory, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window(2, start=False)
    window.show_bed("Bed 02")
    detail = window.detail
    assert detail is not None
    assert not detail.admit_button.isEnabled()
    assert detail.discharge_button.isEnabled()
    monkeypatch.setattr(
        QtWidgets.QMessageBox, "question",
        lambda *_a, **_k: QtWidgets.QMessageBox.StandardButton.Yes,
    )  # fmt: skip
    detail.confirm_discharge()
    assert window.station.ward.bed("Bed 02").patient is None
    assert detail.admit_button.isEnabled()
    assert not detail.discharge_button.isEnabled()
    assert window.grid.tiles[1].header.patient == "No patient admitted"
    dialog = detail.open_admit_dialog()
    fill(dialog, mrn="Z9999999")
    qtbot.mouseClick(dialog.admit_button, QtCore.Qt.MouseButton.LeftButton)
    assert window.grid.tiles[1].header.patient.startswith("OKAFOR, Ngozi")


class Clock:
    """The station's clock in a test: it moves only when the test says."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def fake_station(clock: Clock | None = None) -> tuple[Station, FakeDriver]:
    station = Station(Ward("W", ["Bed 01"]), clock=clock or Clock())
    driver = FakeDriver(simulated=True)
    station.attach("Bed 01", driver)
    return station, driver


def test_a_stale_numeric_is_shown_as_stale(make_window: WindowFactory) -> None:
    clock = Clock(1000.0)
    station, driver = fake_station(clock)
    window = make_window(station=station, start=False)
    station.start()
    driver.push_readings(Reading("HR", 72.0, "/min", 1000.0, Quality.VALID))
    tile = window.grid.tiles[0]
    tile.refresh(1000.5)
    assert tile.numerics.boxes["HR"].text == NumericText("72", NumericState.LIVE)
    # The ECG keeps coming for 30 s, but no new HR: HR goes stale after its 10 s.
    for second in range(30):
        clock.now = 1000.0 + second + 1
        driver.push_samples("ECG_II", np.zeros(250, np.float32), 1000.0 + second)
    tile.refresh(1030.0)
    assert tile.numerics.boxes["HR"].text == NumericText("72", NumericState.STALE, "STALE 30 s")
    # Then the device falls silent altogether, though it never says it is disconnected.
    clock.now = 1036.0
    tile.refresh(1036.0)
    assert tile.numerics.boxes["HR"].text == NumericText("72", NumericState.STALE, "NO DATA 36 s")
    assert tile.header.connection == ("NO DATA 6 s", False)
    assert tile.panel is not None
    assert tile.panel.message("ECG_II") == "NO DATA 6 s"


@pytest.mark.parametrize("frame_by_frame", [False, True])
def test_a_signal_gap_is_drawn_as_a_gap_not_a_line(
    make_window: WindowFactory, frame_by_frame: bool
) -> None:
    """Data, then a 2-s hole, then data: the hole's columns stay empty, whether the sweep is
    redrawn in one go or built up frame by frame (where each frame joins the last)."""
    station, driver = fake_station()
    window = make_window(station=station, start=False, size=(1200, 500))
    station.start()
    tile = window.grid.tiles[0]
    assert tile.panel is not None
    canvas = tile.panel.canvas
    t0 = 1000.0
    wave = np.sin(np.arange(250 * 2) / 8.0).astype(np.float32)
    latency = 0.2  # the fake driver's display latency
    if frame_by_frame:
        # 30 frames a second; the device sends a block every 0.1 s, except during the hole.
        for block in range(60):
            t = t0 + block / 10
            if not 2.0 <= t - t0 < 4.0:
                start = (block % 20) * 25
                driver.push_samples("ECG_II", wave[start : start + 25], t)
            for frame in range(3):
                canvas.advance(t + (frame + 1) / 30 + latency)
    else:
        driver.push_samples("ECG_II", wave, t0)  # 1000 .. 1002 s
        driver.push_samples("ECG_II", wave, t0 + 4.0)  # 1004 .. 1006 s: 1002 .. 1004 missing
        canvas.advance(t0 + 6.0 + latency)
    image = canvas.image()
    row = canvas.rows[0]
    pxs = canvas.px_per_s
    colour = QtGui.QColor(theme.ROLE_COLOURS[ColourRole.ECG]).rgb()

    def drawn(t_from: float, t_to: float) -> int:
        columns = range(int(t_from * pxs), int(t_to * pxs))
        xs = {c % canvas.width for c in columns}
        return sum(
            1 for x in xs for y in range(row.y, row.y + row.height) if image.pixel(x, y) == colour
        )

    assert drawn(t0 + 0.2, t0 + 1.8) > 50
    assert drawn(t0 + 2.05, t0 + 3.95) == 0  # the gap
    assert drawn(t0 + 4.2, t0 + 5.8) > 50


def test_a_lost_connection_is_said_over_the_traces(make_window: WindowFactory) -> None:
    clock = Clock(1000.0)
    station, driver = fake_station(clock)
    window = make_window(station=station, start=False)
    station.start()
    tile = window.grid.tiles[0]
    driver.push_status(DriverState.DISCONNECTED, t=1000.0)
    clock.now = 1012.0
    tile.refresh(1012.0)
    assert tile.panel is not None
    assert tile.panel.message("ECG_II") == "NO SIGNAL: DISCONNECTED"
    assert tile.header.connection == ("DISCONNECTED 12 s", False)
    clock.now = 1013.0
    driver.push_status(DriverState.CONNECTED, t=1013.0)
    driver.push_condition("ECG_LEAD_OFF", True, 1013.0)
    clock.now = 1014.0
    tile.refresh(1014.0)
    assert tile.panel.message("ECG_II") == "LEADS OFF"
    assert tile.panel.message("PLETH") == ""


def test_kiosk_mode_runs_full_screen(make_window: WindowFactory) -> None:
    window = make_window(4, kiosk=True, start=False)
    options = cli.parse(["--kiosk", "--beds", "4"])
    assert isinstance(options, cli.StationOptions)
    arrange(window, options)
    assert window.windowState() & QtCore.Qt.WindowState.WindowFullScreen
    windowed = cli.parse(["--kiosk", "--size", "1280x720"])
    assert isinstance(windowed, cli.StationOptions)
    arrange(window, windowed)
    assert window.size() == QtCore.QSize(1280, 720)


class FakeCuffDriver(FakeDriver):
    """A fake monitor with an NIBP cuff."""

    def __init__(self) -> None:
        super().__init__(simulated=True)
        self.nibp_requests = 0

    def request_nibp(self) -> None:
        self.nibp_requests += 1


def test_start_nibp_asks_the_device_and_shows_the_measurement(
    make_window: WindowFactory, qtbot: QtBot
) -> None:
    clock = Clock(1000.0)
    station = Station(Ward("W", ["Bed 01", "Bed 02"]), clock=clock)
    cuff = FakeCuffDriver()
    station.attach("Bed 01", cuff)
    station.attach("Bed 02", FakeDriver("NO-CUFF"))
    window = make_window(station=station, start=False)
    station.start()
    window.show_bed("Bed 01")
    detail = window.detail
    assert detail is not None
    detail.refresh(1000.0)
    assert detail.nibp_button.isEnabled()
    qtbot.mouseClick(detail.nibp_button, QtCore.Qt.MouseButton.LeftButton)
    assert cuff.nibp_requests == 1
    cuff.push_event("nibp", NIBP_STARTED, 1000.5)  # the cuff starts inflating
    for second in range(9):  # the monitor's ECG keeps coming meanwhile
        clock.now = 1001.0 + second
        cuff.push_samples("ECG_II", np.zeros(250, np.float32), 1000.0 + second)
    detail.refresh(1009.0)
    assert not detail.nibp_button.isEnabled()
    assert detail.nibp_button.text() == "NIBP measuring…"
    assert detail.numerics.boxes["NIBP_SYS"].text.note == "measuring 8 s"
    cuff.push_event("nibp", NIBP_DONE, 1030.0)
    cuff.push_status(DriverState.DISCONNECTED, t=1030.0)
    clock.now = 1031.0
    detail.refresh(1031.0)
    assert not detail.nibp_button.isEnabled()  # no link: the request could not reach it
    window.show_bed("Bed 02")
    assert window.detail is not None
    assert not window.detail.nibp_button.isEnabled()


def test_dropped_samples_and_a_failed_device_are_visible(make_window: WindowFactory) -> None:
    station, driver = fake_station()
    window = make_window(station=station, start=False)
    station.start()
    driver.push_samples("NOT_DESCRIBED", np.ones(123), 1000.0)
    driver.push_status(DriverState.FAILED, t=1000.0, message="USB cable unplugged")
    window.render_frame(1001.0, 1)  # one display frame: poll, draw, refresh the bars
    assert "samples dropped: 123" in window.status.text()
    tile = window.grid.tiles[0]
    assert tile.header.connection == ("FAILED: USB cable unplugged", False)
    assert tile.panel is not None
    assert tile.panel.message("ECG_II") == "NO SIGNAL: FAILED"
    window.show_bed("Bed 01")
    assert window.detail is not None
    assert "Samples dropped: 123" in window.detail.device_info.text()


def test_numerics_turn_stale_the_moment_the_link_drops(make_window: WindowFactory) -> None:
    clock = Clock(1000.0)
    station, driver = fake_station(clock)
    window = make_window(station=station, start=False)
    station.start()
    now = clock.now
    driver.push_samples("ECG_II", np.zeros(250, np.float32), now - 1.0)
    driver.push_readings(Reading("HR", 72.0, "/min", now - 0.5, Quality.VALID))
    tile = window.grid.tiles[0]
    tile.refresh(now)
    assert tile.numerics.boxes["HR"].text.state is NumericState.LIVE
    driver.push_status(DriverState.DISCONNECTED, t=now)
    clock.now = now + 2.0
    tile.refresh(now + 2.0)  # well inside HR's 10-s limit, but the link is gone
    assert tile.numerics.boxes["HR"].text == NumericText("72", NumericState.STALE, "NO LINK 2 s")


def test_the_simulated_banner_follows_the_devices(make_window: WindowFactory) -> None:
    simulated = make_window(2, start=False)
    assert simulated.top_bar.simulated.isVisible()
    station = Station(Ward("W", ["Bed 01"]))
    station.attach("Bed 01", FakeDriver(simulated=False))
    real = make_window(station=station, start=False)
    assert not real.top_bar.simulated.isVisible()
    assert not real.grid.tiles[0].header.simulated


class FakeScreen:
    def __init__(self, dpi: float, ratio: float) -> None:
        self.dpi, self.ratio = dpi, ratio

    def physicalDotsPerInch(self) -> float:
        return self.dpi

    def devicePixelRatio(self) -> float:
        return self.ratio


@pytest.mark.parametrize(
    ("dpi", "ratio", "given", "px_per_mm", "noted"),
    [
        (96.0, 1.0, None, 96 / 25.4, False),
        (220.0, 2.0, None, 110 / 25.4, False),  # a 2× scaled screen draws in logical pixels
        (5000.0, 1.0, None, 96 / 25.4, True),  # nonsense from the screen: say it is a guess
        (96.0, 1.0, 120.0, 120 / 25.4, True),  # the operator's measurement wins
    ],
)
def test_sweep_calibration_follows_the_screen(
    dpi: float, ratio: float, given: float | None, px_per_mm: float, noted: bool
) -> None:
    value, note = calibrate(FakeScreen(dpi, ratio), given)
    assert value == pytest.approx(px_per_mm)
    assert bool(note) == noted


def test_a_tile_that_fails_says_so_and_the_others_go_on(
    make_window: WindowFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window(3, start=False)
    broken = window.grid.tiles[1]

    def explode(now: float) -> None:
        raise ValueError("bad reading")

    monkeypatch.setattr(broken.numerics, "refresh", explode)
    window.grid.refresh(window.station.clock())
    assert broken.header.connection == ("DISPLAY ERROR: bad reading", False)
    assert broken.panel is not None
    assert broken.panel.message("ECG_II") == "DISPLAY ERROR: data not shown"
    for tile in (window.grid.tiles[0], window.grid.tiles[2]):
        assert tile.fault == ""
        assert not tile.header.connection[0].startswith("DISPLAY ERROR")


def test_a_device_attached_later_appears_on_its_tile(make_window: WindowFactory) -> None:
    station = Station(Ward("W", ["Bed 01", "Bed 02"]))
    station.attach("Bed 01", FakeDriver("FIRST"))
    window = make_window(station=station, start=False)
    assert window.grid.tiles[1].panel is None
    assert window.grid.tiles[1].header.connection == ("NO DEVICE", False)
    station.attach("Bed 02", FakeDriver("LATE"))
    late = window.grid.tiles[1]
    assert late.bed.label == "Bed 02"
    assert late.panel is not None
    assert "HR" in late.numerics.boxes
