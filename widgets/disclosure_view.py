"""Full disclosure: any moment of one bed's recorded waveforms, scrolled and zoomed at will.

A window of 5, 10, 30 or 60 s of every channel (ECG first, on a fixed scale in mV; pleth and
respiration fitted to the window), a scroll bar over everything recorded for the bed, ◀ ▶ to
step a whole window, and a lane under the traces with the alarms (in their priority's colour)
and rhythm changes of the window. A gap in the record is drawn as a gap. The x axis is seconds
into the window, labelled with the clock time; a 60-s strip reads in a few milliseconds.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from app.alarms.visual import COLOUR, MARK
from app.storage.reader import RecordError
from app.storage.review import (
    AlarmMark,
    RecordedEvent,
    ReviewReader,
    alarm_marks,
    channel_info,
    iso_local,
    ordered_channels,
    recorded_events,
)
from widgets import theme
from widgets.choice_buttons import choice_buttons

WINDOWS_S = (5.0, 10.0, 30.0, 60.0)
DEFAULT_WINDOW_S = 10.0
TICKS_PER_S = 10  # scroll-bar resolution: 0.1 s
LANE_HEIGHT_PX = 64


class ClockAxis(pg.AxisItem):
    """Seconds into the window, labelled with the local clock time they stand for."""

    def __init__(self) -> None:
        super().__init__("bottom")
        self.origin = 0.0

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        fmt = "%H:%M:%S.%f" if spacing < 1.0 else "%H:%M:%S"
        out = []
        for value in values:
            text = dt.datetime.fromtimestamp(self.origin + value).strftime(fmt)
            out.append(text[:-5] if spacing < 1.0 else text)
        return out


def _style_axes(plot: pg.PlotItem) -> None:
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(theme.TEXT_DIM))
        axis.setTextPen(pg.mkPen(theme.TEXT))
        axis.setTickFont(theme.font(12))
        axis.enableAutoSIPrefix(False)  # pleth and resp are in arbitrary units: no "×0.001"
    plot.getAxis("left").setWidth(64)
    plot.setMouseEnabled(x=False, y=False)
    plot.setMenuEnabled(False)
    plot.hideButtons()


class DisclosureView(QtWidgets.QWidget):
    """Full-disclosure review of one bed's waveforms from the record."""

    moved = QtCore.Signal(float)  # the window's new start

    def __init__(
        self, reader: ReviewReader, bed: str, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._reader = reader
        self._bed = bed
        self.span = reader.span(bed)  # RecordError if the bed has no waveforms
        self.channels = ordered_channels(reader.channels(bed))
        self._window = DEFAULT_WINDOW_S
        self._start = self.span[1] - self._window  # the newest window first
        self.alarm_marks: list[AlarmMark] = []
        self.rhythm_marks: list[RecordedEvent] = []
        self._lane_items: list[QtWidgets.QGraphicsItem] = []
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)  # ← → step
        column = QtWidgets.QVBoxLayout(self)
        column.setContentsMargins(4, 4, 4, 4)
        column.addLayout(self._toolbar())
        self.layout_widget = pg.GraphicsLayoutWidget(self)
        self.layout_widget.setBackground(theme.TILE)
        column.addWidget(self.layout_widget, 1)
        self.scroll_bar = QtWidgets.QScrollBar(QtCore.Qt.Orientation.Horizontal, self)
        self.scroll_bar.setAccessibleName("time in the record")
        self.scroll_bar.valueChanged.connect(self._on_scroll)
        column.addWidget(self.scroll_bar)
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.no_data: dict[str, pg.TextItem] = {}
        self.axes: list[ClockAxis] = []
        self._build_plots()
        self.set_window(DEFAULT_WINDOW_S)

    # -- building -------------------------------------------------------------------------

    def _toolbar(self) -> QtWidgets.QHBoxLayout:
        row = QtWidgets.QHBoxLayout()
        title = QtWidgets.QLabel(f"Full disclosure — {self._bed}")
        title.setFont(theme.font(16, bold=True))
        row.addWidget(title)
        row.addSpacing(12)
        self.back_button = QtWidgets.QPushButton("◀")
        self.back_button.setAccessibleName("one window back")
        self.back_button.clicked.connect(lambda: self.step(-1))
        self.forward_button = QtWidgets.QPushButton("▶")
        self.forward_button.setAccessibleName("one window forward")
        self.forward_button.clicked.connect(lambda: self.step(1))
        row.addWidget(self.back_button)
        row.addWidget(self.forward_button)
        self.time_label = QtWidgets.QLabel()
        self.time_label.setFont(theme.font(15))
        row.addWidget(self.time_label, 1, QtCore.Qt.AlignmentFlag.AlignCenter)
        self.window_buttons = choice_buttons(
            self,
            row,
            WINDOWS_S,
            text=lambda s: f"{s:g} s",
            accessible=lambda s: f"window {s:g} seconds",
            choose=self.set_window,
        )
        return row

    def _plot(self, row: int) -> pg.PlotItem:
        axis = ClockAxis()
        self.axes.append(axis)
        plot = self.layout_widget.addPlot(row=row, col=0, axisItems={"bottom": axis})
        _style_axes(plot)
        plot.getViewBox().setDefaultPadding(0.0)
        return plot

    def _build_plots(self) -> None:
        for row, channel in enumerate(self.channels):
            info = channel_info(channel)
            colour = theme.ROLE_COLOURS[info.role]
            plot = self._plot(row)
            plot.showGrid(x=True, y=info.y_range is not None, alpha=0.2)
            plot.getAxis("bottom").setStyle(showValues=False)
            label = f"{info.label} ({info.unit})" if info.unit else info.label
            plot.getAxis("left").setLabel(label, color=colour)
            if info.y_range is not None:
                plot.setYRange(*info.y_range, padding=0.0)
            curve = plot.plot(pen=pg.mkPen(colour, width=1.2), connect="finite")
            curve.setDownsampling(auto=False)
            curve.setClipToView(False)
            self.plots[channel] = plot
            self.curves[channel] = curve
            note = pg.TextItem("no data", color=theme.TEXT_DIM, anchor=(0.5, 0.5))
            note.setFont(theme.font(15, bold=True))
            plot.addItem(note, ignoreBounds=True)
            self.no_data[channel] = note
        self.lane = self._plot(len(self.channels))
        self.lane.setYRange(0.0, 1.0, padding=0.0)
        self.lane.getAxis("left").setTicks([[], []])
        self.lane.getAxis("bottom").setLabel("local time", color=theme.TEXT_DIM)
        self.layout_widget.ci.layout.setRowFixedHeight(len(self.channels), LANE_HEIGHT_PX + 40)
        if self.channels:
            ecg_rows = [i for i, c in enumerate(self.channels) if channel_info(c).order == 0]
            for i in ecg_rows:
                self.layout_widget.ci.layout.setRowStretchFactor(i, 2)

    # -- navigation -----------------------------------------------------------------------

    @property
    def window_seconds(self) -> float:
        return self._window

    @property
    def start(self) -> float:
        """The window's first moment (seconds since the epoch)."""
        return self._start

    @property
    def centre(self) -> float:
        return self._start + self._window / 2

    def set_window(self, seconds: float) -> None:
        """Zoom to a window of ``seconds`` around the same centre."""
        if not (math.isfinite(seconds) and seconds > 0):
            raise ValueError(f"a window must be a positive time, got {seconds}")
        centre = self.centre
        self._window = float(seconds)
        button = self.window_buttons.get(self._window)
        if button is not None:
            button.setChecked(True)
        ticks = round(self._window * TICKS_PER_S)
        self.scroll_bar.setPageStep(ticks)
        self.scroll_bar.setSingleStep(TICKS_PER_S)
        self.show_time(centre)

    def show_time(self, t: float) -> None:
        """Centre the window on ``t`` (kept within the record: the centre never leaves it)."""
        if not math.isfinite(t):
            raise ValueError("a time to show must be finite")
        centre = min(max(t, self.span[0]), self.span[1])
        self._start = centre - self._window / 2
        self._render()

    def step(self, windows: int) -> None:
        """Move by whole windows: -1 back, +1 forward."""
        self.show_time(self.centre + windows * self._window)

    def _on_scroll(self, value: int) -> None:
        self.show_time(self.span[0] + value / TICKS_PER_S)

    # -- drawing --------------------------------------------------------------------------

    def _render(self) -> None:
        t0, t1 = self._start, self._start + self._window
        for axis in self.axes:
            axis.origin = t0
            axis.picture = None  # its tick texts depend on the origin, not only the range
            axis.update()
        for channel in self.channels:
            self._draw_channel(channel, t0, t1)
        # Every plot is given the same range: pyqtgraph's X link would shift it by the plots'
        # pixel geometry, which is not settled before the first layout.
        for plot in (*self.plots.values(), self.lane):
            plot.setXRange(0.0, self._window, padding=0.0)
        self._draw_lane(t0, t1)
        self.scroll_bar.blockSignals(True)
        self.scroll_bar.setRange(0, round((self.span[1] - self.span[0]) * TICKS_PER_S))
        self.scroll_bar.setValue(round((self.centre - self.span[0]) * TICKS_PER_S))
        self.scroll_bar.blockSignals(False)
        self.back_button.setEnabled(self.centre > self.span[0])
        self.forward_button.setEnabled(self.centre < self.span[1])
        self.time_label.setText(f"{iso_local(t0)} – {iso_local(t1)[11:23]}   ({self._window:g} s)")
        self.moved.emit(t0)

    def _draw_channel(self, channel: str, t0: float, t1: float) -> None:
        curve, plot = self.curves[channel], self.plots[channel]
        try:
            strip = self._reader.strip(self._bed, channel, t0, t1)
            samples = strip.samples
            x = np.arange(samples.size, dtype=np.float64) / strip.rate
        except RecordError:
            samples = np.empty(0, dtype=np.float32)
            x = np.empty(0, dtype=np.float64)
        curve.setData(x, samples)
        finite = samples[np.isfinite(samples)]
        info = channel_info(channel)
        y_range = info.y_range
        if y_range is None:
            if finite.size:
                low, high = float(finite.min()), float(finite.max())
                pad = max(0.05 * (high - low), 1e-3)
                y_range = (low - pad, high + pad)
            else:
                y_range = (0.0, 1.0)
        plot.setYRange(*y_range, padding=0.0)
        note = self.no_data[channel]
        note.setVisible(finite.size == 0)
        note.setPos(self._window / 2, sum(y_range) / 2)

    def _draw_lane(self, t0: float, t1: float) -> None:
        for item in self._lane_items:
            self.lane.removeItem(item)
        self._lane_items = []
        self.alarm_marks = alarm_marks(self._reader.alarm_log(self._bed, t0, t1))
        self.rhythm_marks = recorded_events(self._reader.events(self._bed, t0, t1, ["rhythm"]))
        for mark in self.alarm_marks:
            colour = COLOUR[mark.priority]
            text = f"{MARK[mark.priority]} {mark.text}"
            if mark.event != "start":
                text = f"{mark.event}: {text}"
            self._lane_mark(mark.t - t0, colour, text, 1.0, mark.event == "start")
        in_effect = self._reader.last_event(self._bed, "rhythm", t0)
        if in_effect is not None:
            self._lane_text(0.0, theme.TEXT_DIM, f"rhythm {in_effect.name}", 0.42)
        for event in self.rhythm_marks:
            self._lane_mark(event.t - t0, theme.TEXT, event.name, 0.42, True)

    def _lane_mark(self, x: float, colour: str, text: str, y: float, solid: bool) -> None:
        style = QtCore.Qt.PenStyle.SolidLine if solid else QtCore.Qt.PenStyle.DashLine
        line = pg.InfiniteLine(pos=x, angle=90, pen=pg.mkPen(colour, width=2, style=style))
        line.setToolTip(text)
        self.lane.addItem(line, ignoreBounds=True)
        self._lane_items.append(line)
        self._lane_text(x, colour, text, y)

    def _lane_text(self, x: float, colour: str, text: str, y: float) -> None:
        label = pg.TextItem(text, color=colour, anchor=(0.0, 0.0))
        label.setFont(theme.font(13, bold=True))
        label.setPos(x, y)
        self.lane.addItem(label, ignoreBounds=True)
        self._lane_items.append(label)

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        if event.key() == QtCore.Qt.Key.Key_Left:
            self.step(-1)
        elif event.key() == QtCore.Qt.Key.Key_Right:
            self.step(1)
        else:
            super().keyPressEvent(event)
