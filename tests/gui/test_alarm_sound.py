"""The alarm sound player: honest about missing audio, stateful without it, no timer after close.

This runs offscreen with no sound server, so the real default output is null. Nothing here
pretends otherwise: the expectations follow what QMediaDevices itself reports.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6 import QtCore, QtMultimedia
from pytestqt.qtbot import QtBot

from app.alarms.priority import Priority
from widgets.alarm_sound import NO_DEVICE, AlarmSoundPlayer

ROOT = Path(__file__).resolve().parents[2]

# QtMultimedia's first look for devices logs these once per process (no PipeWire, VA-API or
# PulseAudio server here); they describe the sandbox, not the player.
pytestmark = pytest.mark.qt_log_ignore(
    r"Couldn't (load|resolve) .*(library|symbols)",
    r"PulseAudioService: pa_context_connect\(\) failed",
    r"Using Qt multimedia with FFmpeg",
)


def device_present() -> bool:
    return not QtMultimedia.QMediaDevices.defaultAudioOutput().isNull()


def running_timers(player: AlarmSoundPlayer) -> list[str]:
    return [t.objectName() for t in player.findChildren(QtCore.QTimer) if t.isActive()]


@pytest.fixture
def player(qtbot: QtBot) -> Iterator[AlarmSoundPlayer]:
    made = AlarmSoundPlayer()
    yield made
    made.close()
    assert running_timers(made) == []


def test_availability_is_what_qt_reports(player: AlarmSoundPlayer) -> None:
    if device_present():
        assert player.available
        assert player.unavailable_reason == ""
    else:
        assert not player.available
        assert player.unavailable_reason == NO_DEVICE == "no audio output device"


def test_headless_calls_keep_state_and_start_nothing(player: AlarmSoundPlayer) -> None:
    if device_present():
        pytest.fail("this test expects the headless sandbox: a real audio output is present")
    asked = [Priority.LOW, Priority.HIGH, Priority.MEDIUM, None, Priority.HIGH, Priority.HIGH]
    reported = [player.sounding]
    for priority in asked:
        player.set_sounding(priority)
        reported.append(player.sounding)
        assert running_timers(player) == []  # no device: no repetition to run
    player.play_reminder()
    reported.append(player.sounding)
    assert reported == [None, *asked, Priority.HIGH]
    assert not player.available


def test_close_stops_everything_and_later_calls_are_ignored(player: AlarmSoundPlayer) -> None:
    player.set_sounding(Priority.HIGH)
    player.close()
    assert running_timers(player) == []
    assert player.sounding is None
    player.set_sounding(Priority.MEDIUM)
    player.play_reminder()
    assert player.sounding is None
    assert running_timers(player) == []


def test_a_change_of_outputs_is_rechecked(qtbot: QtBot, player: AlarmSoundPlayer) -> None:
    """The recheck runs on Qt's own signal; with still no device nothing changes or restarts."""
    devices = player.findChild(QtMultimedia.QMediaDevices)
    assert devices is not None
    before = player.available
    player.set_sounding(Priority.MEDIUM)
    if before:
        devices.audioOutputsChanged.emit()
    else:
        with qtbot.assertNotEmitted(player.availability_changed):
            devices.audioOutputsChanged.emit()
        assert running_timers(player) == []
    assert player.available == before == device_present()
    assert player.sounding == Priority.MEDIUM


def test_missing_qtmultimedia_is_reported_not_raised() -> None:
    """Without QtMultimedia (say libpulse0 is not installed) the player says so and keeps state."""
    code = (
        "import sys; sys.modules['PySide6.QtMultimedia'] = None\n"  # import now raises
        "from app.alarms.priority import Priority\n"
        "from widgets.alarm_sound import AlarmSoundPlayer\n"
        "p = AlarmSoundPlayer(); p.set_sounding(Priority.HIGH)\n"
        "print(p.available, p.sounding.name, p.unavailable_reason, sep='|')\n"
        "p.close()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    available, sounding, reason = out.stdout.strip().split("|")
    assert (available, sounding) == ("False", "HIGH")
    assert reason.startswith("QtMultimedia cannot be loaded:")
