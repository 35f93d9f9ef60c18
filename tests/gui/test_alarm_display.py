"""Alarms on screen: the tile's alarm line and the station alarm bar, their IEC colours and
flashing frequencies (measured on the widgets), the audio states, operator actions, and the
bed detail's alarm panel."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6 import QtWidgets
from pytestqt.qtbot import QtBot

from app.alarms.engine import AlarmEngine, AlarmSnapshot
from app.alarms.priority import Priority
from app.alarms.service import AlarmService
from app.alarms.visual import COLOUR, DIM
from tests.unit.alarm_harness import BED, Harness
from widgets import theme
from widgets.alarm_strip import AlarmStrip
from widgets.main_window import MainWindow

PX_PER_MM = 96 / 25.4


@pytest.fixture
def ward(qtbot: QtBot, qapp: QtWidgets.QApplication) -> Iterator[tuple[Harness, MainWindow]]:
    theme.apply(qapp)
    harness = Harness()
    window = MainWindow(
        harness.station, kiosk=False, fps=30.0, px_per_mm=PX_PER_MM, alarms=harness.engine,
        user="nurse A",
    )  # fmt: skip
    qtbot.addWidget(window)
    window.resize(1600, 900)
    window.show()
    qtbot.waitExposed(window)
    yield harness, window
    window.shutdown()
    harness.close()


def frame(window: MainWindow, harness: Harness, t: float) -> None:
    """One refreshing frame at ``t`` seconds of the harness's clock."""
    window.render_frame(harness.at(t), 1)


def sounding(window: MainWindow) -> Priority | None:
    """What the window's sound player is told to sound."""
    assert window.sound is not None
    return window.sound.sounding


def strip(window: MainWindow) -> AlarmStrip:
    return window.grid.tiles[0].alarm_strip


def measure_flash(window: MainWindow, harness: Harness, start: float, seconds: float
                  ) -> tuple[float, float]:  # fmt: skip
    """(frequency in Hz, duty cycle) of the tile's alarm line, sampled at 200 Hz."""
    samples = []
    for i in range(round(seconds * 200)):
        t = start + i / 200
        window.render_frame(harness.at(t), 2)  # a frame that does not refresh: flashing only
        samples.append(strip(window).lit)
    rises = [i for i in range(1, len(samples)) if samples[i] and not samples[i - 1]]
    if len(rises) < 2:
        return 0.0, sum(samples) / len(samples)
    period = (rises[-1] - rises[0]) / (len(rises) - 1) / 200
    whole = samples[rises[0] : rises[-1]]
    return 1 / period, sum(whole) / len(whole)


def test_a_high_alarm_flashes_red_at_2_hz(ward: tuple[Harness, MainWindow]) -> None:
    harness, window = ward
    harness.rhythm("VF", 0.1)
    harness.tick(0.25)
    frame(window, harness, 0.25)
    assert strip(window).isVisible()
    assert strip(window).text().startswith(f"{BED}  !!!  VF  0:00")
    hz, duty = measure_flash(window, harness, 1.0, 5.0)
    assert hz == pytest.approx(2.0, abs=0.05)
    assert duty == pytest.approx(0.5, abs=0.03)
    # The phase follows the station clock: 10 s on, find each half of one flash.
    lit_at = next(t for t in (10 + i / 100 for i in range(50)) if (harness.at(t) * 2) % 1 < 0.2)
    window.render_frame(harness.at(lit_at), 2)
    assert strip(window).background == COLOUR[Priority.HIGH]
    window.render_frame(harness.at(lit_at + 0.3), 2)  # 0.6 of a 0.5-s period: the dark half
    assert strip(window).background == DIM


def test_a_medium_alarm_flashes_yellow_at_0_6_hz(ward: tuple[Harness, MainWindow]) -> None:
    harness, window = ward
    harness.monitor.push_condition("ECG_LEAD_OFF", True, harness.at(0.1))
    harness.tick(0.25)
    frame(window, harness, 0.25)
    hz, duty = measure_flash(window, harness, 1.0, 10.0)
    assert hz == pytest.approx(0.6, abs=0.02)
    assert duty == pytest.approx(0.5, abs=0.03)
    assert strip(window).text().startswith(f"{BED}  !!  ECG_LEAD_OFF  0:00")


