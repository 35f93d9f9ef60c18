"""A bed's alarm limits, edited as one form.

Every row is checked by the domain rules (``parse_limit`` and ``validated``) before anything is
applied. A bad form keeps the dialog open, marks each bad field and lists every problem in
words; only a form with no problem at all changes the engine, one ``set_limits`` per changed
row, each logged with the operator's name.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from PySide6 import QtCore, QtWidgets

from app.alarms.engine import AlarmEngine
from app.alarms.limits import PARAMETERS, LimitError, Limits, Parameter, parse_limit, validated
from widgets import theme
from widgets.form_parts import accept_cancel, error_label

SIDES = ("low", "high", "delay", "extreme_low", "extreme_high")
HEADERS = ("Parameter", "Low", "High", "Delay (s)", "Extreme low", "Extreme high", "Allowed")
SIDE_WORDS = {
    "low": "low limit",
    "high": "high limit",
    "delay": "alarm delay",
    "extreme_low": "extreme low limit",
    "extreme_high": "extreme high limit",
}
# The extreme limits each parameter has, even while one is set to "off".
EXTREMES: dict[str, tuple[str, ...]] = {
    "HR": ("extreme_low", "extreme_high"),
    "SPO2": ("extreme_low",),
}
ACCESSIBLE_EXTRA = {
    ("HR", "extreme_low"): " (extreme brady)",
    ("HR", "extreme_high"): " (extreme tachy)",
    ("SPO2", "extreme_low"): " (desaturation)",
}

STYLE = f"""
QLabel, QLineEdit, QPushButton {{ font-size: 16px; }}
QLabel#hint, QLabel#category {{ color: {theme.TEXT_DIM}; font-size: 15px; }}
QLabel#header {{ font-weight: bold; }}
QLineEdit[invalid="true"] {{ border: 2px solid {theme.FAULT}; }}
QLabel#errors {{ color: {theme.FAULT}; font-size: 16px; font-weight: bold; }}
"""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the form: what to say, and which fields to mark."""

    text: str
    fields: tuple[tuple[str, str], ...]


class LimitsDialog(QtWidgets.QDialog):
    def __init__(
        self,
        engine: AlarmEngine,
        bed: str,
        user: str,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Alarm limits — {bed}")
        self.setModal(True)
        self.setStyleSheet(STYLE)
        self._engine = engine
        self._bed = bed
        self._user = user
        self._initial = engine.limits(bed)
        self._category = engine.category(bed)
        self.fields: dict[tuple[str, str], QtWidgets.QLineEdit] = {}
        self.hints: dict[str, QtWidgets.QLabel] = {}
        layout = QtWidgets.QVBoxLayout(self)
        self.category_label = QtWidgets.QLabel(
            f"{bed} — Defaults: {self._category.value}. Type a number, or “off” for no limit."
        )
        self.category_label.setObjectName("category")
        layout.addWidget(self.category_label)
        grid_holder = QtWidgets.QWidget()
        self._grid = QtWidgets.QGridLayout(grid_holder)  # parented first: tab order = build order
        self._grid.setHorizontalSpacing(10)
        for column, text in enumerate(HEADERS):
            header = QtWidgets.QLabel(text)
            header.setObjectName("header")
            self._grid.addWidget(header, 0, column)
        for row, code in enumerate(self._initial, start=1):
            self._add_row(row, code, self._initial[code])
        layout.addWidget(grid_holder)
        self.errors = error_label("Alarm limit errors")
        layout.addWidget(self.errors)
        self.buttons, self.apply_button, self.cancel_button = accept_cancel(
            self, "Apply", self.try_apply
        )  # Enter in any field applies; Esc cancels
        layout.addWidget(self.buttons)
        self._chain_tab_order()
        first = next(iter(self.fields.values()), None)
        if first is not None:
            first.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)

    # -- building ----------------------------------------------------------------------------

    def _add_row(self, row: int, code: str, limits: Limits) -> None:
        p = PARAMETERS[code]
        name = QtWidgets.QLabel(f"{p.label} ({p.unit})")
        self._grid.addWidget(name, row, 0)
        for side in _sides(code, limits):
            field = QtWidgets.QLineEdit(_shown(p, side, getattr(limits, side)))
            field.setMinimumWidth(80)
            field.setPlaceholderText("s" if side == "delay" else "off")
            extra = ACCESSIBLE_EXTRA.get((code, side), "")
            field.setAccessibleName(f"{p.label} {SIDE_WORDS[side]}{extra}")
            field.setProperty("invalid", False)
            self._grid.addWidget(field, row, 1 + SIDES.index(side))
            self.fields[(code, side)] = field
        hint = QtWidgets.QLabel(_hint(p))
        hint.setObjectName("hint")
        self._grid.addWidget(hint, row, len(HEADERS) - 1)
        self.hints[code] = hint

    def _chain_tab_order(self) -> None:
        """Row by row, left to right, then Apply and Cancel."""
        chain: list[QtWidgets.QWidget] = [*self.fields.values()]
        chain += [self.apply_button, self.cancel_button]
        for before, after in itertools.pairwise(chain):
            QtWidgets.QWidget.setTabOrder(before, after)

    # -- applying ----------------------------------------------------------------------------

    def read(self) -> tuple[dict[str, Limits], list[Problem]]:
        """What the form says, row by row, and every problem with it (empty when valid)."""
        rows: dict[str, Limits] = {}
        problems: list[Problem] = []
        for code in self._initial:
            limits, found = self._read_row(code)
            problems += found
            if limits is not None and not found:
                rows[code] = limits
        return rows, problems

    def try_apply(self) -> bool:
        """Apply every changed row if the whole form is valid; otherwise say why, change
        nothing, and keep the dialog open."""
        rows, problems = self.read()
        if not problems and self._changed_elsewhere():
            text = (
                f"The limits of {self._bed} changed while this dialog was open (another user, "
                "or a new patient). Nothing was applied: cancel and open the limits again."
            )
            problems.append(Problem(text, ()))
        if problems:
            self._show_problems(problems)
            return False
        applied: list[str] = []
        for code, limits in rows.items():
            if limits == self._initial[code]:
                continue
            try:
                self._engine.set_limits(self._bed, code, limits, self._user)
            except ValueError as exc:  # the bed went away, or the rules changed underneath
                done = ", ".join(PARAMETERS[c].label for c in applied) or "none"
                self._show_problems([Problem(f"{exc} (already applied: {done})", ())])
                return False
            applied.append(code)
        self.accept()
        return True

    def _read_row(self, code: str) -> tuple[Limits | None, list[Problem]]:
        p = PARAMETERS[code]
        values: dict[str, float | None] = {}
        problems: list[Problem] = []
        for side in _sides(code, self._initial[code]):
            text = self.fields[(code, side)].text()
            try:
                values[side] = parse_limit(text)
            except LimitError as exc:
                problems.append(Problem(f"{p.label} {SIDE_WORDS[side]}: {exc}", ((code, side),)))
                continue
            if side == "delay" and values[side] is None:
                text = f"{p.label} alarm delay is needed ({_delay_range(p)})"
                problems.append(Problem(text, ((code, side),)))
        if problems:
            return None, problems
        delay = values["delay"]
        if delay is None:  # reported above
            return None, problems
        get = values.get  # a side without a field is None
        limits = Limits(get("low"), get("high"), delay, get("extreme_low"), get("extreme_high"))
        return limits, _row_problems(code, limits)

    def _changed_elsewhere(self) -> bool:
        return (
            self._engine.limits(self._bed) != self._initial
            or self._engine.category(self._bed) != self._category
        )

    def _show_problems(self, problems: list[Problem]) -> None:
        bad = {field for problem in problems for field in problem.fields}
        for key, widget in self.fields.items():
            widget.setProperty("invalid", key in bad)
            widget.style().unpolish(widget)
            widget.style().polish(widget)
        self.errors.setText("\n".join(f"• {problem.text}" for problem in problems))
        self.errors.show()
        first = next((w for key, w in self.fields.items() if key in bad), None)
        if first is not None:
            first.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)


