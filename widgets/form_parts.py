"""Parts every validated form shares: the label that lists its problems in words, and the
accept / Cancel buttons (Enter accepts, Esc cancels)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtWidgets


def error_label(accessible_name: str) -> QtWidgets.QLabel:
    """Hidden until there is a problem to list; styled by the theme's ``#errors`` rule."""
    label = QtWidgets.QLabel()
    label.setObjectName("errors")
    label.setWordWrap(True)
    label.setAccessibleName(accessible_name)
    label.hide()
    return label


def accept_cancel(
    dialog: QtWidgets.QDialog, text: str, on_accept: Callable[[], object]
) -> tuple[QtWidgets.QDialogButtonBox, QtWidgets.QPushButton, QtWidgets.QPushButton]:
    """The button box, its accept button (the default one) and its Cancel button."""
    box = QtWidgets.QDialogButtonBox()
    accept = box.addButton(text, QtWidgets.QDialogButtonBox.ButtonRole.AcceptRole)
    cancel = box.addButton(QtWidgets.QDialogButtonBox.StandardButton.Cancel)
    accept.setDefault(True)
    box.accepted.connect(on_accept)
    box.rejected.connect(dialog.reject)
    return box, accept, cancel
