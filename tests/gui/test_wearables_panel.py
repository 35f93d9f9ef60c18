"""The wearables window as a nurse uses it: what each device shows, pairing to a bed,
forgetting, errors in words, Bluetooth off, and the top bar's way in."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from PySide6 import QtCore, QtGui, QtWidgets
from pytestqt.qtbot import QtBot

from app.demo_ward import SimConfig, build_simulated_station
from drivers.base import DriverState
from tests.fakes.wearables import CUFF, OXIMETER, POLAR, THERMOMETER, UNSUPPORTED, FakeWearables
from tests.gui.conftest import PX_PER_MM
from widgets import theme
from widgets.main_window import MainWindow
from widgets.wearables_panel import WearablesPanel
from widgets.wearables_table import COLUMNS, STATE_COLUMN, BedChooser

Button = QtWidgets.QMessageBox.StandardButton
LEFT = QtCore.Qt.MouseButton.LeftButton


@pytest.fixture
def fake() -> FakeWearables:
    return FakeWearables([POLAR, OXIMETER, CUFF, THERMOMETER, UNSUPPORTED])


@pytest.fixture
def panel(
    qtbot: QtBot, qapp: QtWidgets.QApplication, fake: FakeWearables
) -> Iterator[WearablesPanel]:
    theme.apply(qapp)
    widget = WearablesPanel(fake)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.close()


def texts(panel: WearablesPanel, row: int) -> dict[str, str]:
    model = panel.model
    return {name: model.index(row, c).data() for c, name in enumerate(COLUMNS)}


def background(panel: WearablesPanel, row: int) -> str:
    brush = panel.model.index(row, STATE_COLUMN).data(QtCore.Qt.ItemDataRole.BackgroundRole)
    assert isinstance(brush, QtGui.QBrush)
    return str(brush.color().name())


def choose(chooser: BedChooser | None, bed: str) -> None:
    assert chooser is not None
    assert chooser.isVisible()
    chooser.combo.setCurrentText(bed)
    chooser.accept_button.click()


def test_each_device_reads_in_words(panel: WearablesPanel) -> None:
    assert panel.windowTitle() == "Wearables (Bluetooth)"
    assert texts(panel, 0) == {
        "Device": "Polar H10 8C4D2E21", "Address": "A0:9E:1A:00:00:10",
        "Measures": "heart rate, Polar ECG", "Signal": "-58 dBm", "Last heard": "0 s ago",
        "Paired": "Yes", "Bed": "Bed 01", "State": "Connected",
        "Message": "streaming ECG at 130 Hz",
    }  # fmt: skip
    assert texts(panel, 1)["State"] == "Connecting"
    assert texts(panel, 2)["Last heard"] == "35 s ago"
    assert texts(panel, 2)["State"] == "Disconnected"
    assert texts(panel, 3)["Paired"] == "No"
    assert texts(panel, 3)["Bed"] == "—"
    assert texts(panel, 3)["State"] == "Not paired"
    assert texts(panel, 4)["State"] == "Not supported"
    # Green connected, amber connecting, red disconnected, and the word on each.
    assert background(panel, 0) == theme.OK
    assert background(panel, 1) == theme.WARNING
    assert background(panel, 2) == theme.FAULT


def test_the_table_follows_the_manager_every_second(
    panel: WearablesPanel, fake: FakeWearables, qtbot: QtBot
) -> None:
    panel.select(CUFF.address)
    fake.current = [POLAR, dataclasses.replace(CUFF, state=DriverState.CONNECTED)]
    qtbot.waitUntil(lambda: panel.model.rowCount() == 2, timeout=3000)
    assert texts(panel, 1)["State"] == "Connected"
    selected = panel.selected_row()
    assert selected is not None
    assert selected.address == CUFF.address  # the selection survives the new list


def test_pairing_asks_for_a_bed_and_pairs_to_it(
    panel: WearablesPanel, fake: FakeWearables, qtbot: QtBot
) -> None:
    panel.select(THERMOMETER.address)
    assert panel.pair_button.isEnabled()
    assert not panel.forget_button.isEnabled()
    qtbot.mouseClick(panel.pair_button, LEFT)
    chooser = panel.chooser
    assert chooser is not None
    assert [chooser.combo.itemText(i) for i in range(chooser.combo.count())] == fake.beds()
    choose(chooser, "Bed 04")
    assert fake.calls == [("pair", THERMOMETER.address, "Bed 04")]
    assert not panel.error.isVisible()
    assert texts(panel, 3)["Bed"] == "Bed 04"
    assert texts(panel, 3)["State"] == "Connecting"


def test_moving_and_unassigning_a_paired_device(panel: WearablesPanel, fake: FakeWearables) -> None:
    panel.select(OXIMETER.address)
    assert not panel.pair_button.isEnabled()
    chooser = panel.move_selected()
    assert chooser is not None
    assert "Bed 02" not in [chooser.combo.itemText(i) for i in range(chooser.combo.count())]
    choose(chooser, "Bed 03")
    assert panel.unassign_selected()
    assert fake.calls == [
        ("assign", OXIMETER.address, "Bed 03"),
        ("assign", OXIMETER.address, None),
    ]
    assert texts(panel, 1)["State"] == "No bed"
    assert not panel.unassign_button.isEnabled()


def test_forget_asks_first_and_then_forgets(
    panel: WearablesPanel, fake: FakeWearables, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    answer = Button.No

    def question(_parent: object, _title: str, text: str, *_args: object) -> Button:
        asked.append(text)
        return answer

    monkeypatch.setattr(QtWidgets.QMessageBox, "question", question)
    panel.select(POLAR.address)
    panel.forget_button.click()
    assert fake.calls == []  # "No" forgets nothing
    assert "Forget Polar H10 8C4D2E21 (A0:9E:1A:00:00:10)?" in asked[0]
    assert "disconnected from Bed 01" in asked[0]
    answer = Button.Yes
    panel.forget_button.click()
    assert fake.calls == [("forget", POLAR.address, None)]
    assert texts(panel, 0)["Paired"] == "No"


def test_a_refused_command_says_why_in_the_panel(
    panel: WearablesPanel, fake: FakeWearables
) -> None:
    fake.fail_with = "the device stopped advertising"
    panel.select(THERMOMETER.address)
    choose(panel.pair_selected(), "Bed 02")
    assert panel.error.isVisible()
    assert panel.error.text() == (
        "Could not pair TEMP-TH1 (D4:36:39:AA:01:02) to Bed 02: the device stopped advertising"
    )
    choose(panel.pair_selected(), "Bed 02")  # the next command that works clears it
    assert not panel.error.isVisible()


def test_without_bluetooth_a_banner_says_why_and_nothing_can_be_done(
    panel: WearablesPanel, fake: FakeWearables, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.bluetooth_error = "no Bluetooth adapter found"
    fake.allow_list_error = "read-only file system"
    panel.refresh()
    assert panel.bluetooth_banner.isVisible()
    assert "Bluetooth unavailable: no Bluetooth adapter found" in panel.bluetooth_banner.text()
    assert panel.allow_list_banner.isVisible()
    assert "Pairings are not saved: read-only file system" in panel.allow_list_banner.text()
    monkeypatch.setattr(QtWidgets.QMessageBox, "question", lambda *_a: Button.Yes)
    for address in (THERMOMETER.address, POLAR.address):
        panel.select(address)
        buttons = (panel.pair_button, panel.move_button, panel.unassign_button,
                   panel.forget_button)  # fmt: skip
        assert not any(b.isEnabled() for b in buttons)
        for button in buttons:
            button.click()
    assert fake.calls == []
    fake.bluetooth_error = None
    panel.refresh()
    assert not panel.bluetooth_banner.isVisible()
    assert panel.forget_button.isEnabled()  # POLAR, still selected


def test_unsupported_devices_are_greyed_and_cannot_be_paired(
    panel: WearablesPanel, fake: FakeWearables
) -> None:
    panel.select(UNSUPPORTED.address)
    assert not panel.pair_button.isEnabled()
    assert panel.pair_selected() is None
    assert fake.calls == []
    assert "cannot be paired" in panel.note.text()
    colour = panel.model.index(4, 0).data(QtCore.Qt.ItemDataRole.ForegroundRole)
    assert isinstance(colour, QtGui.QBrush)
    assert colour.color().name() == theme.STALE


def test_the_refresh_stops_when_the_panel_closes(
    panel: WearablesPanel, fake: FakeWearables, qtbot: QtBot
) -> None:
    assert panel.timer.isActive()
    reads = fake.rows_read
    qtbot.waitUntil(lambda: fake.rows_read > reads, timeout=3000)
    panel.close()
    assert not panel.timer.isActive()
    reads = fake.rows_read
    qtbot.wait(1300)
    assert fake.rows_read == reads


@pytest.fixture
def station_window(
    qtbot: QtBot, qapp: QtWidgets.QApplication, fake: FakeWearables
) -> Iterator[tuple[MainWindow, MainWindow]]:
    """A window given the wearables, and one without."""
    theme.apply(qapp)
    station = build_simulated_station(SimConfig(beds=4))
    windows = tuple(
        MainWindow(station, kiosk=False, fps=30.0, px_per_mm=PX_PER_MM, wearables=control)
        for control in (fake, None)
    )
    for window in windows:
        qtbot.addWidget(window)
        window.show()
    yield windows[0], windows[1]
    for window in windows:
        window.shutdown()
    assert station.stop() == []


def test_the_top_bar_opens_the_panel_only_with_wearables(
    station_window: tuple[MainWindow, MainWindow], qtbot: QtBot
) -> None:
    with_wearables, without = station_window
    assert without.wearables_button is None
    assert without.open_wearables() is None
    button = with_wearables.wearables_button
    assert button is not None
    assert button.text() == "Wearables"
    assert button.isVisible()
    qtbot.mouseClick(button, LEFT)
    panel = with_wearables.wearables_panel
    assert panel is not None
    assert panel.isVisible()
    assert panel.model.rowCount() == 5
    with_wearables.shutdown()
    assert not panel.timer.isActive()
