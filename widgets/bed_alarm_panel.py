"""The alarm side of a bed's detail view: its alarms with acknowledge, NEWS2 with the nurse's
entry, the limits editor, ALARM OFF (with confirmation) and ON, and the bed's alarm history."""

from __future__ import annotations

import time

from PySide6 import QtCore, QtWidgets

from app.alarms.catalogue import SWITCHABLE
from app.alarms.engine import AlarmEngine, AlarmError, AlarmSnapshot
from app.alarms.limits import PARAMETERS
from app.alarms.visual import COLOUR, alarm_text
from app.scores.news2 import COMPONENT_LABELS
from widgets import theme
from widgets.alarm_history import AlarmHistory
from widgets.alarm_strip import off_text
from widgets.limits_dialog import LimitsDialog
from widgets.observation_dialog import ObservationDialog

RISK_COLOUR = {"low": theme.OK, "low-medium": "#ffd21f", "medium": "#ff9f1a", "high": "#ff1f1f"}
SWITCHABLE_NAMES = {**{code: p.label for code, p in PARAMETERS.items()},
                    "PAUSE": "Pause", "AF": "AF onset", "NEWS2": "NEWS2"}  # fmt: skip


class BedAlarmPanel(QtWidgets.QWidget):
    def __init__(
        self,
        engine: AlarmEngine,
        bed: str,
        user: str,
        *,
        kiosk: bool,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.engine = engine
        self.bed = bed
        self.user = user
        column = QtWidgets.QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        self.news2 = QtWidgets.QLabel()
        self.news2.setWordWrap(True)
        self.news2.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.news2.setStyleSheet("font-size: 15px;")
        self.news2_total = QtWidgets.QLabel()
        self.news2_total.setStyleSheet("font-size: 26px; font-weight: bold;")
        column.addWidget(self.news2_total)
        column.addWidget(self.news2)
        self.alarms = QtWidgets.QListWidget()
        self.alarms.setAccessibleName("bed alarms")
        self.alarms.setMaximumHeight(120)
        self.alarms.setStyleSheet("font-size: 15px;")
        column.addWidget(QtWidgets.QLabel("Alarms"))
        column.addWidget(self.alarms)
        self.off = QtWidgets.QLabel()
        self.off.setStyleSheet("background: #4a4f55; font-weight: bold; padding: 3px;")
        column.addWidget(self.off)
        buttons = QtWidgets.QGridLayout()
        self.ack_button = QtWidgets.QPushButton("Acknowledge")
        self.ack_button.clicked.connect(lambda: self.engine.acknowledge_all(self.user, self.bed))
        self.limits_button = QtWidgets.QPushButton("Alarm limits…")
        self.limits_button.clicked.connect(self.open_limits)
        self.off_button = QtWidgets.QPushButton("Alarm off…")
        self.off_button.clicked.connect(self.ask_alarm_off)
        self.on_button = QtWidgets.QPushButton("Alarms on")
        self.on_button.clicked.connect(self.alarms_on)
        self.observation_button = QtWidgets.QPushButton("NEWS2 observation…")
        self.observation_button.clicked.connect(self.open_observation)
        order = (self.ack_button, self.observation_button, self.limits_button,
                 self.off_button, self.on_button)  # fmt: skip
        for i, button in enumerate(order):
            buttons.addWidget(button, i // 2, i % 2)
        for button in (self.limits_button, self.off_button, self.on_button):
            button.setVisible(not kiosk)  # settings are not a demo's to change
        column.addLayout(buttons)
        column.addWidget(QtWidgets.QLabel("Alarm history"))
        self.history = AlarmHistory(engine.log, bed)
        column.addWidget(self.history, 1)
        self.dialog: QtWidgets.QDialog | None = None

    def show_snapshot(self, snapshot: AlarmSnapshot, now: float) -> None:
        alarms = snapshot.for_bed(self.bed)
        texts = [alarm_text(a, now) for a in alarms] or ["No alarms"]
        if [self.alarms.item(i).text() for i in range(self.alarms.count())] != texts:
            self.alarms.clear()
            self.alarms.addItems(texts)
            for i, alarm in enumerate(alarms):
                self.alarms.item(i).setForeground(theme.colour(COLOUR[alarm.priority]))
        self.ack_button.setEnabled(any(not a.acknowledged for a in alarms))
        offs = snapshot.off_for_bed(self.bed)
        self.off.setText(off_text(offs))
        self.off.setVisible(bool(offs))
        self.on_button.setEnabled(bool(offs))
        self._show_news2(snapshot)
        self.history.refresh()

    def _show_news2(self, snapshot: AlarmSnapshot) -> None:
        score = snapshot.news2.get(self.bed)
        result = score.result if score else None
        obs = score.observation if score else None
        if result is None or result.total is None:
            self.news2_total.setText("NEWS2  ---")
            self.news2_total.setStyleSheet("font-size: 26px; font-weight: bold;")
            reason = result.reason if result else "not computed yet"
            lines = [reason]
        else:
            risk = result.risk or ""
            self.news2_total.setText(f"NEWS2  {result.total}  {risk.upper()} RISK")
            colour = RISK_COLOUR.get(risk, theme.TEXT)
            self.news2_total.setStyleSheet(f"font-size: 26px; font-weight: bold; color: {colour};")
            points = ", ".join(f"{COMPONENT_LABELS.get(k, k)} {v}"
                               for k, v in result.components.items() if v)  # fmt: skip
            lines = [result.response, f"Points: {points or 'none'}"]
        if obs is not None:
            when = time.strftime("%H:%M", time.localtime(obs.entered_at))
            air = "on oxygen" if obs.on_oxygen else "on air"
            lines.append(f"Nurse: ACVPU {obs.consciousness}, {air}, SpO2 scale "
                         f"{obs.spo2_scale} ({obs.entered_by}, {when})")  # fmt: skip
        else:
            lines.append("Nurse: no observation entered")
        text = "\n".join(lines)
        if self.news2.text() != text:
            self.news2.setText(text)

    def open_limits(self) -> QtWidgets.QDialog:
        self.dialog = LimitsDialog(self.engine, self.bed, self.user, self)
        self.dialog.open()
        return self.dialog

    def open_observation(self) -> QtWidgets.QDialog:
        self.dialog = ObservationDialog(self.engine, self.bed, self.user, self)
        self.dialog.open()
        return self.dialog

    def ask_alarm_off(self) -> None:
        names = [f"{SWITCHABLE_NAMES[c]} ({c})" for c in (*PARAMETERS, *SWITCHABLE)]
        choice, ok = QtWidgets.QInputDialog.getItem(
            self, "Alarm off", "Switch off the alarms of:", names, 0, False
        )
        if ok:
            self.confirm_alarm_off(choice.rsplit("(", 1)[1].rstrip(")"))

    def confirm_alarm_off(self, parameter: str) -> bool:
        """Ask, in words, before switching a parameter's alarms off; True when done."""
        name = SWITCHABLE_NAMES.get(parameter, parameter)
        answer = QtWidgets.QMessageBox.warning(
            self,
            "Switch alarms off",
            f"Switch OFF all {name} alarms for {self.bed}?\n\nNo {name} alarm will sound "
            "until they are switched back on. The bed will show ALARM OFF and the station "
            "will remind you every 2 minutes.",
            QtWidgets.QMessageBox.StandardButton.Yes | QtWidgets.QMessageBox.StandardButton.No,
            QtWidgets.QMessageBox.StandardButton.No,
        )
        if answer != QtWidgets.QMessageBox.StandardButton.Yes:
            return False
        try:
            self.engine.switch_off(self.bed, parameter, self.user, confirmed=True)
        except AlarmError as exc:
            QtWidgets.QMessageBox.critical(self, "Alarm off", str(exc))
            return False
        return True

    def alarms_on(self) -> None:
        for off in self.engine.snapshot().off_for_bed(self.bed):
            self.engine.switch_on(self.bed, off.parameter, self.user)
