"""Sweep geometry without Qt: which points to draw for a range of screen columns.

Time maps to an absolute pixel column, ``floor(t * px_per_s)``, and a trace of width W shows
column ``c`` at ``x = c mod W``, so every trace of a bed sweeps in step. When there are at
least two samples per column the samples of each column are reduced to first, min, max and
last (a QRS spike survives decimation); otherwise each sample is a point. NaN samples and
columns without samples break the line: a gap stays a gap.

A frame usually adds two to four columns (a dozen samples), where a plain loop beats a chain
of small NumPy calls several times over; full redraws, which take longer, are rare.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TailPoint:
    """The last point drawn, so the next frame's line joins it when the data continue."""

    x_abs: float
    value: float
    key: int  # the column (envelope mode) or sample index (raw mode) it belongs to


# One unbroken polyline: x in image pixels and values in signal units, interleaved.
Run = list[float]


def envelope_mode(sample_rate: float, px_per_s: float) -> bool:
    return sample_rate / px_per_s >= 2.0


def sweep_runs(
    data: Sequence[float],
    *,
    first_index: int,
    t_first: float,
    sample_rate: float,
    columns: tuple[int, int],
    px_per_s: float,
    width: int,
    tail: TailPoint | None,
) -> tuple[list[Run], TailPoint | None]:
    """Polylines for absolute columns ``columns[0] .. columns[1]-1``.

    ``data`` holds samples ``first_index ..``; sample ``k`` is at ``t_first + k / sample_rate``.
    Each run is ``[x0, v0, x1, v1, ...]``.
    """
    col0, col1 = columns
    x_start = t_first * px_per_s
    step = px_per_s / sample_rate
    if envelope_mode(sample_rate, px_per_s):
        points = _envelope(data, x_start, step, col0, col1)
    else:
        points = _raw(data, first_index, x_start, step, columns)
    return _runs(points, tail, width)


# A point before splitting: (absolute x, value, key); key None marks a break.
_Point = tuple[float, float, int]


def _envelope(
    values: Sequence[float], x_start: float, step: float, col0: int, col1: int
) -> tuple[list[_Point], bool]:
    """First/min/max/last of each column with data; and whether column ``col1-1`` had data."""
    out: list[_Point] = []
    col = -1
    first = lo = hi = last = 0.0
    have = False
    k0 = max(0, math.ceil((col0 - x_start) / step) - 1)
    for k in range(k0, len(values)):
        c = math.floor(x_start + k * step)
        if c < col0:
            continue
        if c >= col1:
            break
        if c != col:
            if have:
                x = col + 0.5
                out += ((x, first, col), (x, lo, col), (x, hi, col), (x, last, col))
            col, have = c, False
        v = values[k]
        if math.isnan(v):  # this sample is missing
            continue
        if not have:
            first = lo = hi = v
            have = True
        elif v < lo:
            lo = v
        elif v > hi:
            hi = v
        last = v
    if have:
        x = col + 0.5
        out += ((x, first, col), (x, lo, col), (x, hi, col), (x, last, col))
    return out, have and col == col1 - 1


def _raw(
    values: Sequence[float], first_index: int, x_start: float, step: float, columns: tuple[int, int]
) -> tuple[list[_Point], bool]:
    """Every sample in the columns; and whether the last sample in range was drawn."""
    col0, col1 = columns
    out: list[_Point] = []
    complete = False
    k0 = max(0, math.ceil((col0 - x_start) / step) - 1)
    for k in range(k0, len(values)):
        x = x_start + k * step
        c = math.floor(x)
        if c < col0:
            continue
        if c >= col1:
            break
        v = values[k]
        complete = not math.isnan(v)
        if complete:
            out.append((x, v, first_index + k))
    return out, complete


def _runs(
    found: tuple[list[_Point], bool], tail: TailPoint | None, width: int
) -> tuple[list[Run], TailPoint | None]:
    """Split points into runs at discontinuities (keys more than 1 apart) and at the wrap."""
    points, complete = found
    if not points:
        return [], None
    runs: list[Run] = []
    run: Run = []
    last_key = tail.key if tail is not None else None
    page = None
    for i, (x, v, key) in enumerate(points):
        p = math.floor(x / width)
        if p != page or last_key is None or not 0 <= key - last_key <= 1:
            run = []
            runs.append(run)
            joins_tail = i == 0 and tail is not None and key - tail.key == 1
            if tail is not None and joins_tail and math.floor(tail.x_abs / width) == p:
                run += (tail.x_abs - p * width, tail.value)  # the line goes on from last frame
            page = p
        run += (x - p * width, v)
        last_key = key
    x, v, key = points[-1]
    return runs, TailPoint(x, v, key) if complete else None
