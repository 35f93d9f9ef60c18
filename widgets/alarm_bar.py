"""The station-wide alarm bar under the top bar: every alarm in force, most urgent first, and
the station's audio controls and states.

- Up to ``MAX_CHIPS`` alarms as flashing chips (click one to open its bed), then "+N more".
- AUDIO PAUSED with the time left, or AUDIO UNAVAILABLE with the reason: never a silent mute.
- ALARM SYSTEM FAILURE in red when the alarm engine's tick fails.
- Pause audio / Resume audio, Acknowledge all, and the station's alarm history.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from app.alarms.engine import AlarmEngine, AlarmSnapshot
from app.alarms.visual import elapsed_text
from widgets import theme
from widgets.alarm_history import HistoryDialog
from widgets.alarm_strip import AlarmStrip

MAX_CHIPS = 4


def _indicator(background: str) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel()
    label.setStyleSheet(
        f"background: {background}; color: #000; font-weight: bold; font-size: 15px;"
        " padding: 3px 8px; border-radius: 3px;"
    )
    label.hide()
    return label


class AlarmBar(QtWidgets.QWidget):
    bed_requested = QtCore.Signal(str)
    moment_requested = QtCore.Signal(str, float)  # a bed, and a moment to review

    def __init__(
        self, engine: AlarmEngine, user: str, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.engine = engine
        self.user = user
        self.setFixedHeight(40)
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(6, 2, 6, 2)
        row.setSpacing(6)
        self.chips: list[AlarmStrip] = []
        for _ in range(MAX_CHIPS):
            chip = AlarmStrip(16, self)
            chip.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
            chip.hide()
            chip.clicked.connect(lambda chip=chip: self._open_bed(chip))
            # A chip takes its text's width when there is room, and shrinks (clipping the
            # end of its text) when there is not: it never makes the window wider. The start
            # of the text (priority, bed, alarm) is what counts.
            chip.setSizePolicy(
                QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Fixed
            )
            chip.setMinimumWidth(120)
            self.chips.append(chip)
            row.addWidget(chip)
        self.more = QtWidgets.QLabel()
        self.more.setStyleSheet("font-size: 15px; font-weight: bold;")
        row.addWidget(self.more)
        self.none = QtWidgets.QLabel("No alarms")
        self.none.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 15px;")
        row.addWidget(self.none)
        row.addStretch(1)
        self.failure = _indicator(theme.FAULT)
        self.audio_state = _indicator(theme.WARNING)
        self.unavailable = _indicator(theme.FAULT)
        for w in (self.failure, self.audio_state, self.unavailable):
            row.addWidget(w)
        self.pause_button = QtWidgets.QPushButton("Pause audio")
        self.pause_button.clicked.connect(self._toggle_pause)
        self.ack_button = QtWidgets.QPushButton("Acknowledge all")
        self.ack_button.clicked.connect(lambda: self.engine.acknowledge_all(self.user))
        self.history_button = QtWidgets.QPushButton("Alarm history")
        self.history_button.clicked.connect(self.open_history)
        for button in (self.pause_button, self.ack_button, self.history_button):
            row.addWidget(button)
        self._beds: dict[int, str] = {}
        self.history: HistoryDialog | None = None
        self._paused = False

    def show_snapshot(
        self, snapshot: AlarmSnapshot, now: float, audio_problem: str, failure: str | None
    ) -> None:
        """A few times a second: alarms, audio state, engine failure."""
        alarms = snapshot.alarms
        for index, chip in enumerate(self.chips):
            if index < len(alarms):
                chip.show_one(alarms[index], now)
                self._beds[id(chip)] = alarms[index].bed
                chip.show()
            else:
                chip.hide()
        extra = len(alarms) - MAX_CHIPS
        self.more.setText(f"+{extra} more" if extra > 0 else "")
        self.none.setVisible(not alarms)
        self._paused = snapshot.audio_paused_until is not None
        if self._paused and snapshot.audio_paused_until is not None:
            left = snapshot.audio_paused_until - snapshot.time
            self.audio_state.setText(f"AUDIO PAUSED {elapsed_text(left)}")
        self.audio_state.setVisible(self._paused)
        self.pause_button.setText("Resume audio" if self._paused else "Pause audio")
        self.unavailable.setText(f"AUDIO UNAVAILABLE: {audio_problem}")
        self.unavailable.setVisible(bool(audio_problem))
        self.failure.setText(f"ALARM SYSTEM FAILURE: {failure}" if failure else "")
        self.failure.setVisible(bool(failure))
        self.ack_button.setEnabled(any(not a.acknowledged for a in alarms))

    def flash(self, now: float) -> None:
        for chip in self.chips:
            if chip.isVisible():
                chip.flash(now)

    def _toggle_pause(self) -> None:
        if self._paused:
            self.engine.resume_audio(self.user)
        else:
            self.engine.pause_audio(self.user)

    def _open_bed(self, chip: AlarmStrip) -> None:
        bed = self._beds.get(id(chip), "")
        if bed:
            self.bed_requested.emit(bed)

    def open_history(self) -> HistoryDialog:
        if self.history is None:
            self.history = HistoryDialog(self.engine.log, None, self)
            self.history.table.moment_requested.connect(self.moment_requested)
        self.history.table.refresh()
        self.history.show()
        return self.history
