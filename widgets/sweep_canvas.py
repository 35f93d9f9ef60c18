"""Waveforms drawn the way bedside monitors draw them: sweeps with an erase bar.

All traces of one panel share a single image. Each frame paints only the pixel columns whose
time has come (about three per frame at 25 mm/s), clears an erase bar ahead of them, and asks
the view to repaint just those strips. A full redraw from the ring buffer happens only on a
resize, a speed or gain change, or after the panel was hidden longer than one sweep.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from app.signals.ring_buffer import RingBuffer
from drivers.base import ChannelSpec
from widgets.sweep_geometry import TailPoint, sweep_runs

ERASE_PX = 12
DEFAULT_PX_PER_S = 25.0 * 96 / 25.4  # 25 mm/s on a 96-dpi screen, until a view sets it
LATE_DATA_GRACE = 1.0  # seconds a sweep waits for late data before it draws a gap
PEN_WIDTH = 2.0


@dataclass(frozen=True, slots=True)
class FixedScale:
    """A calibrated trace: ``px_per_unit`` (e.g. 10 mm/mV); value 0 at ``origin`` × height."""

    px_per_unit: float
    origin: float = 0.62


class SweepRow:
    """One channel's sweep inside a canvas: where it is drawn and how far it has got."""

    def __init__(
        self,
        buffer: RingBuffer,
        spec: ChannelSpec,
        colour: QtGui.QColor,
        latency: float,
        speed_ratio: float = 1.0,
    ) -> None:
        self.buffer = buffer
        self.spec = spec
        self.speed_ratio = speed_ratio  # respiration sweeps slower than the ECG
        self.px_per_s = DEFAULT_PX_PER_S * speed_ratio
        self.pen = QtGui.QPen(colour, PEN_WIDTH)
        self.latency = latency
        self.y = 0
        self.height = 1
        self.fixed: FixedScale | None = None
        self.auto_range = spec.display_range
        self.drawn: int | None = None  # absolute column drawn up to (exclusive)
        self.tail: TailPoint | None = None

    def reset(self) -> None:
        self.drawn = None
        self.tail = None

    def target(self, now: float, t_end: float | None) -> int:
        """The first column not yet due at wall time ``now``, given the newest data."""
        t = now - self.latency
        if t_end is not None and t_end < t:
            t = max(t_end, t - LATE_DATA_GRACE)  # wait a little for late blocks
        return math.floor(t * self.px_per_s)

    def mapping(self) -> tuple[float, float, float]:
        """(y pixel of the reference value, pixels per unit, reference value)."""
        if self.fixed is not None:
            return self.fixed.origin * self.height, self.fixed.px_per_unit, 0.0
        lo, hi = self.auto_range
        return 0.9 * self.height, 0.8 * self.height / max(hi - lo, 1e-9), lo

    def refit(self, seconds: float) -> None:
        """Fit an uncalibrated trace to what the last sweep showed."""
        if self.fixed is not None:
            return
        n = int(seconds * self.buffer.sample_rate)
        data, _ = self.buffer.snapshot(n)
        finite = data[np.isfinite(data)]
        if len(finite) < min(n // 2, 2 * self.buffer.sample_rate):
            return  # too little signal to judge its size: keep the current scale
        lo, hi = (float(v) for v in np.percentile(finite, [1.0, 99.0]))
        nominal = self.spec.display_range[1] - self.spec.display_range[0]
        span_needed = max(hi - lo, 0.4 * nominal)  # a tiny signal is not blown up to fill
        centre = (lo + hi) / 2
        self.auto_range = (centre - 0.54 * span_needed, centre + 0.54 * span_needed)


class SweepCanvas(pg.GraphicsObject):
    def __init__(self, background: QtGui.QColor) -> None:
        super().__init__()
        self.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)
        self._background = background
        self._image = QtGui.QImage(1, 1, QtGui.QImage.Format.Format_RGB32)
        self._image.fill(background)
        self._px_per_s = DEFAULT_PX_PER_S
        self.rows: list[SweepRow] = []

    def add_row(self, row: SweepRow) -> SweepRow:
        row.px_per_s = self._px_per_s * row.speed_ratio
        self.rows.append(row)
        return row

    # -- configuration ----------------------------------------------------------------------

    def set_geometry(self, width: int, rows: list[tuple[int, int]]) -> None:
        """Canvas width and each row's (y, height)."""
        width = max(ERASE_PX + 8, width)
        height = max(1, max((y + h for y, h in rows), default=1))
        for row, (y, h) in zip(self.rows, rows, strict=True):
            row.y, row.height = y, max(4, h)
        if (width, height) != (self._image.width(), self._image.height()):
            self.prepareGeometryChange()
            self._image = QtGui.QImage(width, height, QtGui.QImage.Format.Format_RGB32)
        self.invalidate()

    @property
    def px_per_s(self) -> float:
        return self._px_per_s

    def set_speed(self, px_per_s: float) -> None:
        """The sweep speed of rows at ratio 1 (others keep their ratio to it)."""
        if px_per_s != self._px_per_s:
            self._px_per_s = px_per_s
            for row in self.rows:
                row.px_per_s = px_per_s * row.speed_ratio
            self.invalidate()

    def invalidate(self) -> None:
        """Redraw every sweep from its buffer at the next frame."""
        for row in self.rows:
            row.reset()

    @property
    def width(self) -> int:
        return self._image.width()

    def image(self) -> QtGui.QImage:
        """A copy of what is drawn (for tests and screenshots)."""
        return self._image.copy()

    def sweep_seconds(self, row: SweepRow) -> float:
        return (self._image.width() - ERASE_PX) / row.px_per_s

    # -- QGraphicsItem --------------------------------------------------------------------

    def boundingRect(self) -> QtCore.QRectF:
        return QtCore.QRectF(0, 0, self._image.width(), self._image.height())

    def paint(
        self,
        painter: QtGui.QPainter,
        option: QtWidgets.QStyleOptionGraphicsItem,
        widget: QtWidgets.QWidget | None = None,
    ) -> None:
        rect = option.exposedRect
        painter.drawImage(rect, self._image, rect)

    # -- per frame ------------------------------------------------------------------------

    def advance(self, now: float) -> list[tuple[int, int]]:
        """Draw every column whose time has come, on every row; returns the x ranges that
        changed (over the full height), for the view to repaint."""
        painter: QtGui.QPainter | None = None
        width = self._image.width()
        dirty: list[tuple[int, int]] = []  # x ranges to repaint, over the full height
        try:
            for row in self.rows:
                target = row.target(now, row.buffer.t_end)
                full = row.drawn is None or target - row.drawn >= width - ERASE_PX
                if not full and row.drawn is not None and target <= row.drawn:
                    continue
                if painter is None:
                    painter = QtGui.QPainter(self._image)
                if full:
                    self._redraw_row(painter, row, target)
                    dirty.append((0, width))
                else:
                    dirty += self._extend_row(painter, row, target)
        finally:
            if painter is not None:
                painter.end()
        return _merged(dirty)  # rows that sweep in step share one strip

    def _redraw_row(self, painter: QtGui.QPainter, row: SweepRow, target: int) -> None:
        painter.fillRect(0, row.y, self._image.width(), row.height, self._background)
        row.tail = None
        row.refit(self.sweep_seconds(row))
        self._draw(painter, row, target - (self._image.width() - ERASE_PX), target)
        row.drawn = target

    def _extend_row(
        self, painter: QtGui.QPainter, row: SweepRow, target: int
    ) -> list[tuple[int, int]]:
        """Draw the new columns of one row; returns the x ranges that changed."""
        drawn = row.drawn if row.drawn is not None else target
        width = self._image.width()
        for x0, x1 in self._image_spans(drawn, target + ERASE_PX):
            painter.fillRect(x0, row.y, x1 - x0, row.height, self._background)
        wrap = (drawn // width + 1) * width
        if target <= wrap:
            self._draw(painter, row, drawn, target)
        else:  # an uncalibrated trace rescales at the wrap, where its line breaks anyway
            self._draw(painter, row, drawn, wrap)
            row.refit(self.sweep_seconds(row))
            self._draw(painter, row, wrap, target)
        row.drawn = target
        return self._image_spans(drawn - 1, target + ERASE_PX)

    def _draw(self, painter: QtGui.QPainter, row: SweepRow, col0: int, col1: int) -> None:
        pxs = row.px_per_s
        window = row.buffer.window(col0 / pxs, col1 / pxs) if col1 > col0 else None
        if window is None:
            row.tail = None
            return
        runs, row.tail = sweep_runs(
            window.values,
            first_index=window.first_index,
            t_first=window.t_first,
            sample_rate=row.buffer.sample_rate,
            columns=(col0, col1),
            px_per_s=pxs,
            width=self._image.width(),
            tail=row.tail,
        )
        if not runs:
            return
        origin, ppu, ref = row.mapping()
        top, bottom = row.y + 1.0, row.y + row.height - 2.0
        base = row.y + origin + ref * ppu
        painter.setPen(row.pen)
        point = QtCore.QPointF
        for run in runs:
            points = [
                point(run[i], min(max(base - run[i + 1] * ppu, top), bottom))
                for i in range(0, len(run), 2)
            ]
            if len(points) == 1:
                painter.drawPoint(points[0])
            else:
                painter.drawPolyline(points)

    def _image_spans(self, col0: int, col1: int) -> list[tuple[int, int]]:
        """Image x ranges covering absolute columns ``col0 .. col1-1`` (split at the wrap)."""
        width = self._image.width()
        if col1 - col0 >= width:
            return [(0, width)]
        x0, x1 = col0 % width, col1 % width
        if x0 < x1:
            return [(x0, x1)]
        return [(x0, width), (0, x1)] if x1 > 0 else [(x0, width)]


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching x ranges joined."""
    out: list[tuple[int, int]] = []
    for x0, x1 in sorted(spans):
        if out and x0 <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], x1))
        else:
            out.append((x0, x1))
    return out
