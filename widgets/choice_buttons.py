"""A row of checkable buttons of which one is chosen (a range, a window length)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6 import QtWidgets


def choice_buttons(
    owner: QtWidgets.QWidget,
    row: QtWidgets.QHBoxLayout,
    values: Iterable[float],
    *,
    text: Callable[[float], str],
    accessible: Callable[[float], str],
    choose: Callable[[float], None],
) -> dict[float, QtWidgets.QPushButton]:
    """Buttons for ``values``, added to ``row``, exclusive; clicking one calls ``choose``."""
    group = QtWidgets.QButtonGroup(owner)
    group.setExclusive(True)
    buttons: dict[float, QtWidgets.QPushButton] = {}
    for value in values:
        button = QtWidgets.QPushButton(text(value))
        button.setCheckable(True)
        button.setAccessibleName(accessible(value))
        button.clicked.connect(lambda _=False, v=value: choose(v))
        group.addButton(button)
        row.addWidget(button)
        buttons[float(value)] = button
    return buttons
