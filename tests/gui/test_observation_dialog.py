"""The NEWS2 observation dialog: what the nurse enters, and nothing saved that was not chosen."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6 import QtCore, QtWidgets
from pytestqt.qtbot import QtBot

from app.alarms.bed_news2 import NurseObservation
from app.alarms.log import LogEntry
from tests.unit.alarm_harness import BED, Harness
from widgets.observation_dialog import ObservationDialog

USER = "nurse.k"
LEFT = QtCore.Qt.MouseButton.LeftButton
WORDS = ["A — Alert", "C — New confusion", "V — responds to Voice", "P — responds to Pain",
         "U — Unresponsive"]  # fmt: skip


@pytest.fixture
def harness() -> Iterator[Harness]:
    harness = Harness()
    harness.tick(0)
    yield harness
    harness.close()


def open_dialog(qtbot: QtBot, harness: Harness, user: str = USER) -> ObservationDialog:
    dialog = ObservationDialog(harness.engine, BED, user)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def click_box(qtbot: QtBot, button: QtWidgets.QAbstractButton) -> None:
    """Click a radio button or check box on its indicator."""
    qtbot.mouseClick(button, LEFT, pos=QtCore.QPoint(8, button.height() // 2))


def save(qtbot: QtBot, dialog: ObservationDialog) -> None:
    qtbot.mouseClick(dialog.save_button, LEFT)


def entries(harness: Harness) -> list[LogEntry]:
    return [e for e in harness.engine.log.entries(BED) if e.event == "observation"]


def saved(harness: Harness) -> NurseObservation | None:
    harness.tick(1)  # the snapshot shows the entry from the next tick on
    return harness.engine.snapshot().news2[BED].observation


def test_the_levels_are_in_words_and_none_is_chosen_without_an_entry(
    qtbot: QtBot, harness: Harness
) -> None:
    dialog = open_dialog(qtbot, harness)
    assert list(dialog.consciousness) == ["A", "C", "V", "P", "U"]
    assert [b.text() for b in dialog.consciousness.values()] == WORDS
    assert not any(b.isChecked() for b in dialog.consciousness.values())
    assert dialog.chosen_level() is None
    assert not dialog.on_oxygen.isChecked()
    assert dialog.on_oxygen.text() == "On supplemental oxygen"
    assert not dialog.scale2.isChecked()
    assert dialog.scale2.text() == "SpO2 scale 2 (confirmed hypercapnic respiratory failure only)"
    assert dialog.scale2_warning.isVisible()
    assert "clinician" in dialog.scale2_warning.text()


def test_an_observation_is_saved_with_the_chosen_values_and_logged(
    qtbot: QtBot, harness: Harness
) -> None:
    dialog = open_dialog(qtbot, harness)
    click_box(qtbot, dialog.consciousness["C"])
    click_box(qtbot, dialog.on_oxygen)
    assert dialog.chosen_level() == "C"
    save(qtbot, dialog)
    assert not dialog.isVisible()
    assert dialog.result() == QtWidgets.QDialog.DialogCode.Accepted
    obs = saved(harness)
    assert obs is not None
    assert (obs.consciousness, obs.on_oxygen, obs.spo2_scale, obs.entered_by) == ("C", True, 1,
                                                                                  USER)  # fmt: skip
    [entry] = entries(harness)
    assert entry.user == USER
    assert entry.code == "NEWS2"
    assert entry.detail == "ACVPU C, on oxygen, SpO2 scale 1"


def test_scale_2_is_saved_only_when_ticked(qtbot: QtBot, harness: Harness) -> None:
    dialog = open_dialog(qtbot, harness)
    click_box(qtbot, dialog.consciousness["A"])
    click_box(qtbot, dialog.scale2)
    save(qtbot, dialog)
    obs = saved(harness)
    assert obs is not None
    assert (obs.consciousness, obs.on_oxygen, obs.spo2_scale) == ("A", False, 2)
    assert entries(harness)[-1].detail == "ACVPU A, on air, SpO2 scale 2"


def test_without_a_level_of_consciousness_nothing_is_saved(qtbot: QtBot, harness: Harness) -> None:
    dialog = open_dialog(qtbot, harness)
    click_box(qtbot, dialog.on_oxygen)
    save(qtbot, dialog)
    assert dialog.isVisible()
    assert dialog.errors.isVisible()
    assert "Choose the level of consciousness" in dialog.errors.text()
    assert dialog.levels.property("invalid") is True
    assert entries(harness) == []
    assert saved(harness) is None
    click_box(qtbot, dialog.consciousness["U"])
    save(qtbot, dialog)
    assert not dialog.isVisible()
    obs = saved(harness)
    assert obs is not None
    assert obs.consciousness == "U"


def test_an_engine_refusal_is_shown_and_the_dialog_stays_open(
    qtbot: QtBot, harness: Harness
) -> None:
    dialog = open_dialog(qtbot, harness, user="  ")
    click_box(qtbot, dialog.consciousness["A"])
    save(qtbot, dialog)
    assert dialog.isVisible()
    assert "needs the name of who entered it" in dialog.errors.text()
    assert dialog.levels.property("invalid") is False  # the level was not the problem
    assert entries(harness) == []
    assert saved(harness) is None


def test_an_existing_observation_is_filled_in(qtbot: QtBot, harness: Harness) -> None:
    harness.engine.set_observation(BED, "V", True, 2, "nurse.a")
    harness.tick(1)
    dialog = open_dialog(qtbot, harness)
    assert [lvl for lvl, b in dialog.consciousness.items() if b.isChecked()] == ["V"]
    assert dialog.on_oxygen.isChecked()
    assert dialog.scale2.isChecked()
    assert "nurse.a" in dialog.previous.text()
    qtbot.mouseClick(dialog.cancel_button, LEFT)
    assert not dialog.isVisible()
    assert len(entries(harness)) == 1  # cancel logs nothing


def test_an_expired_observation_is_not_filled_in(qtbot: QtBot, harness: Harness) -> None:
    harness.engine.set_observation(BED, "P", True, 1, "nurse.a", at=harness.at(-13 * 3600))
    harness.tick(1)
    dialog = open_dialog(qtbot, harness)
    assert dialog.chosen_level() is None
    assert not dialog.on_oxygen.isChecked()
    assert "no longer counts" in dialog.previous.text()


def test_the_form_works_from_the_keyboard(qtbot: QtBot, harness: Harness) -> None:
    dialog = open_dialog(qtbot, harness)
    dialog.activateWindow()
    alert = dialog.consciousness["A"]
    qtbot.waitUntil(alert.hasFocus)
    qtbot.keyClick(alert, QtCore.Qt.Key.Key_Space)
    assert dialog.chosen_level() == "A"
    qtbot.keyClick(alert, QtCore.Qt.Key.Key_Return)  # Enter saves
    assert not dialog.isVisible()
    obs = saved(harness)
    assert obs is not None
    assert obs.consciousness == "A"


def test_text_is_large_enough(qtbot: QtBot, harness: Harness) -> None:
    dialog = open_dialog(qtbot, harness)
    widgets: list[QtWidgets.QWidget] = [
        *dialog.findChildren(QtWidgets.QLabel),
        *dialog.findChildren(QtWidgets.QAbstractButton),
    ]
    assert len(widgets) > 8
    small = [w.objectName() or repr(w) for w in widgets if w.font().pixelSize() < 15]
    assert small == []
