"""A large numeric readout: label and unit on top, the value, and a note (reason or age).

Painted directly and repainted only when its text changes. The value's font is the largest,
up to the configured size, at which the widest value it must show fits the box, so a
three-digit heart rate is never clipped in a narrow tile.
"""

from __future__ import annotations

import functools

from PySide6 import QtCore, QtGui, QtWidgets

from app.presentation import NumericState, NumericText
from widgets import theme

_STATE_NOTE_COLOURS = {
    NumericState.STALE: theme.WARNING,
    NumericState.QUESTIONABLE: theme.WARNING,
    NumericState.NO_VALUE: theme.TEXT_DIM,
    NumericState.LIVE: theme.TEXT_DIM,
}
MIN_VALUE_PX = 12
DIGITS = "0123456789"


@functools.lru_cache(maxsize=512)
def _metrics(pixel_size: int, condensed: bool) -> tuple[QtGui.QFont, int]:
    """(font, height of its digits) for a bold value font of that size."""
    f = theme.font(pixel_size, bold=True, condensed=condensed)
    return f, QtGui.QFontMetrics(f).tightBoundingRect(DIGITS).height()


class NumericBox(QtWidgets.QWidget):
    def __init__(
        self,
        label: str,
        unit: str,
        colour: str,
        *,
        value_px: int,
        label_px: int,
        widest: str = "888",
        condensed: bool = False,
        note_inline: bool = False,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.label = label
        self.unit = unit
        self._colour = QtGui.QColor(colour)
        self._max_value_px = value_px
        self._widest = widest
        self._condensed = condensed
        self._note_inline = note_inline  # in short boxes the note shares the label's line
        self._label_font = theme.font(label_px, bold=True)
        self._note_font = theme.font(max(10, round(label_px * 0.9)))
        self._value_font = theme.font(value_px, bold=True, condensed=condensed)
        self._text = NumericText("---", NumericState.NO_VALUE, "no data")
        self.setMinimumHeight(self._label_line() + self._note_line() + 16)
        self.setMinimumWidth(QtGui.QFontMetrics(self._label_font).horizontalAdvance(label) + 8)

    @property
    def text(self) -> NumericText:
        return self._text

    def set_text(self, text: NumericText) -> None:
        if text != self._text:
            self._text = text
            self.update()

    def value_height(self) -> int:
        """Height in pixels of the digits as drawn (what a reader at 2 m sees)."""
        return QtGui.QFontMetrics(self._value_font).tightBoundingRect(DIGITS).height()

    def _label_line(self) -> int:
        return QtGui.QFontMetrics(self._label_font).height()

    def _note_line(self) -> int:
        return 0 if self._note_inline else QtGui.QFontMetrics(self._note_font).height()

    def sizeHint(self) -> QtCore.QSize:
        f, digit_h = _metrics(self._max_value_px, self._condensed)
        width = QtGui.QFontMetrics(f).horizontalAdvance(self._widest) + 10
        return QtCore.QSize(width, self._label_line() + self._note_line() + digit_h + 8)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        width = self.width() - 10
        height = self.height() - self._label_line() - self._note_line() - 4
        for px in range(self._max_value_px, MIN_VALUE_PX - 1, -1):
            f, digit_h = _metrics(px, self._condensed)
            fits_width = QtGui.QFontMetrics(f).horizontalAdvance(self._widest) <= width
            if fits_width and digit_h <= height:
                break
        self._value_font = f

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        rect = self.rect()
        painter.fillRect(rect, QtGui.QColor(theme.TILE))
        state = self._text.state
        colour = QtGui.QColor(theme.STALE) if state is NumericState.STALE else self._colour
        if state is NumericState.NO_VALUE:
            colour = colour.darker(160)
        inner = rect.adjusted(4, 1, -4, -1)
        self._draw_heading(painter, inner)
        value_rect = inner.adjusted(0, self._label_line(), 0, -self._note_line())
        painter.setFont(self._value_font)
        painter.setPen(colour)
        painter.drawText(
            value_rect,
            QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter,
            self._text.value,
        )
        if self._text.note and not self._note_inline:
            self._draw_note(painter, inner, inner.width(), QtCore.Qt.AlignmentFlag.AlignBottom)
        painter.end()

    def _draw_note(
        self, painter: QtGui.QPainter, rect: QtCore.QRect, room: int, edge: QtCore.Qt.AlignmentFlag
    ) -> None:
        painter.setFont(self._note_font)
        painter.setPen(QtGui.QColor(_STATE_NOTE_COLOURS[self._text.state]))
        note = QtGui.QFontMetrics(self._note_font).elidedText(
            self._text.note, QtCore.Qt.TextElideMode.ElideRight, max(0, room)
        )
        painter.drawText(rect, QtCore.Qt.AlignmentFlag.AlignRight | edge, note)

    def _draw_heading(self, painter: QtGui.QPainter, inner: QtCore.QRect) -> None:
        painter.setFont(self._label_font)
        painter.setPen(self._colour)
        painter.drawText(inner, QtCore.Qt.AlignmentFlag.AlignLeft, self.label)
        label_w = QtGui.QFontMetrics(self._label_font).horizontalAdvance(self.label + " ")
        note_metrics = QtGui.QFontMetrics(self._note_font)
        room = inner.width() - label_w
        if self._note_inline and self._text.note:
            note_w = min(note_metrics.horizontalAdvance(self._text.note), room * 2 // 3)
            self._draw_note(painter, inner, note_w, QtCore.Qt.AlignmentFlag.AlignTop)
            room -= note_w + 4
        unit = note_metrics.elidedText(self.unit, QtCore.Qt.TextElideMode.ElideRight, max(0, room))
        painter.setPen(QtGui.QColor(theme.TEXT_DIM))
        painter.setFont(self._note_font)
        painter.drawText(inner.adjusted(label_w, 0, 0, 0), QtCore.Qt.AlignmentFlag.AlignLeft, unit)
