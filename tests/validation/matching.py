"""EC57 beat-by-beat matching: one detection per reference beat within a time window."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IndexArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Match:
    true_positives: int
    false_negatives: int
    false_positives: int
    matched_reference: npt.NDArray[np.bool_]  # per reference beat
    matched_detection: npt.NDArray[np.bool_]  # per detection


def match_beats(reference: IndexArray, detected: IndexArray, window: int) -> Match:
    """Pair each reference beat with the nearest unpaired detection within ``window``
    samples, walking both sorted lists once (as WFDB's bxb does)."""
    ref = np.sort(np.asarray(reference, np.int64))
    det = np.sort(np.asarray(detected, np.int64))
    ref_hit = np.zeros(len(ref), bool)
    det_hit = np.zeros(len(det), bool)
    j = 0
    for i, r in enumerate(ref):
        while j < len(det) and det[j] < r - window:
            j += 1
        best = -1
        k = j
        while k < len(det) and det[k] <= r + window:
            nearer = best < 0 or abs(det[k] - r) < abs(det[best] - r)
            # A detection nearer the next reference beat is left for that beat.
            closer_to_next = i + 1 < len(ref) and abs(det[k] - ref[i + 1]) < abs(det[k] - r)
            if not det_hit[k] and nearer and not closer_to_next:
                best = k
            k += 1
        if best >= 0:
            ref_hit[i] = det_hit[best] = True
    tp = int(ref_hit.sum())
    return Match(tp, len(ref) - tp, len(det) - int(det_hit.sum()), ref_hit, det_hit)


def outside(samples: IndexArray, intervals: list[tuple[int, int]]) -> npt.NDArray[np.bool_]:
    """True for each sample that lies in none of the [start, end] intervals."""
    keep = np.ones(len(samples), bool)
    for start, end in intervals:
        keep &= (samples < start) | (samples > end)
    return keep
