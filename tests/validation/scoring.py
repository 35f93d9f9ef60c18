"""EC57 arithmetic: beat counts and rates, and AF episode and duration statistics.

Beats follow WFDB's ``bxb``: one-to-one matching within a window, ventricular flutter and
fibrillation excluded. AF follows WFDB's ``epic``: duration Se is the share of reference AF
time that the detector covers; duration +P is the share of detected AF time that the
reference calls AF, where detected time inside reference atrial flutter counts for nothing
(epic excludes flutter from AF +P; flutter is not AF, but calling it AF is not a false alarm
either: both are managed alike). Episode Se and +P count episodes with any overlap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tests.validation.matching import match_beats, outside

IndexArray = npt.NDArray[np.int64]
Intervals = list[tuple[int, int]]


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator in percent, or None when there is nothing to divide by."""
    return 100.0 * numerator / denominator if denominator > 0 else None


@dataclass(frozen=True, slots=True)
class BeatCounts:
    tp: int = 0
    fn: int = 0
    fp: int = 0

    def __add__(self, other: BeatCounts) -> BeatCounts:
        return BeatCounts(self.tp + other.tp, self.fn + other.fn, self.fp + other.fp)

    @property
    def reference(self) -> int:
        return self.tp + self.fn

    @property
    def se(self) -> float | None:
        return ratio(self.tp, self.tp + self.fn)

    @property
    def ppv(self) -> float | None:
        return ratio(self.tp, self.tp + self.fp)


def score_beats(
    reference: IndexArray, detected: IndexArray, fs: float, excluded: Intervals, start: int = 0
) -> BeatCounts:
    """Match within 150 ms over the whole record; count from sample ``start`` on, leaving out
    everything inside the ``excluded`` intervals (ventricular flutter/fibrillation)."""
    ref = np.sort(np.asarray(reference, np.int64))
    det = np.sort(np.asarray(detected, np.int64))
    ref = ref[outside(ref, excluded)]
    det = det[outside(det, excluded)]
    match = match_beats(ref, det, round(0.15 * fs))
    ref_in, det_in = ref >= start, det >= start
    tp = int((match.matched_reference & ref_in).sum())
    fn = int((~match.matched_reference & ref_in).sum())
    fp = int((~match.matched_detection & det_in).sum())
    return BeatCounts(tp, fn, fp)


def clip(intervals: Intervals, start: int, end: int) -> Intervals:
    """The parts of ``intervals`` inside [start, end)."""
    clipped = [(max(a, start), min(b, end)) for a, b in intervals]
    return [(a, b) for a, b in clipped if b > a]


def duration(intervals: Intervals) -> int:
    return sum(b - a for a, b in intervals)


def overlap(first: Intervals, second: Intervals) -> int:
    """Samples covered by both lists (each list's own intervals must not overlap)."""
    return sum(
        max(0, min(b, d) - max(a, c)) for a, b in first for c, d in second if b > c and d > a
    )


@dataclass(frozen=True, slots=True)
class AfCounts:
    """AF time (s) and episode tallies of one record or of many (summed)."""

    reference_s: float = 0.0  # reference AF
    covered_s: float = 0.0  # of which the detector called AF
    detected_s: float = 0.0  # the detector's AF outside reference flutter
    true_s: float = 0.0  # of which the reference calls AF
    ref_episodes: int = 0
    ref_found: int = 0  # reference episodes the detector overlaps
    det_episodes: int = 0  # detected episodes not wholly inside reference flutter
    det_true: int = 0  # detected episodes that overlap reference AF

    def __add__(self, other: AfCounts) -> AfCounts:
        return AfCounts(
            self.reference_s + other.reference_s,
            self.covered_s + other.covered_s,
            self.detected_s + other.detected_s,
            self.true_s + other.true_s,
            self.ref_episodes + other.ref_episodes,
            self.ref_found + other.ref_found,
            self.det_episodes + other.det_episodes,
            self.det_true + other.det_true,
        )

    @property
    def duration_se(self) -> float | None:
        return ratio(self.covered_s, self.reference_s)

    @property
    def duration_ppv(self) -> float | None:
        return ratio(self.true_s, self.detected_s)

    @property
    def episode_se(self) -> float | None:
        return ratio(self.ref_found, self.ref_episodes)

    @property
    def episode_ppv(self) -> float | None:
        return ratio(self.det_true, self.det_episodes)


def score_af(
    reference: Intervals,
    flutter: Intervals,
    detected: Intervals,
    span: tuple[int, int],
    fs: float,
) -> AfCounts:
    """AF statistics over the samples [start, end) = ``span`` of one record."""
    start, end = span
    ref, afl = clip(reference, start, end), clip(flutter, start, end)
    det = clip(detected, start, end)
    counted = [d for d in det if overlap([d], afl) < d[1] - d[0]]
    return AfCounts(
        reference_s=duration(ref) / fs,
        covered_s=overlap(ref, det) / fs,
        detected_s=(duration(det) - overlap(det, afl)) / fs,
        true_s=overlap(det, ref) / fs,
        ref_episodes=len(ref),
        ref_found=sum(1 for r in ref if overlap([r], det) > 0),
        det_episodes=len(counted),
        det_true=sum(1 for d in counted if overlap([d], ref) > 0),
    )
