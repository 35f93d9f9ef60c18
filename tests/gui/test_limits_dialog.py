"""The alarm-limits dialog as an operator uses it: every row checked before anything changes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6 import QtCore, QtWidgets
from pytestqt.qtbot import QtBot

from app.alarms.limits import Limits
from app.alarms.log import LogEntry
from app.model.patient import PatientCategory
from tests.unit.alarm_harness import BED, Harness
from widgets.limits_dialog import LimitsDialog

USER = "nurse.k"
LEFT = QtCore.Qt.MouseButton.LeftButton


@pytest.fixture
def harness() -> Iterator[Harness]:
    harness = Harness()
    harness.tick(0)
    yield harness
    harness.close()


def open_dialog(qtbot: QtBot, harness: Harness, user: str = USER) -> LimitsDialog:
    dialog = LimitsDialog(harness.engine, BED, user)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def type_into(qtbot: QtBot, dialog: LimitsDialog, code: str, side: str, text: str) -> None:
    field = dialog.fields[(code, side)]
    field.clear()
    qtbot.keyClicks(field, text)


def apply(qtbot: QtBot, dialog: LimitsDialog) -> None:
    qtbot.mouseClick(dialog.apply_button, LEFT)


def limit_entries(harness: Harness) -> list[LogEntry]:
    return [e for e in harness.engine.log.entries(BED) if e.event == "limits"]


def invalid(dialog: LimitsDialog) -> set[tuple[str, str]]:
    return {key for key, field in dialog.fields.items() if field.property("invalid") is True}


def assert_refused(dialog: LimitsDialog, harness: Harness, before: dict[str, Limits]) -> None:
    assert dialog.isVisible()
    assert dialog.errors.isVisible()
    assert harness.engine.limits(BED) == before
    assert limit_entries(harness) == []


def test_one_row_per_parameter_with_its_fields_category_and_ranges(
    qtbot: QtBot, harness: Harness
) -> None:
    dialog = open_dialog(qtbot, harness)
    limits = harness.engine.limits(BED)
    assert {code for code, _ in dialog.fields} == set(limits)
    assert set(limits) >= {"HR", "PR", "SPO2", "RR", "NIBP_SYS", "NIBP_DIA", "NIBP_MEAN",
                           "TEMP", "PVC"}  # fmt: skip
    assert [s for c, s in dialog.fields if c == "HR"] == [
        "low", "high", "delay", "extreme_low", "extreme_high"
    ]  # fmt: skip
    assert [s for c, s in dialog.fields if c == "SPO2"] == ["low", "high", "delay", "extreme_low"]
    assert [s for c, s in dialog.fields if c == "PR"] == ["low", "high", "delay"]
    texts = {key: field.text() for key, field in dialog.fields.items()}
    assert texts[("HR", "low")] == "50"
    assert texts[("HR", "extreme_high")] == "160"
    assert texts[("SPO2", "high")] == "off"
    assert texts[("SPO2", "extreme_low")] == "80"
    assert texts[("TEMP", "low")] == "35.5"
    assert texts[("PVC", "low")] == "off"
    assert "Defaults: adult" in dialog.category_label.text()
    assert "15–300 bpm" in dialog.hints["HR"].text()
    assert "0–10 s" in dialog.hints["HR"].text()
    assert "25–45 °C" in dialog.hints["TEMP"].text()
    assert "HR (bpm)" in [w.text() for w in dialog.findChildren(QtWidgets.QLabel)]


def test_the_category_of_the_admitted_patient_is_shown(qtbot: QtBot) -> None:
    harness = Harness(category=PatientCategory.PAEDIATRIC)
    try:
        harness.tick(0)
        dialog = open_dialog(qtbot, harness)
        assert "Defaults: paediatric" in dialog.category_label.text()
        assert dialog.fields[("HR", "low")].text() == "75"
    finally:
        harness.close()


def test_valid_edits_are_applied_and_logged_with_the_user(qtbot: QtBot, harness: Harness) -> None:
    before = harness.engine.limits(BED)
    dialog = open_dialog(qtbot, harness)
    type_into(qtbot, dialog, "HR", "low", "45")
    type_into(qtbot, dialog, "SPO2", "delay", "12")
    type_into(qtbot, dialog, "TEMP", "high", "39,0")  # a decimal comma is a number too
    apply(qtbot, dialog)
    assert not dialog.isVisible()
    assert dialog.result() == QtWidgets.QDialog.DialogCode.Accepted
    after = harness.engine.limits(BED)
    assert after["HR"] == Limits(45, 120, 5, extreme_low=40, extreme_high=160)
    assert after["SPO2"] == Limits(90, None, 12, extreme_low=80)
    assert after["TEMP"] == Limits(35.5, 39.0, 10)
    assert {c: v for c, v in after.items() if c not in ("HR", "SPO2", "TEMP")} == {
        c: v for c, v in before.items() if c not in ("HR", "SPO2", "TEMP")
    }
    entries = limit_entries(harness)
    assert sorted(e.code for e in entries) == ["HR", "SPO2", "TEMP"]  # unchanged rows: no entry
    assert {e.user for e in entries} == {USER}


def test_low_not_below_high_is_refused_and_no_row_is_applied(
    qtbot: QtBot, harness: Harness
) -> None:
    before = harness.engine.limits(BED)
    dialog = open_dialog(qtbot, harness)
    type_into(qtbot, dialog, "RR", "high", "35")  # valid on its own: still not applied
    type_into(qtbot, dialog, "HR", "low", "130")
    apply(qtbot, dialog)
    assert_refused(dialog, harness, before)
    assert "HR low limit 130 must be below the high limit 120" in dialog.errors.text()
    assert invalid(dialog) == {("HR", "low"), ("HR", "high")}
    type_into(qtbot, dialog, "HR", "low", "120")  # equal is not below
    apply(qtbot, dialog)
    assert_refused(dialog, harness, before)
    assert "HR low limit 120 must be below the high limit 120" in dialog.errors.text()


def test_a_limit_outside_the_bounds_is_refused_naming_the_bounds(
    qtbot: QtBot, harness: Harness
) -> None:
    before = harness.engine.limits(BED)
    dialog = open_dialog(qtbot, harness)
    type_into(qtbot, dialog, "HR", "high", "400")
    apply(qtbot, dialog)
    assert_refused(dialog, harness, before)
    assert "HR high limit 400 bpm is outside 15-300 bpm" in dialog.errors.text()
    assert invalid(dialog) == {("HR", "high")}


def test_text_that_is_not_a_number_is_refused(qtbot: QtBot, harness: Harness) -> None:
    before = harness.engine.limits(BED)
    dialog = open_dialog(qtbot, harness)
    type_into(qtbot, dialog, "SPO2", "low", "abc")
    apply(qtbot, dialog)
    assert_refused(dialog, harness, before)
    assert "SpO2 low limit: 'abc' is not a number" in dialog.errors.text()
    assert invalid(dialog) == {("SPO2", "low")}


def test_off_switches_one_side_off(qtbot: QtBot, harness: Harness) -> None:
    dialog = open_dialog(qtbot, harness)
    type_into(qtbot, dialog, "RR", "high", "off")
    type_into(qtbot, dialog, "HR", "extreme_high", "Off")
    apply(qtbot, dialog)
    assert not dialog.isVisible()
    limits = harness.engine.limits(BED)
    assert limits["RR"] == Limits(8, None, 10)
    assert limits["HR"] == Limits(50, 120, 5, extreme_low=40, extreme_high=None)


def test_both_sides_off_is_refused(qtbot: QtBot, harness: Harness) -> None:
    before = harness.engine.limits(BED)
    dialog = open_dialog(qtbot, harness)
    type_into(qtbot, dialog, "PR", "low", "off")
    type_into(qtbot, dialog, "PR", "high", "")
    apply(qtbot, dialog)
    assert_refused(dialog, harness, before)
    assert "PR needs a low or a high limit" in dialog.errors.text()
    assert invalid(dialog) == {("PR", "low"), ("PR", "high")}


def test_a_delay_beyond_the_maximum_is_refused(qtbot: QtBot, harness: Harness) -> None:
    before = harness.engine.limits(BED)
    dialog = open_dialog(qtbot, harness)
    type_into(qtbot, dialog, "HR", "delay", "11")
    type_into(qtbot, dialog, "NIBP_SYS", "delay", "1")
    type_into(qtbot, dialog, "RR", "delay", "")
    apply(qtbot, dialog)
    assert_refused(dialog, harness, before)
    text = dialog.errors.text()
    assert "HR alarm delay must be 0-10 s, got 11" in text
    assert "NIBP sys alarms have no delay: each measurement is judged at once" in text
    assert "RR alarm delay is needed (0–30 s)" in text
    assert invalid(dialog) == {("HR", "delay"), ("NIBP_SYS", "delay"), ("RR", "delay")}


def test_an_extreme_limit_inside_the_limit_is_refused(qtbot: QtBot, harness: Harness) -> None:
    before = harness.engine.limits(BED)
    dialog = open_dialog(qtbot, harness)
    type_into(qtbot, dialog, "HR", "extreme_low", "55")
    type_into(qtbot, dialog, "SPO2", "extreme_low", "95")
    apply(qtbot, dialog)
    assert_refused(dialog, harness, before)
    assert "HR extreme low limit must be below the low limit" in dialog.errors.text()
    assert "SpO2 extreme low limit must be below the low limit" in dialog.errors.text()
    assert invalid(dialog) == {("HR", "extreme_low"), ("HR", "low"), ("SPO2", "extreme_low"),
                               ("SPO2", "low")}  # fmt: skip


def test_every_problem_is_listed_and_marked_and_marks_follow_the_form(
    qtbot: QtBot, harness: Harness
) -> None:
    before = harness.engine.limits(BED)
    dialog = open_dialog(qtbot, harness)
    type_into(qtbot, dialog, "HR", "low", "abc")
    type_into(qtbot, dialog, "RR", "high", "999")
    type_into(qtbot, dialog, "TEMP", "delay", "100")
    apply(qtbot, dialog)
    assert_refused(dialog, harness, before)
    lines = dialog.errors.text().splitlines()
    assert len(lines) == 3
    assert all(line.startswith("• ") for line in lines)
    assert invalid(dialog) == {("HR", "low"), ("RR", "high"), ("TEMP", "delay")}
    assert dialog.focusWidget() is dialog.fields[("HR", "low")]
    type_into(qtbot, dialog, "HR", "low", "45")
    type_into(qtbot, dialog, "RR", "high", "35")
    apply(qtbot, dialog)
    assert_refused(dialog, harness, before)
    assert invalid(dialog) == {("TEMP", "delay")}
    assert len(dialog.errors.text().splitlines()) == 1
    type_into(qtbot, dialog, "TEMP", "delay", "20")
    apply(qtbot, dialog)
    assert not dialog.isVisible()
    assert harness.engine.limits(BED)["TEMP"] == Limits(35.5, 38.5, 20)
    assert sorted(e.code for e in limit_entries(harness)) == ["HR", "RR", "TEMP"]


def test_cancel_changes_nothing(qtbot: QtBot, harness: Harness) -> None:
    before = harness.engine.limits(BED)
    dialog = open_dialog(qtbot, harness)
    type_into(qtbot, dialog, "HR", "low", "45")
    qtbot.mouseClick(dialog.cancel_button, LEFT)
    assert not dialog.isVisible()
    assert dialog.result() == QtWidgets.QDialog.DialogCode.Rejected
    assert harness.engine.limits(BED) == before
    assert limit_entries(harness) == []


def test_limits_changed_elsewhere_meanwhile_are_not_overwritten(
    qtbot: QtBot, harness: Harness
) -> None:
    dialog = open_dialog(qtbot, harness)
    harness.engine.set_limits(BED, "HR", Limits(55, 120, 5, 40, 160), "nurse.b")
    type_into(qtbot, dialog, "RR", "high", "35")
    apply(qtbot, dialog)
    assert dialog.isVisible()
    assert "changed while this dialog was open" in dialog.errors.text()
    limits = harness.engine.limits(BED)
    assert limits["HR"].low == 55
    assert limits["RR"].high == 30
    assert [e.user for e in limit_entries(harness)] == ["nurse.b"]


def test_the_form_works_from_the_keyboard(qtbot: QtBot, harness: Harness) -> None:
    dialog = open_dialog(qtbot, harness)
    dialog.activateWindow()
    first = dialog.fields[("HR", "low")]
    qtbot.waitUntil(first.hasFocus)
    first.selectAll()
    qtbot.keyClicks(first, "45")
    qtbot.keyClick(first, QtCore.Qt.Key.Key_Tab)
    high = dialog.fields[("HR", "high")]
    assert high.hasFocus()
    high.selectAll()
    qtbot.keyClicks(high, "130")
    qtbot.keyClick(high, QtCore.Qt.Key.Key_Return)  # Enter applies
    assert not dialog.isVisible()
    assert harness.engine.limits(BED)["HR"] == Limits(45, 130, 5, 40, 160)


def test_text_is_large_enough(qtbot: QtBot, harness: Harness) -> None:
    dialog = open_dialog(qtbot, harness)
    widgets: list[QtWidgets.QWidget] = [
        *dialog.findChildren(QtWidgets.QLabel),
        *dialog.findChildren(QtWidgets.QLineEdit),
        *dialog.findChildren(QtWidgets.QPushButton),
    ]
    assert len(widgets) > 40
    small = [w.objectName() or repr(w) for w in widgets if w.font().pixelSize() < 15]
    assert small == []


def test_an_extreme_limit_switched_off_keeps_its_field(qtbot: QtBot, harness: Harness) -> None:
    harness.engine.set_limits(BED, "HR", Limits(50, 120, 5, extreme_low=None, extreme_high=160),
                              "nurse.b")  # fmt: skip
    harness.engine.set_limits(BED, "SPO2", Limits(90, None, 10), "nurse.b")
    dialog = open_dialog(qtbot, harness)
    assert dialog.fields[("HR", "extreme_low")].text() == "off"
    assert dialog.fields[("SPO2", "extreme_low")].text() == "off"
    type_into(qtbot, dialog, "SPO2", "extreme_low", "82")
    apply(qtbot, dialog)
    assert not dialog.isVisible()
    limits = harness.engine.limits(BED)
    assert limits["SPO2"] == Limits(90, None, 10, extreme_low=82)
    assert limits["HR"] == Limits(50, 120, 5, extreme_low=None, extreme_high=160)
