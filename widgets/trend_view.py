"""One bed's trends from the record: HR, SpO2, RR, NIBP, temperature and NEWS2 over 1-72 h.

Each parameter the record has gets a plot, all on one time axis: the per-minute median as a
line over the minute's min–max band, in the parameter's colour. A missing minute is a gap, never
a joined line; NIBP (a measurement now and then) is drawn as its readings, systolic ▼ and
diastolic ▲ joined by a bar, mean ●. Alarm starts are vertical lines in the priority's colour,
with the alarm's text as their tooltip. Reads are the reader's own (a 72-h trend is about 1 ms).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from app.alarms.visual import COLOUR, MARK
from app.storage.reader import RecordError, RecordReader
from app.storage.review import (
    MINUTE,
    AlarmMark,
    ReviewReader,
    TrendParameter,
    TrendSeries,
    alarm_marks,
    iso_local,
    trend_series,
)
from app.storage.review import TREND_PARAMETERS as PARAMETERS
from widgets import theme
from widgets.choice_buttons import choice_buttons

RANGES_H = (1, 8, 24, 72)
NIBP_SYMBOLS = {"NIBP_SYS": "t", "NIBP_DIA": "t1", "NIBP_MEAN": "o"}
BAND_ALPHA = 70


def parameter_colour(parameter: TrendParameter) -> str:
    return theme.TEXT if parameter.role is None else theme.ROLE_COLOURS[parameter.role]


class _TrendPlot:
    """The plot of one parameter: its curves, its "no data" note and its alarm lines."""

    def __init__(self, plot: pg.PlotItem, parameter: TrendParameter) -> None:
        self.plot = plot
        self.parameter = parameter
        self.colour = QtGui.QColor(parameter_colour(parameter))
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.alarm_lines: list[pg.InfiniteLine] = []
        self._extras: list[QtWidgets.QGraphicsItem] = []
        plot.setMouseEnabled(x=False, y=False)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.showGrid(x=True, y=True, alpha=0.18)
        plot.getViewBox().setDefaultPadding(0.0)
        left = plot.getAxis("left")
        left.setLabel(f"{parameter.label} ({parameter.unit})", color=self.colour.name())
        left.setWidth(64)
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setPen(pg.mkPen(theme.TEXT_DIM))
            axis.setTextPen(pg.mkPen(theme.TEXT))
            axis.setTickFont(theme.font(12))
        self.no_data = pg.TextItem("no data", color=theme.TEXT_DIM, anchor=(0.5, 0.5))
        self.no_data.setFont(theme.font(15, bold=True))
        self.no_data.setZValue(5)
        plot.addItem(self.no_data, ignoreBounds=True)

    def show(self, series: dict[str, TrendSeries], t0: float, t1: float) -> None:
        for item in self._extras:
            self.plot.removeItem(item)
        self._extras.clear()
        episodic = len(self.parameter.codes) > 1
        for code in self.parameter.codes:
            data = series[code]
            if episodic:
                self._draw_reading(code, data)
            else:
                self._draw_band(code, data)
        if episodic:
            self._draw_nibp_bars(series)
        has_data = any(not s.empty for s in series.values())
        low, high = self._y_range(series)
        self.plot.setXRange(t0, t1, padding=0.0)
        self.plot.setYRange(low, high, padding=0.0)
        self.no_data.setVisible(not has_data)
        self.no_data.setPos((t0 + t1) / 2, (low + high) / 2)

    def _draw_band(self, code: str, data: TrendSeries) -> None:
        pen = pg.mkPen(self.colour, width=1.6)
        median = self.curves.get(code)
        if median is None:
            median = self.plot.plot(pen=pen, connect="finite", name=code)
            median.setZValue(2)
            self.curves[code] = median
        median.setData(data.x, data.median)
        band = QtGui.QColor(self.colour)
        band.setAlpha(BAND_ALPHA)
        # The band's edges need a pen: pyqtgraph builds no path (so no fill) for a curve without.
        edge = pg.mkPen(band, width=1)
        low = pg.PlotDataItem(data.x, data.low, pen=edge, connect="finite")
        high = pg.PlotDataItem(data.x, data.high, pen=edge, connect="finite")
        fill = pg.FillBetweenItem(low, high, brush=pg.mkBrush(band))
        items: list[QtWidgets.QGraphicsItem] = [low, high, fill]
        if data.isolated.size:
            # A minute between two gaps has no line to be on: a dot with its min–max bar.
            keep = np.isin(data.x, data.isolated)
            dots = pg.PlotDataItem(
                data.isolated, data.median[keep], pen=None, symbol="o", symbolSize=5,
                symbolPen=None, symbolBrush=self.colour,
            )  # fmt: skip
            bars = pg.PlotDataItem(
                np.repeat(data.isolated, 2),
                np.column_stack([data.low[keep], data.high[keep]]).ravel(),
                pen=pg.mkPen(band, width=3), connect="pairs",
            )  # fmt: skip
            items += [dots, bars]
        for item in items:
            self.plot.addItem(item)
            self._extras.append(item)

    def _draw_reading(self, code: str, data: TrendSeries) -> None:
        curve = self.curves.get(code)
        if curve is None:
            curve = self.plot.plot(
                pen=None, symbol=NIBP_SYMBOLS.get(code, "o"), symbolSize=9,
                symbolPen=None, symbolBrush=self.colour, name=code,
            )  # fmt: skip
            curve.setZValue(2)
            self.curves[code] = curve
        finite = np.isfinite(data.median)
        curve.setData(data.x[finite], data.median[finite])

    def _draw_nibp_bars(self, series: dict[str, TrendSeries]) -> None:
        sys_, dia = series.get("NIBP_SYS"), series.get("NIBP_DIA")
        if sys_ is None or dia is None:
            return
        both, i_sys, i_dia = np.intersect1d(sys_.x, dia.x, return_indices=True)
        if not both.size:
            return
        bars = pg.PlotDataItem(
            np.repeat(both, 2), np.column_stack([sys_.median[i_sys], dia.median[i_dia]]).ravel(),
            pen=pg.mkPen(self.colour, width=1.2), connect="pairs",
        )  # fmt: skip
        self.plot.addItem(bars)
        self._extras.append(bars)

    def _y_range(self, series: dict[str, TrendSeries]) -> tuple[float, float]:
        low, high = self.parameter.y_range
        values = [v for s in series.values() for v in (s.low, s.high) if v.size]
        if values:
            finite = np.concatenate(values)
            finite = finite[np.isfinite(finite)]
            if finite.size:
                pad = max(1.0, 0.05 * float(finite.max() - finite.min()))
                low = min(low, float(finite.min()) - pad)
                high = max(high, float(finite.max()) + pad)
        return low, high

    def set_alarms(self, marks: list[AlarmMark]) -> None:
        for line in self.alarm_lines:
            self.plot.removeItem(line)
        self.alarm_lines = []
        for mark in marks:
            line = pg.InfiniteLine(
                pos=mark.t, angle=90, movable=False, pen=pg.mkPen(COLOUR[mark.priority], width=1.5)
            )
            line.setToolTip(f"{iso_local(mark.t, 'seconds')}  {MARK[mark.priority]} {mark.text}")
            line.setZValue(4)
            self.plot.addItem(line, ignoreBounds=True)
            self.alarm_lines.append(line)


class TrendView(QtWidgets.QWidget):
    """Trends of one bed over the last 1, 8, 24 or 72 h of the record (or up to now, if live)."""

    range_changed = QtCore.Signal(float)

    def __init__(
        self,
        reader: RecordReader,
        bed: str,
        parent: QtWidgets.QWidget | None = None,
        *,
        live: bool = False,
        hours: float = 8,
    ) -> None:
        super().__init__(parent)
        self._reader = reader
        self._bed = bed
        self._live = live
        self._hours = float(hours)
        self.end = self._newest()
        self.alarm_marks: list[AlarmMark] = []
        column = QtWidgets.QVBoxLayout(self)
        column.setContentsMargins(4, 4, 4, 4)
        column.addLayout(self._toolbar())
        self.layout_widget = pg.GraphicsLayoutWidget(self)
        self.layout_widget.setBackground(theme.TILE)
        column.addWidget(self.layout_widget, 1)
        self.missing_label = QtWidgets.QLabel(self)
        self.missing_label.setStyleSheet(f"color: {theme.TEXT_DIM};")
        column.addWidget(self.missing_label)
        self.plots: dict[str, _TrendPlot] = {}
        self.missing: list[str] = []
        self._build_plots()
        self.set_range(self._hours)

    @property
    def hours(self) -> float:
        return self._hours

    def plot_item(self, key: str) -> pg.PlotItem:
        return self.plots[key].plot

    def curve(self, code: str) -> pg.PlotDataItem:
        """The median curve (or NIBP readings) of one trend code, e.g. "SPO2"."""
        for trend_plot in self.plots.values():
            if code in trend_plot.curves:
                return trend_plot.curves[code]
        raise KeyError(code)

    def _toolbar(self) -> QtWidgets.QHBoxLayout:
        row = QtWidgets.QHBoxLayout()
        title = QtWidgets.QLabel(f"Trends — {self._bed}")
        title.setFont(theme.font(16, bold=True))
        row.addWidget(title)
        row.addSpacing(16)
        self.range_buttons = choice_buttons(
            self,
            row,
            RANGES_H,
            text=lambda h: f"{h:g} h",
            accessible=lambda h: f"trend range {h:g} hours",
            choose=self.set_range,
        )
        row.addStretch(1)
        self.window_label = QtWidgets.QLabel()
        self.window_label.setStyleSheet(f"color: {theme.TEXT_DIM};")
        row.addWidget(self.window_label)
        return row

    def _build_plots(self) -> None:
        t1 = self.end
        t0 = t1 - max(RANGES_H) * 3600.0
        present = [p for p in PARAMETERS if self._has_data(p, t0, t1)]
        self.missing = [p.label for p in PARAMETERS if p not in present]
        for row, parameter in enumerate(present):
            plot = self.layout_widget.addPlot(
                row=row, col=0, axisItems={"bottom": pg.DateAxisItem()}
            )
            last = row == len(present) - 1
            plot.getAxis("bottom").setStyle(showValues=last)
            if last:
                plot.getAxis("bottom").setLabel("local time", color=theme.TEXT_DIM)
            self.plots[parameter.key] = _TrendPlot(plot, parameter)
        if not present:
            self.missing_label.setText(f"Nothing trended for {self._bed} in this record.")
        elif self.missing:
            self.missing_label.setText(f"Not recorded for this bed: {', '.join(self.missing)}")
        self.missing_label.setVisible(bool(self.missing))

    def _has_data(self, parameter: TrendParameter, t0: float, t1: float) -> bool:
        return any(len(self._reader.trend(self._bed, code, t0, t1)) for code in parameter.codes)

    def _newest(self) -> float:
        newest: float | None = None
        if self._live:
            newest = time.time()
        elif isinstance(self._reader, ReviewReader):
            newest = self._reader.newest_time(self._bed)
        else:
            try:
                newest = self._reader.span(self._bed)[1]
            except RecordError:
                newest = None
        newest = time.time() if newest is None else newest
        # The newest minute is drawn whole: its aggregate stands for all of it.
        return math.ceil(newest / MINUTE) * MINUTE

    def set_range(self, hours: float) -> None:
        """Show the last ``hours`` of the record (1, 8, 24 or 72), reading them afresh."""
        if hours <= 0:
            raise ValueError(f"a trend range must be positive, got {hours} h")
        self._hours = float(hours)
        button = self.range_buttons.get(self._hours)
        if button is not None:
            button.setChecked(True)
        self.refresh()
        self.range_changed.emit(self._hours)

    def x_range(self) -> tuple[float, float]:
        return self.end - self._hours * 3600.0, self.end

    def refresh(self) -> None:
        """Re-read the window (and, if live, move its end to now)."""
        if self._live:
            self.end = self._newest()
        t0, t1 = self.x_range()
        self.alarm_marks = alarm_marks(self._reader.alarm_log(self._bed, t0, t1), {"start"})
        for trend_plot in self.plots.values():
            series = {
                code: trend_series(self._reader.trend(self._bed, code, t0, t1))
                for code in trend_plot.parameter.codes
            }
            trend_plot.show(series, t0, t1)
            trend_plot.set_alarms(self.alarm_marks)
        self.window_label.setText(
            f"{iso_local(t0, 'minutes')} – {iso_local(t1, 'minutes')[11:]}"
            f"{'  (live)' if self._live else ''}"
        )
