"""A stack of sweeps for one device, with labels, an ECG calibration bar and status messages.

The ECG is calibrated: 10 mm/mV at gain ×1 where the trace is tall enough, otherwise the
largest scale that fits, and the gutter says the real mm/mV; the 1-mV bar is drawn at the
scale in use. Pleth and respiration are fitted to their trace height. The ECG row gets a
larger share of the height than the others. Rows of marks (beat labels) given for a trace sit
in a band right under it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from app.signals.marks import MarkSource
from app.signals.stream import DeviceStream
from drivers.base import ColourRole
from widgets import theme
from widgets.mark_overlay import MarkOverlay
from widgets.sweep_canvas import FixedScale, SweepCanvas, SweepRow

STANDARD_MM_PER_MV = 10.0
ECG_FIT_RANGE_MV = 2.8  # what must fit in the trace: about -0.9 .. +1.9 mV around the baseline
ECG_ORIGIN = 0.62
ECG_WEIGHT = 1.7  # the ECG row's height relative to the other rows
GUTTER_PX = 44
# Breathing is slow: at the ECG's speed a sweep would hold less than one breath.
SPEED_RATIOS = {ColourRole.RESP: 0.25}
ROW_GAP_PX = 3


class _Labels:
    """The gutter and overlay items of one row."""

    def __init__(self, name: QtWidgets.QGraphicsSimpleTextItem) -> None:
        self.name = name
        self.scale = QtWidgets.QGraphicsSimpleTextItem()
        self.message = QtWidgets.QGraphicsSimpleTextItem()
        self.message.setBrush(QtGui.QColor(theme.WARNING))
        self.message.setZValue(2)
        self.cal_bar: QtWidgets.QGraphicsPathItem | None = None


class WaveformPanel(pg.GraphicsView):
    def __init__(
        self,
        device: DeviceStream,
        channel_keys: list[str],
        *,
        label_px: int,
        px_per_mm: float,
        mark_sources: Sequence[MarkSource] = (),
        mark_px: int = 15,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent, background=theme.TILE)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.setCacheMode(QtWidgets.QGraphicsView.CacheModeFlag.CacheNone)
        # The view paints every pixel of its viewport, so Qt need not paint what is beneath.
        self.viewport().setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMinimumSize(120, 24 * len(channel_keys))
        self._px_per_mm = px_per_mm
        self._speed_mm_s = 25.0
        self._ecg_gain = 1.0
        label_font = theme.font(label_px, bold=True)
        small_font = theme.font(max(9, label_px - 3))
        self.canvas = SweepCanvas(QtGui.QColor(theme.TILE))
        self.canvas.setPos(GUTTER_PX, 0)
        self.scene().addItem(self.canvas)
        self.mark_overlays: dict[str, MarkOverlay] = {}  # set below; a resize may come first
        self._labels: dict[str, tuple[SweepRow, _Labels]] = {}
        specs = {spec.key: spec for spec in device.description.channels}
        for key in channel_keys:
            spec = specs[key]
            colour = QtGui.QColor(theme.ROLE_COLOURS[spec.colour_role])
            row = self.canvas.add_row(
                SweepRow(
                    device.buffers[key],
                    spec,
                    colour,
                    device.description.display_latency,
                    SPEED_RATIOS.get(spec.colour_role, 1.0),
                )
            )
            labels = _Labels(QtWidgets.QGraphicsSimpleTextItem(spec.label))
            labels.name.setFont(label_font)
            labels.name.setBrush(colour)
            labels.scale.setFont(small_font)
            labels.scale.setBrush(colour)
            labels.message.setFont(label_font)
            for item in (labels.name, labels.scale, labels.message):
                self.scene().addItem(item)
            if spec.colour_role is ColourRole.ECG:
                labels.cal_bar = QtWidgets.QGraphicsPathItem()
                labels.cal_bar.setPen(QtGui.QPen(colour, 1.5))
                self.scene().addItem(labels.cal_bar)
            self._labels[key] = (row, labels)
        self.mark_overlays = self._make_overlays(mark_sources, mark_px)
        self._apply_speed()

    def _make_overlays(self, sources: Sequence[MarkSource], mark_px: int) -> dict[str, MarkOverlay]:
        """One band of mark rows under each trace that has any (rows in the given order)."""
        by_channel: dict[str, list[MarkSource]] = {}
        for source in sources:
            if source.channel not in self._labels:
                raise ValueError(f"marks for {source.channel!r}, which this panel does not show")
            by_channel.setdefault(source.channel, []).append(source)
        overlays = {}
        for key, rows in by_channel.items():
            overlay = MarkOverlay(rows, label_px=mark_px, background=QtGui.QColor(theme.TILE))
            self.scene().addItem(overlay)
            overlays[key] = overlay
        return overlays

    # -- settings -------------------------------------------------------------------------

    def set_speed_mm_s(self, mm_s: float) -> None:
        self._speed_mm_s = mm_s
        self._apply_speed()

    @property
    def ecg_gain(self) -> float:
        return self._ecg_gain

    def set_ecg_gain(self, gain: float) -> None:
        self._ecg_gain = gain
        self._layout_rows()

    def ecg_mm_per_mv(self) -> float | None:
        """The ECG scale actually drawn, in mm/mV (None without an ECG trace)."""
        for row, labels in self._labels.values():
            if labels.cal_bar is not None:
                return self._ecg_px_per_mv(row.height) / self._px_per_mm
        return None

    def set_message(self, key: str, text: str) -> None:
        """A status text over a trace (e.g. "LEADS OFF"); empty to clear."""
        entry = self._labels.get(key)
        if entry is not None and entry[1].message.text() != text:
            entry[1].message.setText(text)
            self._place_message(*entry)

    def message(self, key: str) -> str:
        entry = self._labels.get(key)
        return entry[1].message.text() if entry else ""

    # -- per frame --------------------------------------------------------------------------

    def advance(self, now: float) -> None:
        # Repaint just the strips that changed, straight on the viewport: the scene would
        # only work out the same rectangles more slowly (scene and view share coordinates).
        height = self.canvas.boundingRect().toRect().height()
        for x0, x1 in self.canvas.advance(now):
            self.viewport().update(GUTTER_PX + x0, 0, x1 - x0, height)
        for key, overlay in self.mark_overlays.items():
            overlay.follow(self._labels[key][0], self.canvas.width)

    # -- layout -----------------------------------------------------------------------------

    def resizeEvent(self, event: QtGui.QResizeEvent | None) -> None:
        super().resizeEvent(event)
        if hasattr(self, "_labels"):  # pyqtgraph resizes once inside its own constructor
            self._layout_rows()

    def _apply_speed(self) -> None:
        self.canvas.set_speed(self._speed_mm_s * self._px_per_mm)
        for row, labels in self._labels.values():
            if row.speed_ratio != 1.0:
                labels.scale.setText(f"{self._speed_mm_s * row.speed_ratio:g}\nmm/s")
                self._place_scale(row, labels)

    def _ecg_px_per_mv(self, height: int) -> float:
        standard = STANDARD_MM_PER_MV * self._px_per_mm
        return min(standard, 0.95 * height / ECG_FIT_RANGE_MV) * self._ecg_gain

    def _layout_rows(self) -> None:
        entries = list(self._labels.values())
        width, height = self.viewport().width(), self.viewport().height()
        weights = [ECG_WEIGHT if lab.cal_bar is not None else 1.0 for _, lab in entries]
        usable = height - ROW_GAP_PX * (len(entries) - 1)
        geometry, bands, y = [], [], 0
        for weight, (row, _) in zip(weights, entries, strict=True):
            h = max(4, int(usable * weight / sum(weights)))
            overlay = self.mark_overlays.get(row.spec.key)
            band = min(overlay.height, h // 2) if overlay is not None else 0
            geometry.append((y, h - band))
            if overlay is not None:
                bands.append((overlay, y + h - band))
            y += h + ROW_GAP_PX
        self.canvas.set_geometry(width - GUTTER_PX, geometry)
        for overlay, band_y in bands:
            overlay.set_geometry(GUTTER_PX, self.canvas.width, band_y)
        for (row, labels), (y, h) in zip(entries, geometry, strict=True):
            labels.name.setPos(3, y + 1)
            if labels.cal_bar is not None:
                self._layout_ecg(row, labels, labels.cal_bar, y, h)
            self._place_scale(row, labels)
            self._place_message(row, labels)

    @staticmethod
    def _place_scale(row: SweepRow, labels: _Labels) -> None:
        height = labels.scale.boundingRect().height()
        labels.scale.setPos(2, row.y + row.height - height)
        # In a short row the scale would sit on the label: the label matters more.
        labels.scale.setVisible(row.height >= height + labels.name.boundingRect().height())

    def _layout_ecg(
        self, row: SweepRow, labels: _Labels, cal_bar: QtWidgets.QGraphicsPathItem, y: int, h: int
    ) -> None:
        px_per_mv = self._ecg_px_per_mv(h)
        row.fixed = FixedScale(px_per_mv, ECG_ORIGIN)
        base = y + ECG_ORIGIN * h
        x = GUTTER_PX - 10
        path = QtGui.QPainterPath()
        path.moveTo(x - 6, base)
        path.lineTo(x, base)
        path.lineTo(x, base - px_per_mv)
        path.lineTo(x + 5, base - px_per_mv)
        path.lineTo(x + 5, base)
        cal_bar.setPath(path)
        labels.scale.setText(f"{px_per_mv / self._px_per_mm:.2g}\nmm/mV")

    def _place_message(self, row: SweepRow, labels: _Labels) -> None:
        rect = labels.message.boundingRect()
        labels.message.setPos(
            GUTTER_PX + (self.canvas.width - rect.width()) / 2,
            row.y + (row.height - rect.height()) / 2,
        )
