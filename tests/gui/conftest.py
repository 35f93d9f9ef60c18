"""GUI fixtures: a real station window, offscreen, at 1920×1080, torn down completely."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6 import QtWidgets
from pytestqt.qtbot import QtBot

from app.demo_ward import SimConfig, build_simulated_station
from app.station import Station
from widgets import theme
from widgets.main_window import MainWindow

PX_PER_MM = 96 / 25.4
WindowFactory = Callable[..., MainWindow]


@pytest.fixture
def make_window(qtbot: QtBot, qapp: QtWidgets.QApplication) -> Iterator[WindowFactory]:
    made: list[tuple[MainWindow, Station]] = []

    def factory(
        beds: int = 8,
        *,
        kiosk: bool = False,
        station: Station | None = None,
        size: tuple[int, int] = (1920, 1080),
        px_per_mm: float = PX_PER_MM,
        start: bool = True,
        scenario: str | None = None,
    ) -> MainWindow:
        theme.apply(qapp)
        station = station or build_simulated_station(SimConfig(beds=beds, scenario=scenario))
        window = MainWindow(station, kiosk=kiosk, fps=30.0, px_per_mm=px_per_mm)
        qtbot.addWidget(window)
        window.resize(*size)
        window.show()
        qtbot.waitExposed(window)
        if start:
            station.start()
            window.start()
        made.append((window, station))
        return window

    yield factory
    for window, station in made:
        window.shutdown()
        assert station.stop() == []
