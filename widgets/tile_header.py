"""A bed's header line: bed label, patient, SIMULATED (or REPLAY) tag, connection and battery.

Painted directly and repainted only when its text changes.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from app.presentation import HeaderText
from widgets import theme

_VCENTER = QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter
ALARM_OFF_BACKGROUND = "#5a6068"


class TileHeader(QtWidgets.QWidget):
    """Bed label, patient, SIMULATED tag, connection and battery: painted, repainted on change."""

    def __init__(self, bed_label: str, px: int, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._bold = theme.font(px, bold=True)
        self._plain = theme.font(px)
        self._small = theme.font(max(10, px - 3), bold=True)
        self.setFixedHeight(QtGui.QFontMetrics(self._bold).height() + 6)
        self.bed_label = bed_label
        self.patient = ""
        self.simulated = False
        self.tag = ""
        self.connection = ("", True)
        self.battery = ""
        self.alarm_off = ""  # the persistent ALARM OFF indicator, e.g. "ALARM OFF: SpO2"

    def set_state(self, patient: str, header: HeaderText) -> None:
        connection = (header.connection.text, header.connection.ok)
        state = (patient, header.simulated, header.tag, connection, header.battery)
        if state != (self.patient, self.simulated, self.tag, self.connection, self.battery):
            self.patient, self.simulated, self.tag, self.connection, self.battery = state
            self.update()

    def set_alarm_off(self, text: str) -> None:
        if text != self.alarm_off:
            self.alarm_off = text
            self.update()

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        p = QtGui.QPainter(self)
        r = self.rect()
        p.fillRect(r, QtGui.QColor("#11171d"))
        x = 6
        x = self._text(p, x, self.bed_label, self._bold, theme.TEXT) + 12
        if self.alarm_off:
            x = self._badge(p, x, self.alarm_off) + 12
        right = r.width() - 6
        right = self._text_right(p, right, self.battery, self._small, theme.TEXT_DIM)
        text, ok = self.connection
        right = self._text_right(p, right - 12, text, self._small, theme.OK if ok else theme.FAULT)
        if self.simulated:
            right = self._tag(p, right - 12, self.tag)
        p.setFont(self._plain)
        p.setPen(QtGui.QColor(theme.TEXT))
        elided = QtGui.QFontMetrics(self._plain).elidedText(
            self.patient, QtCore.Qt.TextElideMode.ElideRight, max(0, right - 12 - x)
        )
        p.drawText(QtCore.QRect(x, 0, right - x, r.height()), _VCENTER, elided)
        p.end()

    def _text(self, p: QtGui.QPainter, x: int, text: str, f: QtGui.QFont, colour: str) -> int:
        p.setFont(f)
        p.setPen(QtGui.QColor(colour))
        w = QtGui.QFontMetrics(f).horizontalAdvance(text)
        p.drawText(QtCore.QRect(x, 0, w + 2, self.height()), _VCENTER, text)
        return x + w

    def _text_right(
        self, p: QtGui.QPainter, right: int, text: str, f: QtGui.QFont, colour: str
    ) -> int:
        w = QtGui.QFontMetrics(f).horizontalAdvance(text)
        self._text(p, right - w, text, f, colour)
        return right - w

    def _badge(self, p: QtGui.QPainter, x: int, text: str) -> int:
        """A grey box with white text: a state that persists until someone ends it."""
        w = QtGui.QFontMetrics(self._small).horizontalAdvance(text) + 10
        rect = QtCore.QRect(x, 3, w, self.height() - 6)
        p.fillRect(rect, QtGui.QColor(ALARM_OFF_BACKGROUND))
        p.setFont(self._small)
        p.setPen(QtGui.QColor("#ffffff"))
        p.drawText(rect, QtCore.Qt.AlignmentFlag.AlignCenter, text)
        return rect.right()

    def _tag(self, p: QtGui.QPainter, right: int, text: str) -> int:
        w = QtGui.QFontMetrics(self._small).horizontalAdvance(text) + 10
        rect = QtCore.QRect(right - w, 3, w, self.height() - 6)
        p.fillRect(rect, QtGui.QColor(theme.SIMULATED_TAG))
        p.setFont(self._small)
        p.setPen(QtGui.QColor("#000000"))
        p.drawText(rect, QtCore.Qt.AlignmentFlag.AlignCenter, text)
        return rect.left()