def _sides(code: str, limits: Limits) -> tuple[str, ...]:
    """The fields a parameter's row has: low, high and delay, and the extremes it uses."""
    extremes = set(EXTREMES.get(code, ()))
    extremes |= {s for s in ("extreme_low", "extreme_high") if getattr(limits, s) is not None}
    return ("low", "high", "delay", *(s for s in SIDES[3:] if s in extremes))


def _row_problems(code: str, limits: Limits) -> list[Problem]:
    """Every rule ``limits`` breaks, each with the fields to mark.

    ``validated`` stops at the first broken rule and does not say which field broke it, so
    each value (and then each pair that must be ordered) is checked on its own in a setting
    that is otherwise neutral: nothing else set, no delay. The whole row is checked last, so
    that a rule these checks do not cover still stops the form.
    """
    p = PARAMETERS[code]
    lo_bound, hi_bound = p.bounds
    low, high, ext_low, ext_high = limits.low, limits.high, limits.extreme_low, limits.extreme_high
    alone = {
        "low": Limits(low, None, 0),
        "high": Limits(None, high, 0),
        "extreme_low": Limits(None, hi_bound, 0, extreme_low=ext_low),
        "extreme_high": Limits(lo_bound, None, 0, extreme_high=ext_high),
        "delay": Limits(lo_bound, None, limits.delay),
    }
    problems: list[Problem] = []
    for side, probe in alone.items():
        if side == "delay" or getattr(limits, side) is not None:
            problems += _broken(code, probe, (side,))
    bad = {side for problem in problems for _, side in problem.fields}
    pairs = (
        (("low", "high"), Limits(low, high, 0)),
        (("extreme_low", "low"), Limits(low, None, 0, extreme_low=ext_low)),
        (("extreme_high", "high"), Limits(None, high, 0, extreme_high=ext_high)),
    )
    for sides, probe in pairs:
        both_set = all(getattr(limits, s) is not None for s in sides)
        if both_set and not bad.intersection(sides):
            problems += _broken(code, probe, sides)
    if not problems:
        problems += _broken(code, limits, ("low", "high"))
    return problems


def _broken(code: str, limits: Limits, sides: tuple[str, ...]) -> list[Problem]:
    try:
        validated(code, limits)
    except LimitError as exc:
        return [Problem(str(exc), tuple((code, side) for side in sides))]
    return []


def _shown(p: Parameter, side: str, value: float | None) -> str:
    if value is None:
        return "off"
    if side == "delay":
        return f"{value:g}"
    return f"{value:.{p.decimals}f}"


def _delay_range(p: Parameter) -> str:
    return "0 s only" if p.max_delay == 0 else f"0–{p.max_delay:g} s"


def _hint(p: Parameter) -> str:
    lo, hi = p.bounds
    return f"{lo:g}–{hi:g} {p.unit}; delay {_delay_range(p)}"
