"""Rows of marks under a trace (reference beat labels, rhythm changes, Vigil's detections),
each label at the column where the sweep drew its sample, so rows compare beat by beat.

Only the detail view draws marks. The overlay follows the sweep: it shows the marks of the
columns on screen (one sweep back, less the erase bar), and a label fades with its beat as the
erase bar passes. It repaints whole only when the set of labels changes (a few times a second);
otherwise just the strips the sweep repaints anyway.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6 import QtCore, QtGui, QtWidgets

from app.signals.marks import MarkSource
from widgets import theme
from widgets.sweep_canvas import ERASE_PX, SweepRow
from widgets.sweep_geometry import column_x, place_labels, visible_columns

log = logging.getLogger(__name__)

LABEL_GAP = 3.0  # pixels kept between two labels of a row
ROW_PADDING = 2  # pixels between rows
MIN_NAME_PX = 9  # the smallest font a row's name in the gutter is written in


@dataclass(frozen=True, slots=True)
class PlacedMark:
    """A label as laid out: its row, its left edge on the canvas, its text."""

    row: int
    x: float
    text: str


class MarkOverlay(QtWidgets.QGraphicsItem):
    def __init__(
        self, sources: Sequence[MarkSource], *, label_px: int, background: QtGui.QColor
    ) -> None:
        super().__init__()
        self.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)
        self.setZValue(1)  # over the canvas, whose image spans the band too
        self.sources = tuple(sources)
        self._background = background
        self._font = theme.font(label_px, bold=True)
        self._name_px = max(MIN_NAME_PX, label_px - 4)
        self._name_font = theme.font(self._name_px, bold=True, condensed=True)
        self._metrics = QtGui.QFontMetricsF(self._font)
        self._line = math.ceil(self._metrics.height()) + ROW_PADDING
        self._colours = [QtGui.QColor(source.colour) for source in self.sources]
        self._widths: dict[str, float] = {}
        self._gutter = 0
        self._width = 1  # the canvas width
        self._placed: tuple[PlacedMark, ...] = ()
        self._errors: dict[int, str] = {}  # row -> why its marks cannot be shown
        self._erase: tuple[int, int] | None = None  # the erase bar's image columns

    @property
    def height(self) -> int:
        return self._line * len(self.sources)

    @property
    def placed(self) -> tuple[PlacedMark, ...]:
        """The labels drawn now (for tests and for reading the layout)."""
        return self._placed

    def row_error(self, row: int) -> str:
        return self._errors.get(row, "")

    def set_geometry(self, gutter: int, canvas_width: int, y: float) -> None:
        """The band starts at ``y``; labels go right of the ``gutter``, over ``canvas_width``."""
        self.prepareGeometryChange()
        self._gutter, self._width = gutter, canvas_width
        self._name_font = self._fitting_name_font(gutter - 4)
        self.setPos(0, y)
        self._placed, self._erase = (), None
        self.update()

    def _fitting_name_font(self, width: int) -> QtGui.QFont:
        """The largest font (down to a floor) in which every row name fits the gutter."""
        for px in range(self._name_px, MIN_NAME_PX - 1, -1):
            font = theme.font(px, bold=True, condensed=True)
            metrics = QtGui.QFontMetrics(font)
            if all(metrics.horizontalAdvance(s.label) <= width for s in self.sources):
                return font
        return theme.font(MIN_NAME_PX, bold=True, condensed=True)  # names elide beyond this

    # -- per frame --------------------------------------------------------------------------

    def follow(self, row: SweepRow, image_width: int) -> None:
        """Lay the labels out for what the sweep ``row`` shows now."""
        if row.drawn is None:
            placed: tuple[PlacedMark, ...] = ()
            self._erase = None
        else:
            col0, col1 = visible_columns(row.drawn, image_width, ERASE_PX)
            placed = self._layout(col0 / row.px_per_s, col1 / row.px_per_s, row, image_width)
            start = row.drawn % image_width
            self._erase = (start, start + ERASE_PX)
        if placed != self._placed:
            self._placed = placed
            self.update()

    def _layout(
        self, t_from: float, t_to: float, row: SweepRow, width: int
    ) -> tuple[PlacedMark, ...]:
        placed: list[PlacedMark] = []
        for index, source in enumerate(self.sources):
            try:
                marks = source.fetch(t_from, t_to)
            except Exception as exc:  # a failing row shows its failure; the others go on
                message = f"MARKS FAILED: {exc}"
                if self._errors.get(index) != message:  # logged once, shown every frame
                    log.exception("the %r marks could not be read", source.label)
                    self._errors[index] = message
                    self.update()
                continue
            if self._errors.pop(index, None) is not None:
                self.update()
            centred = sorted((column_x(m.timestamp, row.px_per_s, width), m.label) for m in marks)
            widths = [self.text_width(text) for _, text in centred]
            lefts = place_labels([x for x, _ in centred], widths, LABEL_GAP)
            placed += [
                PlacedMark(index, left, text)
                for left, (_, text) in zip(lefts, centred, strict=True)
            ]
        return tuple(placed)

    def text_width(self, text: str) -> float:
        width = self._widths.get(text)
        if width is None:
            width = self._widths[text] = self._metrics.horizontalAdvance(text)
        return width

    # -- QGraphicsItem ----------------------------------------------------------------------

    def boundingRect(self) -> QtCore.QRectF:
        return QtCore.QRectF(0, 0, self._gutter + self._width, self.height)

    def paint(
        self,
        painter: QtGui.QPainter,
        option: QtWidgets.QStyleOptionGraphicsItem,
        widget: QtWidgets.QWidget | None = None,
    ) -> None:
        exposed = option.exposedRect
        painter.fillRect(exposed, self._background)
        painter.setFont(self._name_font)
        names = QtGui.QFontMetrics(self._name_font)
        for index, source in enumerate(self.sources):
            painter.setPen(self._colours[index])
            name = names.elidedText(source.label, _ELIDE, self._gutter - 4)
            painter.drawText(self._row_rect(index, 2, self._gutter - 2), _LEFT, name)
        painter.setClipPath(self._label_area(), QtCore.Qt.ClipOperation.IntersectClip)
        painter.setFont(self._font)
        for index, message in self._errors.items():
            painter.setPen(QtGui.QColor(theme.FAULT))
            painter.drawText(self._row_rect(index, self._gutter + 4, self._width), _LEFT, message)
        for mark in self._placed:
            rect = self._row_rect(mark.row, self._gutter + mark.x, self.text_width(mark.text))
            if rect.intersects(exposed):
                painter.setPen(self._colours[mark.row])
                painter.drawText(rect, QtCore.Qt.AlignmentFlag.AlignCenter, mark.text)

    def _row_rect(self, row: int, x: float, width: float) -> QtCore.QRectF:
        return QtCore.QRectF(x, row * self._line, width, self._line)

    def _label_area(self) -> QtGui.QPainterPath:
        """The canvas part of the band, less the erase bar (labels vanish as it passes)."""
        area = QtGui.QPainterPath()
        area.addRect(QtCore.QRectF(self._gutter, 0, self._width, self.height))
        if self._erase is not None:
            start, end = self._erase
            bar = QtGui.QPainterPath()
            bar.addRect(QtCore.QRectF(self._gutter + start, 0, end - start, self.height))
            if end > self._width:  # the bar wraps to the left edge
                bar.addRect(QtCore.QRectF(self._gutter, 0, end - self._width, self.height))
            area = area.subtracted(bar)
        return area


_LEFT = QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter
_ELIDE = QtCore.Qt.TextElideMode.ElideRight
