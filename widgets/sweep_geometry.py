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
        found = _envelope(data, x_start, step, col0, col1)
    else:
        found = _raw(data, first_index, x_start, step, columns)
        if not found.points and not found.gap:
            return [], tail  # no sample falls in so few columns: the line goes on next frame
    return _runs(found, tail, width)


@dataclass(slots=True)
class _Found:
    # (absolute x, value, key, a gap came just before it)
    points: list[tuple[float, float, int, bool]]
    gap: bool  # a missing sample was seen after the last point (the line must not go on)


def _envelope(values: Sequence[float], x_start: float, step: float, col0: int, col1: int) -> _Found:
    """First/min/max/last of each column with data."""
    found = _Found([], gap=False)
    col = -1
    first = lo = hi = last = 0.0
    have = False
    gap = False  # a sample is missing since the last valid one
    col_gap = False  # ... and that was before this column's first valid sample
    k0 = max(0, math.ceil((col0 - x_start) / step) - 1)
    for k in range(k0, len(values)):
        c = math.floor(x_start + k * step)
        if c < col0:
            continue
        if c >= col1:
            break
        if c != col:
            if have:
                _emit_column(found, col, (first, lo, hi, last), col_gap)
            col, have = c, False
        v = values[k]
        if math.isnan(v):  # missing: unless valid samples follow in this column, a break
            gap = True
            continue
        if not have:
            first = lo = hi = v
            have, col_gap = True, gap
        elif v < lo:
            lo = v
        elif v > hi:
            hi = v
        last, gap = v, False
    if have:
        _emit_column(found, col, (first, lo, hi, last), col_gap)
    found.gap = gap or not have or col != col1 - 1
    return found


def _emit_column(
    found: _Found, col: int, values: tuple[float, float, float, float], gap_before: bool
) -> None:
    """A column's first, min, max and last, drawn at its centre; only the first point can
    follow a gap."""
    x = col + 0.5
    found.points += [(x, v, col, gap_before and i == 0) for i, v in enumerate(values)]


def _raw(
    values: Sequence[float], first_index: int, x_start: float, step: float, columns: tuple[int, int]
) -> _Found:
    """Every sample in the columns."""
    col0, col1 = columns
    found = _Found([], gap=False)
    k0 = max(0, math.ceil((col0 - x_start) / step) - 1)
    for k in range(k0, len(values)):
        x = x_start + k * step
        c = math.floor(x)
        if c < col0:
            continue
        if c >= col1:
            break
        v = values[k]
        if math.isnan(v):
            found.gap = True
            continue
        found.points.append((x, v, first_index + k, found.gap))
        found.gap = False
    return found


def _runs(found: _Found, tail: TailPoint | None, width: int) -> tuple[list[Run], TailPoint | None]:
    """Split points into runs at gaps, at keys more than one apart, and at the wrap."""
    if not found.points:
        return [], None
    runs: list[Run] = []
    run: Run = []
    last_key = tail.key if tail is not None else None
    page = None
    for i, (x, v, key, gap_before) in enumerate(found.points):
        p = math.floor(x / width)
        continues = last_key is not None and 0 <= key - last_key <= 1 and not gap_before
        if p != page or not continues:
            run = []
            runs.append(run)
            joins_tail = i == 0 and continues and tail is not None and key - tail.key == 1
            if tail is not None and joins_tail and math.floor(tail.x_abs / width) == p:
                run += (tail.x_abs - p * width, tail.value)  # the line goes on from last frame
            page = p
        run += (x - p * width, v)
        last_key = key
    x, v, key, _ = found.points[-1]
    return runs, None if found.gap else TailPoint(x, v, key)


def visible_columns(drawn: int, width: int, erase_px: int) -> tuple[int, int]:
    """The absolute columns a sweep of ``width`` shows once drawn up to ``drawn`` (exclusive):
    one sweep back, less the erase bar ahead of the newest column."""
    return drawn - (width - erase_px), drawn


def column_x(t: float, px_per_s: float, width: int) -> float:
    """Where on a sweep of ``width`` the column of time ``t`` is drawn (its centre), as the
    trace draws it: column ``floor(t * px_per_s)`` at ``x = column mod width``."""
    return math.floor(t * px_per_s) % width + 0.5


def place_labels(
    centres: Sequence[float], widths: Sequence[float], gap: float = 2.0
) -> list[float]:
    """Left edges for labels centred on ``centres`` (in ascending order) that never overlap:
    a label that would touch the one before it moves right just enough."""
    lefts: list[float] = []
    right = -math.inf
    for centre, width in zip(centres, widths, strict=True):
        left = max(centre - width / 2, right + gap)
        lefts.append(left)
        right = left + width
    return lefts
