"""A large numeric readout: label and unit on top, the value, and a note (reason or age).

Painted directly (no layout of labels) and repainted only when its text changes.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from app.presentation import NumericState, NumericText
from widgets import theme

_STATE_NOTE_COLOURS = {
    NumericState.STALE: theme.WARNING,
    NumericState.QUESTIONABLE: theme.WARNING,
    NumericState.NO_VALUE: theme.TEXT_DIM,
    NumericState.LIVE: theme.TEXT_DIM,
}


class NumericBox(QtWidgets.QWidget):
    def __init__(
        self,
        label: str,
        unit: str,
        colour: str,
        *,
        value_px: int,
        label_px: int,
        condensed: bool = False,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.label = label
        self.unit = unit
        self._colour = QtGui.QColor(colour)
        self._value_font = theme.font(value_px, bold=True, condensed=condensed)
        self._label_font = theme.font(label_px, bold=True)
        self._note_font = theme.font(max(10, round(label_px * 0.9)))
        self._text = NumericText("---", NumericState.NO_VALUE, "no data")
        self.setMinimumHeight(self._label_line() + self.value_height() + 4)

    @property
    def text(self) -> NumericText:
        return self._text

    def set_text(self, text: NumericText) -> None:
        if text != self._text:
            self._text = text
            self.update()

    def value_height(self) -> int:
        """Height in pixels of the digits as drawn (what a reader at 2 m sees)."""
        metrics = QtGui.QFontMetrics(self._value_font)
        return metrics.tightBoundingRect("0123456789").height()

    def value_font(self) -> QtGui.QFont:
        return self._value_font

    def _label_line(self) -> int:
        return QtGui.QFontMetrics(self._label_font).height()

    def sizeHint(self) -> QtCore.QSize:
        width = QtGui.QFontMetrics(self._value_font).horizontalAdvance("888/888")
        return QtCore.QSize(width // 2, self._label_line() * 2 + self.value_height())

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        rect = self.rect()
        painter.fillRect(rect, QtGui.QColor(theme.TILE))
        state = self._text.state
        colour = QtGui.QColor(theme.STALE) if state is NumericState.STALE else self._colour
        if state is NumericState.NO_VALUE:
            colour = colour.darker(160)
        line = self._label_line()
        painter.setFont(self._label_font)
        painter.setPen(self._colour)
        inner = rect.adjusted(4, 1, -4, -1)
        painter.drawText(inner, QtCore.Qt.AlignmentFlag.AlignLeft, self.label)
        label_w = QtGui.QFontMetrics(self._label_font).horizontalAdvance(self.label + "  ")
        painter.setPen(QtGui.QColor(theme.TEXT_DIM))
        painter.setFont(self._note_font)
        painter.drawText(
            inner.adjusted(label_w, 0, 0, 0), QtCore.Qt.AlignmentFlag.AlignLeft, self.unit
        )
        note_h = QtGui.QFontMetrics(self._note_font).height() if self._text.note else 0
        value_rect = inner.adjusted(0, line, 0, -note_h)
        painter.setFont(self._value_font)
        painter.setPen(colour)
        painter.drawText(
            value_rect,
            QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter,
            self._text.value,
        )
        if self._text.note:
            painter.setFont(self._note_font)
            painter.setPen(QtGui.QColor(_STATE_NOTE_COLOURS[state]))
            painter.drawText(
                inner, QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignBottom,
                self._text.note,
            )  # fmt: skip
        painter.end()
