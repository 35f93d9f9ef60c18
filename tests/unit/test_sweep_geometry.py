"""Sweep geometry: decimation keeps spikes, NaN stays a gap, the sweep wraps, frames join."""

from __future__ import annotations

import math

from widgets.sweep_geometry import Run, TailPoint, sweep_runs


def runs_for(
    data: list[float],
    *,
    fs: float,
    pxs: float,
    cols: tuple[int, int],
    tail: TailPoint | None = None,
    t_first: float = 0.0,
    first_index: int = 0,
) -> tuple[list[Run], TailPoint | None]:
    return sweep_runs(
        data, first_index=first_index, t_first=t_first, sample_rate=fs, columns=cols,
        px_per_s=pxs,
        width=100, tail=tail,
    )  # fmt: skip


def points(run: list[float]) -> list[tuple[float, float]]:
    return list(zip(run[0::2], run[1::2], strict=True))


def test_envelope_keeps_a_one_sample_spike() -> None:
    data = [0.0] * 40
    data[21] = 5.0  # 10 samples per column: the spike is in column 2
    runs, tail = runs_for(data, fs=1000.0, pxs=100.0, cols=(0, 4))
    assert len(runs) == 1
    pts = points(runs[0])
    assert len(pts) == 16  # first, min, max, last for four columns
    assert (2.5, 5.0) in pts
    assert max(v for _, v in pts) == 5.0
    assert tail == TailPoint(3.5, 0.0, 3)


def test_nan_samples_break_the_line_and_whole_missing_columns_leave_a_gap() -> None:
    data = [1.0] * 10 + [math.nan] * 20 + [2.0] * 10
    runs, _ = runs_for(data, fs=1000.0, pxs=100.0, cols=(0, 4))
    assert [sorted({x for x, _ in points(r)}) for r in runs] == [[0.5], [3.5]]


def test_raw_mode_draws_every_sample_and_breaks_at_nan() -> None:
    data = [0.0, 1.0, 2.0, math.nan, 4.0, 5.0]
    runs, tail = runs_for(data, fs=10.0, pxs=10.0, cols=(0, 6))
    assert [points(r) for r in runs] == [[(0, 0), (1, 1), (2, 2)], [(4, 4), (5, 5)]]
    assert tail == TailPoint(5.0, 5.0, 5)


def test_the_sweep_wraps_at_the_right_edge() -> None:
    data = [float(i) for i in range(8)]
    runs, _ = runs_for(data, fs=10.0, pxs=10.0, cols=(96, 104), t_first=9.6)
    assert [points(r) for r in runs] == [
        [(96, 0), (97, 1), (98, 2), (99, 3)],
        [(0, 4), (1, 5), (2, 6), (3, 7)],
    ]


def test_a_frame_joins_the_previous_frames_last_point_only_when_continuous() -> None:
    tail = TailPoint(4.0, 9.0, key=-1)  # the sample before index 0
    runs, _ = runs_for([1.0, 2.0], fs=10.0, pxs=10.0, cols=(5, 7), t_first=0.5, tail=tail)
    assert points(runs[0]) == [(4.0, 9.0), (5, 1), (6, 2)]
    far = TailPoint(4.0, 9.0, key=-5)
    runs, _ = runs_for([1.0, 2.0], fs=10.0, pxs=10.0, cols=(5, 7), t_first=0.5, tail=far)
    assert points(runs[0]) == [(5, 1), (6, 2)]


def test_a_trailing_gap_leaves_no_tail_to_join() -> None:
    runs, tail = runs_for([1.0, 2.0, math.nan], fs=10.0, pxs=10.0, cols=(0, 3))
    assert tail is None
    assert len(runs) == 1


def test_a_missing_sample_between_two_columns_breaks_the_line() -> None:
    data = [1.0] * 9 + [math.nan] + [2.0] * 10  # the NaN is the last sample of column 0
    runs, _ = runs_for(data, fs=1000.0, pxs=100.0, cols=(0, 2))
    assert [sorted({x for x, _ in points(r)}) for r in runs] == [[0.5], [1.5]]


def test_a_frame_too_short_for_any_sample_keeps_the_line_going() -> None:
    """At 50 mm/s a 125-Hz pleth has fewer samples than columns: a one-column frame may
    hold none, and the next frame must still join the last drawn sample."""
    _, tail = runs_for([0.0, 1.0], fs=10.0, pxs=15.0, cols=(0, 2))
    assert tail == TailPoint(1.5, 1.0, 1)
    empty, kept = runs_for(
        [1.0, 2.0], fs=10.0, pxs=15.0, cols=(2, 3), t_first=0.1, tail=tail, first_index=1
    )
    assert empty == []
    assert kept == tail
    runs, _ = runs_for([2.0], fs=10.0, pxs=15.0, cols=(3, 4), t_first=0.2, tail=kept, first_index=2)
    assert points(runs[0]) == [(1.5, 1.0), (3.0, 2.0)]
