"""AF episodes from window verdicts: hysteresis, dating, and the events the monitor reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.analysis.af_features import AfModel

FloatArray = npt.NDArray[np.float64]

PERSIST_S = 30.0  # s a new episode must last to be announced: the usual minimum AF episode


@dataclass(frozen=True, slots=True)
class AfEvent:
    onset: bool  # True: AF began at ``sample``; False: it ended there
    sample: int
    announced_at: int  # the beat whose verdict decided (or the stream's end, or signal loss)


@dataclass(frozen=True, slots=True)
class Decision:
    """One verdict on the window that ends at beat ``sample``."""

    sample: int
    features: FloatArray
    probability: float
    anchor: int  # the beat half a window back: where an onset or offset is dated


class EpisodeTracker:
    """Hysteresis over verdicts: one onset and one offset per episode, never overlapping.

    AF starts once ``confirm`` verdicts in a row reach ``p_on`` and the episode, dated back to
    the first one's anchor, has lasted PERSIST_S; in the first PERSIST_S of monitoring it is
    announced without waiting (AF present when monitoring began has lasted for an unknown
    time, not a short one). AF ends once ``release`` verdicts in a row fall below ``p_off``,
    dated back to the first one's anchor."""

    def __init__(self, model: AfModel, fs: float) -> None:
        self.model = model
        self.in_af = False
        self.start = 0
        self._persist = round(PERSIST_S * fs)
        self._origin: int | None = None
        self._last_end = 0
        self._run = 0
        self._candidate = 0

    def update(self, decision: Decision) -> list[AfEvent]:
        model = self.model
        if self._origin is None:
            self._origin = decision.anchor
        if self.in_af:
            tipping = decision.probability < model.p_off
        else:
            tipping = decision.probability >= model.p_on
        if not tipping:
            self._run = 0
            return []
        if self._run == 0:
            floor = self.start if self.in_af else self._last_end
            self._candidate = max(decision.anchor, floor)
        self._run += 1
        if self._run < (model.release if self.in_af else model.confirm):
            return []
        if not self.in_af and not self._long_enough(decision.sample):
            return []
        self._run = 0
        self.in_af = not self.in_af
        if self.in_af:
            self.start = self._candidate
        else:
            self._last_end = self._candidate
        return [AfEvent(self.in_af, self._candidate, decision.sample)]

    def _long_enough(self, now: int) -> bool:
        """A new episode must have lasted PERSIST_S, unless it began within the first
        PERSIST_S of monitoring, when there is no established rhythm for it to interrupt."""
        early = self._origin is not None and self._candidate - self._origin < self._persist
        return early or now - self._candidate >= self._persist

    def close(self, end: int, now: int | None = None) -> list[AfEvent]:
        """End an open episode at ``end`` (stream end, or the last beat before signal loss)."""
        self._run = 0
        if not self.in_af:
            return []
        self.in_af = False
        self._last_end = max(end, self.start)
        return [AfEvent(False, self._last_end, end if now is None else now)]


def episodes_from_events(events: Sequence[AfEvent], n: int) -> list[tuple[int, int]]:
    """Pair onsets with offsets into (start, end) episodes clipped to [0, n]."""
    episodes: list[tuple[int, int]] = []
    start: int | None = None
    for event in events:
        if event.onset:
            start = event.sample
        elif start is not None:
            lo, hi = max(0, min(start, n)), max(0, min(event.sample, n))
            if episodes and lo <= episodes[-1][1]:
                lo = episodes[-1][1]
            if hi > lo:
                episodes.append((lo, hi))
            start = None
    return episodes
