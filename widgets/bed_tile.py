"""A bed on the central-station grid: who, what device, live waveforms and large numerics.

The tile subscribes to its bed (patient changes) and reads device state on the refresh tick;
waveforms advance on every frame. Clicking the tile asks for the bed's detail view.
"""

from __future__ import annotations

import datetime as dt
import time

from PySide6 import QtCore, QtGui, QtWidgets

from app.model.ward import Bed
from app.presentation import (
    deidentified_label,
    present_battery,
    present_connection,
    present_nibp,
    present_numeric,
)
from app.signals.stream import DeviceStream
from drivers.base import DriverState, NumericSpec
from widgets import theme
from widgets.numeric_box import NumericBox
from widgets.tile_layout import TileTier
from widgets.waveform_panel import WaveformPanel

MAIN_CODES = ("HR", "SPO2")
MINOR_CODES = ("NIBP_SYS", "RR", "TEMP")
# The widest value each box must hold, and its share of a row.
WIDEST = {"NIBP_SYS": "888/888", "TEMP": "88.8", "RR": "88"}
MINOR_STRETCH = {"NIBP_SYS": 5, "RR": 3, "TEMP": 4, "PR": 3}


def patient_line(bed: Bed, index: int, kiosk: bool, today: dt.date) -> str:
    if kiosk:
        return deidentified_label(index)
    patient = bed.patient
    if patient is None:
        return "No patient admitted"
    sex = patient.sex.value[0].upper()
    return f"{patient.display_name}  ·  {patient.age_text(today)} {sex}"


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
        self.connection = ("", True)
        self.battery = ""

    def set_state(
        self, patient: str, simulated: bool, connection: tuple[str, bool], battery: str
    ) -> None:
        state = (patient, simulated, connection, battery)
        if state != (self.patient, self.simulated, self.connection, self.battery):
            self.patient, self.simulated, self.connection, self.battery = state
            self.update()

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        p = QtGui.QPainter(self)
        r = self.rect()
        p.fillRect(r, QtGui.QColor("#11171d"))
        x = 6
        x = self._text(p, x, self.bed_label, self._bold, theme.TEXT) + 12
        right = r.width() - 6
        right = self._text_right(p, right, self.battery, self._small, theme.TEXT_DIM)
        text, ok = self.connection
        right = self._text_right(p, right - 12, text, self._small, theme.OK if ok else theme.FAULT)
        if self.simulated:
            right = self._tag(p, right - 12, "SIMULATED")
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

    def _tag(self, p: QtGui.QPainter, right: int, text: str) -> int:
        w = QtGui.QFontMetrics(self._small).horizontalAdvance(text) + 10
        rect = QtCore.QRect(right - w, 3, w, self.height() - 6)
        p.fillRect(rect, QtGui.QColor(theme.SIMULATED_TAG))
        p.setFont(self._small)
        p.setPen(QtGui.QColor("#000000"))
        p.drawText(rect, QtCore.Qt.AlignmentFlag.AlignCenter, text)
        return rect.left()


_VCENTER = QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter


def _numeric_spec(bed: Bed, code: str) -> tuple[DeviceStream, NumericSpec] | None:
    for device in bed.devices:
        for spec in device.description.numerics:
            if spec.code == code:
                return device, spec
    return None


class BedNumerics:
    """The numeric boxes of a bed and how they are refreshed; shared by tile and detail view."""

    def __init__(self, bed: Bed) -> None:
        self.bed = bed
        self.boxes: dict[str, NumericBox] = {}

    def make_box(
        self,
        code: str,
        value_px: int,
        label_px: int,
        parent: QtWidgets.QWidget,
        note_inline: bool = False,
    ) -> NumericBox | None:
        found = _numeric_spec(self.bed, code)
        if found is None:
            return None
        spec = found[1]
        label = "NIBP" if code == "NIBP_SYS" else spec.label
        box = NumericBox(
            label,
            spec.display_unit,
            theme.ROLE_COLOURS[spec.colour_role],
            value_px=value_px,
            label_px=label_px,
            widest=WIDEST.get(code, "888"),
            condensed=code == "NIBP_SYS",
            note_inline=note_inline,
            parent=parent,
        )
        self.boxes[code] = box
        return box

    def refresh(self, now: float) -> None:
        for code, box in self.boxes.items():
            found = _numeric_spec(self.bed, code)
            if found is None:
                continue
            device, spec = found
            if code == "NIBP_SYS":
                latest = device.numerics.latest
                text = present_nibp(
                    latest("NIBP_SYS"), latest("NIBP_DIA"), latest("NIBP_MEAN"), spec, now
                )
            else:
                text = present_numeric(device.numerics.latest(code), spec, now)
            box.set_text(text)


def trace_messages(device: DeviceStream) -> dict[str, str]:
    """What to print over each trace: why it shows no signal."""
    status = device.status
    if status.state is not DriverState.CONNECTED:
        text = "NO SIGNAL: " + status.state.value.upper()
        return {spec.key: text for spec in device.description.channels}
    active = {c.code for c in device.active_conditions}
    leads_off = "LEADS OFF" if "ECG_LEAD_OFF" in active else ""
    return {
        "ECG_II": leads_off,
        "RESP": leads_off,
        "PLETH": "PROBE OFF" if "SPO2_PROBE_OFF" in active else "",
    }


def header_state(device: DeviceStream | None, now: float) -> tuple[bool, tuple[str, bool], str]:
    """(simulated, connection text and whether it is good, battery text)."""
    if device is None:
        return False, ("NO DEVICE", False), ""
    connection = present_connection(device.status, now)
    low = any(c.code == "BATTERY_LOW" for c in device.active_conditions)
    spec = _numeric_spec_of(device, "BATTERY")
    battery = present_battery(
        device.numerics.latest("BATTERY"), low, now, spec.stale_after if spec else 90.0
    )
    return device.simulated, (connection.text, connection.ok), battery


def _numeric_spec_of(device: DeviceStream, code: str) -> NumericSpec | None:
    return next((s for s in device.description.numerics if s.code == code), None)


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
        body = QtWidgets.QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(2)
        outer.addLayout(body, 1)
        self.panel: WaveformPanel | None = None
        monitor = bed.monitor
        if monitor is not None:
            keys = [k for k in tier.channels if k in monitor.buffers]
            self.panel = WaveformPanel(monitor, keys, label_px=tier.label_px, px_per_mm=px_per_mm)
            body.addWidget(self.panel, round(100 * (1 - tier.numerics_share)))
        self.numerics = BedNumerics(bed)
        body.addWidget(self._numerics_widget(tier), round(100 * tier.numerics_share))
        bed.patient_changed.connect(self._on_patient_changed)
        self._disposed = False
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
        if self.panel is not None:
            self.panel.advance(now)

    def refresh(self, now: float) -> None:
        """Numerics, header and trace messages; a few times a second is plenty."""
        self.numerics.refresh(now)
        self._update_header(now)
        monitor = self.bed.monitor
        if self.panel is not None and monitor is not None:
            for key, text in trace_messages(monitor).items():
                self.panel.set_message(key, text)

    def _update_header(self, now: float) -> None:
        simulated, connection, battery = header_state(self.bed.monitor, now)
        line = patient_line(self.bed, self.index, self.kiosk, dt.date.today())
        self.header.set_state(line, simulated, connection, battery)

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
