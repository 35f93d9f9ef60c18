"""The printed strip: a PDF on standard ECG paper at 25 mm/s and 10 mm/mV.

Everything is laid out in millimetres of the page and converted with the writer's own
resolution, so the calibration holds on paper: a 1 mm square of the grid is 40 ms by 0.1 mV,
a 5 mm square 200 ms by 0.5 mV, and the calibration pulse at the left is 1 mV (10 mm) high
and 200 ms (5 mm) wide. Each A4 landscape page holds ``StripPrint.page_seconds`` of signal,
with the patient, bed, start time and the numerics of that moment above it. Pleth and
respiration are drawn below the ECG on the same time axis, each with its own scale.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PySide6 import QtCore, QtGui

from app.export import PrintPage, PrintTrace, StripPrint
from app.export_request import iso_time
from widgets import theme

PAPER_SPEED = 25.0  # mm/s
ECG_GAIN = 10.0  # mm/mV
RESOLUTION = 300  # dpi of the page's device coordinates (the PDF itself is vector)
PAGE_WIDTH, PAGE_HEIGHT = 297.0, 210.0  # mm, A4 landscape
CAL_ZONE = 10.0  # mm of grid before the trace, holding the calibration pulse or scale bar
GRID_TOP = 32.0  # mm
GRID_BOTTOM_LIMIT = 190.0  # mm: below are the time marks and the footer
ECG_ROW, OTHER_ROW, MIN_ROW = 50.0, 30.0, 15.0  # mm (whole 5-mm squares)
ECG_BASELINE = 30.0  # mm below an ECG row's top: +3 mV above, -2 mV below
GRID_MINOR = "#f4b4b4"  # 1 mm
GRID_MAJOR = "#e05a5a"  # 5 mm
TRACE = "#000000"
INK = "#000000"
INK_DIM = "#505050"
LABEL_BACKGROUND = QtGui.QColor(255, 255, 255, 210)


def render_strip_pdf(strip: StripPrint, out: Path) -> None:
    """Write ``strip`` to ``out`` as a PDF, one page per ``strip.page_seconds``."""
    theme.load_fonts()
    writer = QtGui.QPdfWriter(str(out))
    writer.setResolution(RESOLUTION)
    writer.setPageLayout(
        QtGui.QPageLayout(
            QtGui.QPageSize(QtGui.QPageSize.PageSizeId.A4),
            QtGui.QPageLayout.Orientation.Landscape,
            QtCore.QMarginsF(0, 0, 0, 0),
            QtGui.QPageLayout.Unit.Millimeter,
        )
    )
    writer.setCreator("Vigil")
    writer.setTitle(f"ECG strip, {strip.bed}, {strip.pages[0].start_text}")
    painter = QtGui.QPainter()
    if not painter.begin(writer):
        raise OSError(f"Qt cannot write a PDF to {out}")
    try:
        page = _Page(painter, writer.resolution(), strip)
        for index, content in enumerate(strip.pages):
            if index:
                writer.newPage()
            page.draw(content, index)
    finally:
        painter.end()


def nice_step(x: float) -> float:
    """The smallest of 1, 2, 5 × 10^n that is at least ``x``."""
    exponent = math.floor(math.log10(x))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * 10.0**exponent >= x * (1 - 1e-9):
            return m * 10.0**exponent
    return 10.0 ** (exponent + 1)


def row_heights(traces: tuple[PrintTrace, ...]) -> list[float]:
    """Each trace's row (mm), shrunk in whole squares if they do not all fit the page."""
    wanted = [ECG_ROW if t.calibrated else OTHER_ROW for t in traces]
    room = GRID_BOTTOM_LIMIT - GRID_TOP
    if sum(wanted) <= room:
        return wanted
    factor = room / sum(wanted)
    return [max(MIN_ROW, 5.0 * math.floor(h * factor / 5.0)) for h in wanted]


