"""One bed, large: all waveforms, ECG gain and sweep speed, every numeric, the device's state,
and the way back to the ward grid (button or Esc)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from app.alarms.engine import AlarmEngine, AlarmSnapshot
from app.model.ward import Bed, Ward
from app.presentation import (
    link_of,
    nibp_measuring_since,
    patient_text,
    present_header,
    source_tag,
    trace_messages,
)
from widgets import theme
from widgets.admit_dialog import AdmitDialog
from widgets.alarm_strip import AlarmStrip
from widgets.bed_alarm_panel import BedAlarmPanel
from widgets.bed_numerics import BedNumerics
from widgets.ehr_lookup import Search
from widgets.review_dialog import ReviewDialog
from widgets.tile_header import TileHeader
from widgets.waveform_panel import WaveformPanel

GAINS = (0.5, 1.0, 2.0)
SPEEDS_MM_S = (12.5, 25.0, 50.0)
DETAIL_CODES = ("HR", "SPO2", "PR", "NIBP_SYS", "RR", "TEMP", "PVC")


class BedDetail(QtWidgets.QWidget):
    back_requested = QtCore.Signal()

    def __init__(
        self,
        ward: Ward,
        bed: Bed,
        index: int,
        *,
        kiosk: bool,
        px_per_mm: float,
        alarms: AlarmEngine | None = None,
        user: str = "",
        record: Path | None = None,
        search: Search | None = None,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.record = record
        self.search = search  # the EHR's patient search, for the admit dialog
        self.review: ReviewDialog | None = None
        self.ward = ward
        self.bed = bed
        self.index = index
        self.kiosk = kiosk
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(self._toolbar())
        self.header = TileHeader(bed.label, 20)
        layout.addWidget(self.header)
        self.alarm_strip = AlarmStrip(20, self)
        layout.addWidget(self.alarm_strip)
        body = QtWidgets.QHBoxLayout()
        layout.addLayout(body, 1)
        self.panel: WaveformPanel | None = None
        monitor = bed.monitor
        if monitor is not None:
            keys = [spec.key for spec in monitor.description.channels]
            self.panel = WaveformPanel(
                monitor,
                keys,
                label_px=15,
                px_per_mm=px_per_mm,
                mark_px=17,
                mark_sources=[m for m in bed.mark_sources if m.channel in keys],
            )
            body.addWidget(self.panel, 3)
        side = QtWidgets.QVBoxLayout()
        body.addLayout(side, 1)
        self.numerics = BedNumerics(bed)
        for code in DETAIL_CODES:
            big = code in ("HR", "SPO2")
            box = self.numerics.make_box(code, 84 if big else 44, 16, self)
            if box is not None:
                side.addWidget(box, 3 if big else 2)
        self.device_info = QtWidgets.QLabel()
        self.device_info.setWordWrap(True)
        self.device_info.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 13px;")
        side.addWidget(self.device_info)
        self.alarm_panel: BedAlarmPanel | None = None
        if alarms is not None:
            self.alarm_panel = BedAlarmPanel(alarms, bed.label, user, kiosk=kiosk)
            self.alarm_panel.history.moment_requested.connect(self._review_at)
            body.addWidget(self.alarm_panel, 1)
        bed.patient_changed.connect(self._on_patient_changed)
        self._disposed = False
        self.refresh(time.time())

    def _toolbar(self) -> QtWidgets.QHBoxLayout:
        bar = QtWidgets.QHBoxLayout()
        self.back_button = QtWidgets.QPushButton("◀  Ward overview")
        self.back_button.setShortcut(QtGui.QKeySequence(QtCore.Qt.Key.Key_Escape))
        self.back_button.clicked.connect(self.back_requested)
        bar.addWidget(self.back_button)
        bar.addSpacing(20)
        self.gain = _choice(bar, "ECG gain", GAINS, "×{:g}", 1.0)
        self.gain.currentIndexChanged.connect(self._on_gain)
        bar.addSpacing(12)
        self.speed = _choice(bar, "Sweep", SPEEDS_MM_S, "{:g} mm/s", 25.0)
        self.speed.currentIndexChanged.connect(self._on_speed)
        bar.addStretch(1)
        self.review_button = QtWidgets.QPushButton("Trends & review…")
        self.review_button.clicked.connect(self.open_review)
        self.review_button.setEnabled(self.record is not None)
        self.review_button.setToolTip("" if self.record else "no record: start with --db")
        bar.addWidget(self.review_button)
        self.nibp_button = QtWidgets.QPushButton("Start NIBP")
        self.nibp_button.clicked.connect(self._start_nibp)
        monitor = self.bed.monitor
        self.nibp_button.setEnabled(monitor is not None and monitor.can_start_nibp())
        bar.addWidget(self.nibp_button)
        self.admit_button = QtWidgets.QPushButton("Admit…")
        self.admit_button.clicked.connect(self.open_admit_dialog)
        self.discharge_button = QtWidgets.QPushButton("Discharge…")
        self.discharge_button.clicked.connect(self.confirm_discharge)
        for button in (self.admit_button, self.discharge_button):
            button.setVisible(not self.kiosk)  # kiosk mode has no admin actions
            bar.addWidget(button)
        self._update_admin_buttons()
        return bar

    def _on_gain(self) -> None:
        if self.panel is not None:
            self.panel.set_ecg_gain(float(self.gain.currentData()))

    def _on_speed(self) -> None:
        if self.panel is not None:
            self.panel.set_speed_mm_s(float(self.speed.currentData()))

    def _start_nibp(self) -> None:
        monitor = self.bed.monitor
        if monitor is not None:
            monitor.request_nibp()

    def open_review(self) -> ReviewDialog | None:
        """Trends and full disclosure of this bed from the record (live: up to now)."""
        if self.record is None:
            return None
        self.review = ReviewDialog(self.record, self.bed.label, self, live=True)
        self.review.open()
        return self.review

    def _review_at(self, _bed: str, t: float) -> None:
        self.review_at(t)

    def review_at(self, t: float) -> ReviewDialog | None:
        """The review, on full disclosure at ``t`` (an alarm history entry's moment)."""
        review = self.open_review()
        if review is not None:
            review.jump_to(t)
        return review

    def open_admit_dialog(self) -> AdmitDialog:
        dialog = AdmitDialog(self.ward, self.bed.label, search=self.search, parent=self)
        dialog.open()
        return dialog

    def confirm_discharge(self) -> None:
        patient = self.bed.patient
        if patient is None:
            return
        answer = QtWidgets.QMessageBox.question(
            self,
            "Discharge patient",
            f"Discharge {patient.display_name} (MRN {patient.mrn}) from {self.bed.label}?",
        )
        if answer == QtWidgets.QMessageBox.StandardButton.Yes:
            self.ward.discharge(self.bed.label)

    def _on_patient_changed(self, _bed: Bed) -> None:
        self._update_admin_buttons()
        self.refresh(time.time())

    def _update_admin_buttons(self) -> None:
        occupied = self.bed.patient is not None
        self.admit_button.setEnabled(not occupied and not self.bed.subject)  # not a recording
        self.discharge_button.setEnabled(occupied)

    def advance(self, now: float) -> None:
        if self.panel is not None:
            self.panel.advance(now)

    def refresh(self, now: float) -> None:
        self.numerics.refresh(now)
        monitor = self.bed.monitor
        line = patient_text(self.bed, self.index, self.kiosk, dt.date.today(), full=True)
        self.header.set_state(line, present_header(self.bed, now))
        if monitor is None:
            self.device_info.setText("No device attached.")
            return
        # A request the device cannot take (no link, a measurement running) is not offered.
        measuring = nibp_measuring_since(monitor) is not None
        self.nibp_button.setEnabled(
            monitor.can_start_nibp() and link_of(monitor, now).ok and not measuring
        )
        self.nibp_button.setText("NIBP measuring…" if measuring else "Start NIBP")
        if self.panel is not None:
            for key, text in trace_messages(monitor, now).items():
                self.panel.set_message(key, text)
        info = monitor.description.info
        conditions = ", ".join(c.message for c in monitor.active_conditions) or "none"
        tag = source_tag([monitor])
        lost_marks = monitor.marks_dropped  # shown once there are any: a loss is never quiet
        marks = f"   marks dropped: {lost_marks:,}" if lost_marks else ""
        self.device_info.setText(
            f"Device: {info.manufacturer} {info.model}{f' ({tag})' if tag else ''}\n"
            f"Serial: {info.serial}\n"
            f"Technical conditions: {conditions}\n"
            f"Samples received: {monitor.samples_received:,}\n"
            f"Samples dropped: {monitor.samples_dropped:,}   missing (gaps): "
            f"{monitor.samples_missing:,}   clock slips: {monitor.clock_slips:,}{marks}\n"
            f"ECG scale: {self._ecg_scale_text()}"
        )

    def show_alarms(self, snapshot: AlarmSnapshot, now: float) -> None:
        label = self.bed.label
        self.alarm_strip.show_alarms(snapshot.for_bed(label), snapshot.off_for_bed(label), now)
        if self.alarm_panel is not None:
            self.alarm_panel.show_snapshot(snapshot, now)

    def flash(self, now: float) -> None:
        self.alarm_strip.flash(now)

    def _ecg_scale_text(self) -> str:
        mm_per_mv = self.panel.ecg_mm_per_mv() if self.panel is not None else None
        return "—" if mm_per_mv is None else f"{mm_per_mv:.3g} mm/mV"

    def dispose(self) -> None:
        """Unsubscribe from the model before the view goes away (once)."""
        if not self._disposed:
            self._disposed = True
            self.bed.patient_changed.disconnect(self._on_patient_changed)

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        if event.key() == QtCore.Qt.Key.Key_Escape:
            self.back_requested.emit()
            return
        super().keyPressEvent(event)


def _choice(
    bar: QtWidgets.QHBoxLayout, label: str, values: tuple[float, ...], text: str, current: float
) -> QtWidgets.QComboBox:
    """A labelled drop-down of numeric settings, added to the bar."""
    bar.addWidget(QtWidgets.QLabel(label))
    combo = QtWidgets.QComboBox()
    combo.setAccessibleName(label)
    for value in values:
        combo.addItem(text.format(value), value)
    combo.setCurrentIndex(values.index(current))
    bar.addWidget(combo)
    return combo
