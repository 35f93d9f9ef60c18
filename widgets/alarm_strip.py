"""One bed's alarm line: its most urgent alarm in the priority's colour, flashing the IEC way,
how many more there are, and any ALARM OFF it is under (a persistent indicator)."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from app.alarms.board import AlarmState
from app.alarms.engine import AlarmOff
from app.alarms.limits import PARAMETERS
from app.alarms.priority import Priority
from app.alarms.visual import COLOUR, DIM, TEXT_ON, alarm_text, lit
from widgets import theme

OFF_BACKGROUND = "#5a6068"


def off_text(offs: tuple[AlarmOff, ...]) -> str:
    names = ", ".join(PARAMETERS[o.parameter].label if o.parameter in PARAMETERS
                      else o.parameter for o in offs)  # fmt: skip
    return f"ALARM OFF: {names}" if offs else ""


class AlarmStrip(QtWidgets.QLabel):
    clicked = QtCore.Signal()

    def __init__(self, font_px: int, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFont(theme.font(font_px, bold=True))
        self.setFixedHeight(round(font_px * 1.5))
        self.setAutoFillBackground(True)
        self.setContentsMargins(6, 0, 6, 0)
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignVCenter | QtCore.Qt.AlignmentFlag.AlignLeft)
        self.setAccessibleName("alarms")
        self.priority: Priority | None = None  # of the alarm shown
        self.lit = False
        self._off = False
        self._paint(theme.TILE, theme.TEXT)

    def show_alarms(
        self,
        alarms: tuple[AlarmState, ...],
        offs: tuple[AlarmOff, ...],
        now: float,
        label: str = "",
    ) -> None:
        """The bed's alarms (most urgent first) and ALARM OFF states, after ``label`` (the
        bed, where the line covers the bed's header); a few times a second."""
        parts = []
        if alarms:
            parts.append(alarm_text(alarms[0], now))
            if len(alarms) > 1:
                parts.append(f"+{len(alarms) - 1} more")
        if offs:
            parts.append(off_text(offs))
        text = "   ·   ".join(parts)
        if label:
            text = f"{label}  {text}"
        if text != self.text():
            self.setText(text)
        self.priority = alarms[0].priority if alarms else None
        self._off = bool(offs)
        self.flash(now, force=True)

    def show_one(self, alarm: AlarmState, now: float) -> None:
        """One alarm of the station-wide bar, with its bed."""
        text = alarm_text(alarm, now, with_bed=True)
        if text != self.text():
            self.setText(text)
        self.priority = alarm.priority
        self._off = False
        self.flash(now, force=True)

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        self.clicked.emit()
        event.ignore()  # a tile under the strip still gets its click

    def flash(self, now: float, force: bool = False) -> None:
        """Every frame: the colour of the flash phase, repainted only when it changes."""
        on = self.priority is not None and lit(self.priority, now)
        if on == self.lit and not force:
            return
        self.lit = on
        if self.priority is None:
            background = OFF_BACKGROUND if self._off else theme.TILE
            self._paint(background, theme.TEXT)
        elif on:
            self._paint(COLOUR[self.priority], TEXT_ON[self.priority])
        else:
            self._paint(DIM, COLOUR[self.priority])

    def _paint(self, background: str, text: str) -> None:
        palette = self.palette()
        palette.setColor(QtGui.QPalette.ColorRole.Window, QtGui.QColor(background))
        palette.setColor(QtGui.QPalette.ColorRole.WindowText, QtGui.QColor(text))
        self.setPalette(palette)

    @property
    def background(self) -> str:
        return self.palette().color(QtGui.QPalette.ColorRole.Window).name()
