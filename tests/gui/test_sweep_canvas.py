"""Sweep canvas details: the erase bar, auto-scaling that never zooms on too little signal."""

from __future__ import annotations

import numpy as np
from PySide6 import QtGui, QtWidgets

from app.signals.ring_buffer import RingBuffer
from drivers.base import ChannelSpec, ColourRole
from widgets.sweep_canvas import ERASE_PX, SweepCanvas, SweepRow

PLETH = ChannelSpec("PLETH", "Pleth", "1", 125.0, 1.0, ColourRole.PLETH, (-0.3, 1.6))
BACKGROUND = QtGui.QColor("#000000")
GREEN = QtGui.QColor("#00ff00")


def canvas_with(buffer: RingBuffer) -> SweepCanvas:
    canvas = SweepCanvas(BACKGROUND)
    canvas.add_row(SweepRow(buffer, PLETH, GREEN, latency=0.0))
    canvas.set_geometry(400, [(0, 100)])
    canvas.set_speed(100.0)  # 100 px/s: the sweep is 3.88 s wide
    return canvas


def pulses(seconds: float, t0: float = 0.0) -> np.ndarray:
    t = t0 + np.arange(int(seconds * 125)) / 125
    return (0.9 * np.exp(-0.5 * ((t % 0.8 - 0.2) / 0.05) ** 2)).astype(np.float32)


def test_a_refit_needs_enough_signal(qapp: QtWidgets.QApplication) -> None:
    buffer = RingBuffer(125.0, 30.0)
    canvas = canvas_with(buffer)
    row = canvas.rows[0]
    buffer.write(np.zeros(25, np.float32), 100.0)  # 0.2 s of flat line before the first pulse
    canvas.advance(100.2)
    assert row.auto_range == PLETH.display_range
    buffer.write(pulses(6.0, 0.2), 100.2)
    canvas.invalidate()
    canvas.advance(106.2)
    lo, hi = row.auto_range
    assert lo < 0.0
    assert hi > 0.9


def test_the_erase_bar_is_blank_ahead_of_the_newest_column(qapp: QtWidgets.QApplication) -> None:
    buffer = RingBuffer(125.0, 30.0)
    canvas = canvas_with(buffer)
    buffer.write(np.full(125 * 10, 0.5, np.float32), 100.0)
    for k in range(1, 90):
        canvas.advance(100.0 + 5.0 + k / 30)  # a sweep and a bit: it has wrapped
    image = canvas.image()
    newest = int((100.0 + 5.0 + 89 / 30) * 100) % canvas.width
    y = int(canvas.rows[0].height * 0.5)
    column_has_trace = [
        any(image.pixelColor(x % canvas.width, yy) == GREEN for yy in range(y - 40, y + 40))
        for x in range(newest - 20, newest + ERASE_PX)
    ]
    assert all(column_has_trace[:18])  # the last drawn columns carry the line
    assert not any(column_has_trace[21:])  # the erase bar ahead of it is empty