class _Scale:
    """Where a trace's values go in its row: y (mm) = baseline - (value - centre) × mm_per_unit."""

    def __init__(self, trace: PrintTrace, height: float) -> None:
        self.text = f"{ECG_GAIN:g} mm/{trace.unit}"
        if trace.calibrated:
            self.mm_per_unit, self.centre, self.baseline = ECG_GAIN, 0.0, ECG_BASELINE
            return
        finite = trace.samples[np.isfinite(trace.samples)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        per_10mm = nice_step(max(hi - lo, 1e-6) / (0.75 * height) * 10.0)
        self.mm_per_unit, self.centre, self.baseline = 10.0 / per_10mm, (lo + hi) / 2, height / 2
        unit = f" {trace.unit}" if trace.unit else ""
        self.text = f"{per_10mm:g}{unit} / 10 mm" if finite.size else "no signal"


class _Page:
    """Draws pages in millimetres, converted to the writer's device pixels."""

    def __init__(self, painter: QtGui.QPainter, dpi: int, strip: StripPrint) -> None:
        self.p = painter
        self.k = dpi / 25.4  # device pixels per mm
        self.strip = strip
        self.heights = row_heights(strip.traces)
        self.scales = [_Scale(t, h) for t, h in zip(strip.traces, self.heights, strict=True)]
        self.grid_width = CAL_ZONE + strip.page_seconds * PAPER_SPEED
        self.left = (PAGE_WIDTH - self.grid_width) / 2
        self.trace_left = self.left + CAL_ZONE
        self.bottom = GRID_TOP + sum(self.heights)
        self.printed = iso_time(time.time())

    def pt(self, x: float, y: float) -> QtCore.QPointF:
        return QtCore.QPointF(x * self.k, y * self.k)

    def pen(self, colour: str | QtGui.QColor, width_mm: float) -> QtGui.QPen:
        pen = QtGui.QPen(QtGui.QColor(colour), width_mm * self.k)
        pen.setCapStyle(QtCore.Qt.PenCapStyle.FlatCap)
        pen.setJoinStyle(QtCore.Qt.PenJoinStyle.RoundJoin)
        return pen

    def text(self, x: float, y: float, text: str, size: float, *, bold: bool = False,
             colour: str = INK, right: bool = False) -> None:  # fmt: skip
        font = QtGui.QFont(theme.FONT_FAMILY)
        font.setPointSizeF(size)
        font.setBold(bold)
        self.p.setFont(font)
        self.p.setPen(QtGui.QColor(colour))
        if right:
            x -= QtGui.QFontMetricsF(font, self.p.device()).horizontalAdvance(text) / self.k
        self.p.drawText(self.pt(x, y), text)

    def draw(self, page: PrintPage, index: int) -> None:
        self.p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        self.header(page, index)
        self.grid()
        top = GRID_TOP
        for trace, scale, height in zip(self.strip.traces, self.scales, self.heights, strict=True):
            self.trace(trace, scale, top, height, page.offset)
            self.reference(trace, scale, top, height)
            top += height
        self.time_marks(page.offset)
        self.footer(index)

    def header(self, page: PrintPage, index: int) -> None:
        strip = self.strip
        self.text(self.left, 14.0, f"{strip.bed}  ·  {strip.patient}", 12.0, bold=True)
        if strip.simulated:
            self.text(self.left + self.grid_width, 14.0, "SIMULATED", 12.0, bold=True,
                      colour=theme.SIMULATED_TAG, right=True)  # fmt: skip
        end = min(page.offset + strip.page_seconds, strip.seconds)
        self.text(self.left, 20.5,
                  f"Start {page.start_text}  ·  {page.offset:g}-{end:g} s of {strip.seconds:g} s"
                  f"  ·  {PAPER_SPEED:g} mm/s  ·  {ECG_GAIN:g} mm/mV", 9.5)  # fmt: skip
        self.text(self.left, 26.5, "     ".join(page.numerics), 9.5, bold=True)

    def grid(self) -> None:
        width, height = self.grid_width, self.bottom - GRID_TOP
        for step, colour, pen_mm in ((1, GRID_MINOR, 0.1), (5, GRID_MAJOR, 0.2)):
            lines = [QtCore.QLineF(self.pt(self.left + x, GRID_TOP),
                                   self.pt(self.left + x, self.bottom))
                     for x in range(0, math.floor(width) + 1, step)]  # fmt: skip
            lines += [QtCore.QLineF(self.pt(self.left, GRID_TOP + y),
                                    self.pt(self.left + width, GRID_TOP + y))
                      for y in range(0, math.floor(height) + 1, step)]  # fmt: skip
            self.p.setPen(self.pen(colour, pen_mm))
            self.p.drawLines(lines)

    def trace(
        self, trace: PrintTrace, scale: _Scale, top: float, height: float, offset: float
    ) -> None:
        """The page's part of a trace; NaN (nothing recorded) leaves a gap, never a line."""
        first = round(offset * trace.rate)
        last = min(trace.samples.size, round((offset + self.strip.page_seconds) * trace.rate))
        values = trace.samples[first:last].astype(np.float64)
        xs = self.trace_left + np.arange(values.size) / trace.rate * PAPER_SPEED
        ys = top + scale.baseline - (values - scale.centre) * scale.mm_per_unit
        self.p.save()
        self.p.setClipRect(QtCore.QRectF(self.pt(self.left, top), self.pt(
            self.left + self.grid_width, top + height)))  # fmt: skip
        self.p.setPen(self.pen(TRACE, 0.3 if trace.calibrated else 0.25))
        for a, b in _finite_runs(values):
            points = [
                self.pt(x, y) for x, y in zip(xs[a:b].tolist(), ys[a:b].tolist(), strict=True)
            ]
            if len(points) == 1:
                self.p.drawPoint(points[0])
            else:
                self.p.drawPolyline(QtGui.QPolygonF(points))
        self.p.restore()

    def reference(self, trace: PrintTrace, scale: _Scale, top: float, height: float) -> None:
        """The calibration pulse (ECG) or a 10 mm scale bar, and the row's label."""
        x0, base = self.left + 1.0, top + scale.baseline
        self.p.setPen(self.pen(TRACE, 0.3))
        if trace.calibrated:  # 1 mV for 200 ms, drawn at the trace's own gain and speed
            pulse_w, pulse_h = 0.2 * PAPER_SPEED, 1.0 * ECG_GAIN
            corners = [(x0, base), (x0 + 1.5, base), (x0 + 1.5, base - pulse_h),
                       (x0 + 1.5 + pulse_w, base - pulse_h), (x0 + 1.5 + pulse_w, base),
                       (x0 + 3.0 + pulse_w, base)]  # fmt: skip
            self.p.drawPolyline(QtGui.QPolygonF([self.pt(x, y) for x, y in corners]))
        elif scale.text != "no signal":
            xm = x0 + 4.0
            self.p.drawLines([
                QtCore.QLineF(self.pt(xm, base - 5.0), self.pt(xm, base + 5.0)),
                QtCore.QLineF(self.pt(xm - 1.0, base - 5.0), self.pt(xm + 1.0, base - 5.0)),
                QtCore.QLineF(self.pt(xm - 1.0, base + 5.0), self.pt(xm + 1.0, base + 5.0)),
            ])  # fmt: skip
        label = f"{trace.label}   {scale.text}"
        font = QtGui.QFont(theme.FONT_FAMILY)
        font.setPointSizeF(8.0)
        width = QtGui.QFontMetricsF(font, self.p.device()).horizontalAdvance(label) / self.k
        box = QtCore.QRectF(self.pt(self.trace_left + 0.5, top + 0.6),
                            self.pt(self.trace_left + 2.5 + width, top + 4.4))  # fmt: skip
        self.p.fillRect(box, LABEL_BACKGROUND)
        self.text(self.trace_left + 1.5, top + 3.5, label, 8.0, bold=True)

    def time_marks(self, offset: float) -> None:
        """Seconds from the strip's start under every 5-mm-square second line."""
        self.p.setPen(self.pen(INK_DIM, 0.2))
        for s in range(math.floor(self.strip.page_seconds) + 1):
            x = self.trace_left + s * PAPER_SPEED
            self.p.drawLine(self.pt(x, self.bottom), self.pt(x, self.bottom + 1.5))
            self.text(x - 1.0, self.bottom + 5.0, f"{offset + s:g} s", 7.5, colour=INK_DIM)

    def footer(self, index: int) -> None:
        line = (
            f"Vigil  ·  printed {self.printed}  ·  {PAPER_SPEED:g} mm/s, {ECG_GAIN:g} mm/mV: "
            "1 mm = 40 ms = 0.1 mV  ·  calibration pulse 1 mV × 200 ms"
        )
        self.text(self.left, 203.0, line, 7.5, colour=INK_DIM)
        self.text(self.left + self.grid_width, 203.0,
                  f"page {index + 1} of {len(self.strip.pages)}", 7.5, colour=INK_DIM,
                  right=True)  # fmt: skip


def _finite_runs(values: npt.NDArray[np.float64]) -> list[tuple[int, int]]:
    """[first, last) index of every run of finite values."""
    finite = np.concatenate(([False], np.isfinite(values), [False]))
    edges = np.flatnonzero(np.diff(finite.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