def test_a_low_alarm_is_steady_cyan(ward: tuple[Harness, MainWindow]) -> None:
    harness, window = ward
    harness.monitor.push_condition("BATTERY_LOW", True, harness.at(0.1))
    harness.tick(0.25)
    frame(window, harness, 0.25)
    hz, duty = measure_flash(window, harness, 1.0, 3.0)
    assert hz == 0.0
    assert duty == 1.0
    assert strip(window).background == COLOUR[Priority.LOW]


def test_the_alarm_bar_lists_every_alarm_most_urgent_first(
    ward: tuple[Harness, MainWindow],
) -> None:
    harness, window = ward
    harness.monitor.push_condition("BATTERY_LOW", True, harness.at(0.1))
    harness.rhythm("VT", 0.2)
    harness.tick(0.25)
    frame(window, harness, 0.25)
    bar = window.alarm_bar
    assert bar is not None
    texts = [chip.text() for chip in bar.chips if chip.isVisible()]
    assert texts[0].startswith(f"!!!  {BED}  VT")
    assert texts[1].startswith(f"!  {BED}  BATTERY_LOW  0:00")
    assert not bar.none.isVisible()


def test_audio_unavailable_is_shown_never_a_silent_mute(
    ward: tuple[Harness, MainWindow],
) -> None:
    harness, window = ward
    harness.tick(0.25)
    frame(window, harness, 0.25)
    assert window.alarm_bar is not None
    assert window.alarm_bar.unavailable.isVisible()
    assert window.alarm_bar.unavailable.text() == "AUDIO UNAVAILABLE: no audio output device"


def test_pause_and_acknowledge_from_the_bar(qtbot: QtBot, ward: tuple[Harness, MainWindow]) -> None:
    harness, window = ward
    bar = window.alarm_bar
    assert bar is not None
    harness.rhythm("ASYSTOLE", 0.1)
    harness.tick(0.25)
    frame(window, harness, 0.25)
    assert sounding(window) is Priority.HIGH
    bar.pause_button.click()
    frame(window, harness, 0.5)
    assert bar.audio_state.text() == "AUDIO PAUSED 2:00"
    assert sounding(window) is None
    assert bar.pause_button.text() == "Resume audio"
    bar.ack_button.click()
    assert harness.engine.snapshot().alarms[0].acknowledged
    assert harness.events("ack") == [0.25]


class BrokenEngine(AlarmEngine):
    def tick(self, now: float, hold_future: bool = False) -> AlarmSnapshot:
        raise RuntimeError("corrupt state")


def test_a_failing_alarm_engine_shows_a_banner(ward: tuple[Harness, MainWindow]) -> None:
    harness, window = ward
    service = AlarmService(BrokenEngine(harness.station))
    service.step()
    window.alarm_service = service
    frame(window, harness, 0.25)
    assert window.alarm_bar is not None
    assert window.alarm_bar.failure.isVisible()
    assert window.alarm_bar.failure.text() == "ALARM SYSTEM FAILURE: RuntimeError: corrupt state"


def test_the_screen_reports_that_it_is_alive(ward: tuple[Harness, MainWindow]) -> None:
    harness, window = ward
    frame(window, harness, 1.0)
    harness.run(1.0, 4.0)
    assert harness.codes() == []
    harness.run(4.25, 4.25)  # no frame for over 3 s: the engine calls the screen frozen
    assert harness.codes() == ["DISPLAY_FROZEN"]


def test_alarm_off_leaves_an_indicator_on_the_tile(ward: tuple[Harness, MainWindow]) -> None:
    harness, window = ward
    harness.engine.switch_off(BED, "SPO2", "nurse A", confirmed=True)
    harness.tick(0.25)
    frame(window, harness, 0.25)
    tile = window.grid.tiles[0]
    assert tile.header.alarm_off == "ALARM OFF: SpO2"  # drawn in the header, always
    assert not strip(window).isVisible()  # no alarm: the header (and patient) shows


def test_the_detail_view_acknowledges_and_shows_history(
    ward: tuple[Harness, MainWindow],
) -> None:
    harness, window = ward
    harness.rhythm("VF", 0.1)
    harness.tick(0.25)
    window.show_bed(BED)
    frame(window, harness, 0.25)
    assert window.detail is not None
    panel = window.detail.alarm_panel
    assert panel is not None
    assert panel.alarms.item(0).text().startswith("!!!  VF")
    panel.ack_button.click()
    frame(window, harness, 0.5)
    assert panel.alarms.item(0).text().endswith("ACK")
    assert [panel.history.row_texts(r)[2] for r in range(panel.history.rowCount())] == [
        "ack",
        "start",
    ]
    assert panel.history.row_texts(0)[5] == "nurse A"
