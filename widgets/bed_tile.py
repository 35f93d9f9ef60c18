"""A bed on the central-station grid: who, what device, live waveforms and large numerics.

The tile subscribes to its bed (patient changes) and reads device state on the refresh tick;
waveforms advance on every frame. Clicking the tile asks for the bed's detail view.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from PySide6 import QtCore, QtGui, QtWidgets

from app.alarms.engine import AlarmSnapshot
from app.model.ward import Bed
from app.presentation import (
    SIMULATED_TAG,
    ConnectionText,
    HeaderText,
    patient_text,
    present_header,
    source_tag,
    trace_messages,
)
from widgets import theme
from widgets.alarm_strip import AlarmStrip, off_text
from widgets.bed_numerics import BedNumerics
from widgets.tile_header import TileHeader
from widgets.tile_layout import TileTier, tile_channels
from widgets.waveform_panel import WaveformPanel

log = logging.getLogger(__name__)

MAIN_CODES = ("HR", "SPO2")
MINOR_CODES = ("NIBP_SYS", "RR", "TEMP")
MINOR_STRETCH = {"NIBP_SYS": 5, "RR": 3, "TEMP": 4, "PR": 3}  # shares of the second row


class BedTile(QtWidgets.QFrame):
    clicked = QtCore.Signal(str)

    def __init__(
        self,
        bed: Bed,
        index: int,
        tier: TileTier,
        *,
        kiosk: bool,
        px_per_mm: float,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.bed = bed
        self.index = index
        self.kiosk = kiosk
        self.setAutoFillBackground(True)
        palette = self.palette()
        palette.setColor(QtGui.QPalette.ColorRole.Window, QtGui.QColor(theme.TILE))
        self.setPalette(palette)
        self.setFrameShape(QtWidgets.QFrame.Shape.Box)
        self.setStyleSheet("")
        self.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName(f"{bed.label} tile")
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(1, 1, 1, 1)
        outer.setSpacing(0)
        self.header = TileHeader(bed.label, tier.header_px)
        outer.addWidget(self.header)
        # The alarm line covers the header while an alarm is in force: it costs the traces
        # and numerics no room, and the bed's label leads it.
        self.alarm_strip = AlarmStrip(tier.header_px, self)
        self.alarm_strip.hide()
        body = QtWidgets.QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(2)
        outer.addLayout(body, 1)
        self.panel: WaveformPanel | None = None
        monitor = bed.monitor
        if monitor is not None and monitor.description.channels:  # a strap alone has none
            keys = tile_channels(tier.channels, monitor.description.channels)
            self.panel = WaveformPanel(monitor, keys, label_px=tier.label_px, px_per_mm=px_per_mm)
            body.addWidget(self.panel, round(100 * (1 - tier.numerics_share)))
        self.numerics = BedNumerics(bed)
        numerics = self._numerics_widget(tier)
        body.addWidget(numerics, round(100 * tier.numerics_share))
        numerics.setVisible(bool(self.numerics.boxes))  # none (a replay): traces take the tile
        bed.patient_changed.connect(self._on_patient_changed)
        self._disposed = False
        self.fault = ""
        self.refresh(time.time())

    def _numerics_widget(self, tier: TileTier) -> QtWidgets.QWidget:
        box = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(box)
        column.setContentsMargins(0, 0, 2, 0)
        column.setSpacing(1)
        main, minor = QtWidgets.QHBoxLayout(), QtWidgets.QHBoxLayout()
        for row in (main, minor):
            row.setSpacing(1)
        for code in MAIN_CODES:
            w = self.numerics.make_box(
                code, tier.main_value_px, tier.label_px, box, tier.notes_inline
            )
            if w is not None:
                main.addWidget(w, 1)
        codes = [*MINOR_CODES, "PR"] if tier.show_pulse_rate else list(MINOR_CODES)
        for code in codes:
            w = self.numerics.make_box(
                code, tier.minor_value_px, tier.label_px, box, tier.notes_inline
            )
            if w is not None:
                minor.addWidget(w, MINOR_STRETCH[code])
        column.addLayout(main, 3)
        column.addLayout(minor, 2)
        return box

    def _on_patient_changed(self, _bed: Bed) -> None:
        self._update_header(time.time())

    def advance(self, now: float) -> None:
        if self.panel is None or self.fault:
            return
        try:
            self.panel.advance(now)
        except Exception as exc:  # a view may fail alone, but never quietly
            log.exception("the traces of %s failed", self.bed.label)
            self._show_fault(exc)

    def refresh(self, now: float) -> None:
        """Numerics, header and trace messages; a few times a second is plenty."""
        if self.fault:
            return
        try:
            self.numerics.refresh(now)
            self._update_header(now)
            monitor = self.bed.monitor
            if self.panel is not None and monitor is not None:
                for key, text in trace_messages(monitor, now).items():
                    self.panel.set_message(key, text)
        except Exception as exc:  # one tile's failure must not freeze the others
            log.exception("the numerics of %s failed", self.bed.label)
            self._show_fault(exc)

    def show_alarms(self, snapshot: AlarmSnapshot, now: float) -> None:
        """The bed's alarms; shown even on a tile whose drawing failed."""
        label = self.bed.label
        alarms = snapshot.for_bed(label)
        self.header.set_alarm_off(off_text(snapshot.off_for_bed(label)))
        if not alarms:
            self.alarm_strip.hide()
            return
        self.alarm_strip.show_alarms(alarms, (), now, label)
        place = self.header.geometry()
        if self.alarm_strip.geometry() != place:
            self.alarm_strip.setFixedHeight(place.height())
            self.alarm_strip.setGeometry(place)
        if not self.alarm_strip.isVisible():
            self.alarm_strip.show()
            self.alarm_strip.raise_()

    def flash(self, now: float) -> None:
        self.alarm_strip.flash(now)

    def _show_fault(self, exc: Exception) -> None:
        """Stop drawing this tile and say so on it, in words, in red."""
        self.fault = f"DISPLAY ERROR: {exc}"
        line = patient_text(self.bed, self.index, self.kiosk, dt.date.today())
        self.header.set_state(
            line,
            HeaderText(
                self.bed.simulated,
                ConnectionText(self.fault, False),
                "",
                source_tag(self.bed.devices) or SIMULATED_TAG,
            ),
        )
        if self.panel is not None:
            for row in self.panel.canvas.rows:
                self.panel.set_message(row.spec.key, "DISPLAY ERROR: data not shown")

    def _update_header(self, now: float) -> None:
        line = patient_text(self.bed, self.index, self.kiosk, dt.date.today())
        self.header.set_state(line, present_header(self.bed, now))

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        if event.button() == QtCore.Qt.MouseButton.LeftButton:
            self.clicked.emit(self.bed.label)
            event.accept()
            return
        super().mousePressEvent(event)

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        if event.key() in (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter):
            self.clicked.emit(self.bed.label)
            return
        super().keyPressEvent(event)

    def dispose(self) -> None:
        """Unsubscribe from the model before the tile goes away (once)."""
        if not self._disposed:
            self._disposed = True
            self.bed.patient_changed.disconnect(self._on_patient_changed)
