"""The rhythm the alarms need, decided beat by beat and tick by tick.

One label at a time, by precedence: ASYSTOLE > VF > VT > AF > BIGEMINY > TRIGEMINY >
BRADY > TACHY > SINUS. NO_SIGNAL while the ECG is missing or a lead is off (asystole is
never called on a signal nobody can see), LEARNING before the first rate. Ectopy that does
not change the label (couplets, pauses) comes as its own events, and PVCs per minute as a
number.
"""

from __future__ import annotations

import enum
import itertools
from collections import deque
from dataclasses import dataclass

from app.analysis.atrial_fibrillation import af_episodes
from app.analysis.morphology import BeatClass

__all__ = [
    "Observation",
    "RhythmConfig",
    "RhythmEngine",
    "RhythmEvent",
    "RhythmLabel",
    "af_episodes",
]


# The last beats (N normal, V ventricular) that make a pattern, read at any phase.
BIGEMINY = frozenset({"NV" * 4, "VN" * 4})
TRIGEMINY = frozenset({"NNV" * 3, "NVN" * 3, "VNN" * 3})


HYSTERESIS_BPM = 5.0
SVE_RUN_BEATS = 4  # supraventricular beats in a row that make a run (3 intervals to judge)
SVE_REGULAR = 0.15  # spread of a supraventricular run's RR intervals, as a share of their mean


class RhythmLabel(enum.Enum):
    NO_SIGNAL = "NO_SIGNAL"
    LEARNING = "LEARNING"
    ASYSTOLE = "ASYSTOLE"
    VF = "VF"
    VT = "VT"
    AF = "AF"
    BIGEMINY = "BIGEMINY"
    TRIGEMINY = "TRIGEMINY"
    BRADY = "BRADY"
    TACHY = "TACHY"
    SINUS = "SINUS"


IMMEDIATE = frozenset({RhythmLabel.ASYSTOLE, RhythmLabel.VF, RhythmLabel.VT, RhythmLabel.NO_SIGNAL})
SETTLE_S = 2.0


@dataclass(frozen=True, slots=True)
class RhythmConfig:
    asystole_s: float = 4.0  # vendors' default: no QRS for 4 s
    pause_s: float = 2.5  # a missing beat long enough to report, short of asystole
    brady_bpm: float = 50.0
    tachy_bpm: float = 120.0
    vt_beats: int = 3  # a run of this many ventricular beats ...
    vt_bpm: float = 100.0  # ... faster than this is VT
    pvc_window_s: float = 60.0

    def __post_init__(self) -> None:
        if not 0 < self.pause_s < self.asystole_s:
            raise ValueError("the pause limit must be positive and shorter than asystole's")
        if not 0 < self.brady_bpm < self.tachy_bpm:
            raise ValueError("the bradycardia limit must be below the tachycardia limit")
        if self.vt_beats < 3:
            raise ValueError("VT needs a run of at least 3 beats")


@dataclass(frozen=True, slots=True)
class RhythmEvent:
    time: float  # s since the start of the stream, when the analysis could tell
    kind: str  # "rhythm" (the label changed) or "ectopy"
    name: str  # a RhythmLabel value, or COUPLET / PAUSE


@dataclass(frozen=True, slots=True)
class Observation:
    """What the rest of the analysis tells the rhythm engine at one moment."""

    now: float  # s; every beat before this has been decided
    stamp: float  # s; the newest sample, when the analysis could tell (events carry it)
    heart_rate: float | None
    vf: bool
    af: bool
    signal_ok: bool  # ECG present and leads on


class RhythmEngine:
    def __init__(self, config: RhythmConfig | None = None) -> None:
        self.config = config or RhythmConfig()
        self.label = RhythmLabel.LEARNING
        self._classes: deque[BeatClass] = deque(maxlen=9)
        self._beat_times: deque[float] = deque(maxlen=self.config.vt_beats + 1)
        self._run: list[float] = []  # times of the current run of ventricular beats
        self._sve_run: list[float] = []  # ... and of supraventricular ones
        self._pvcs: deque[float] = deque()
        self._last_beat: float | None = None
        self._watch_from = 0.0  # asystole is timed from the last beat or the signal's return
        self._paused = False
        self._vt = False
        self._candidate: tuple[RhythmLabel, float] | None = None  # a change waiting to settle

    def add_beat(self, time: float, beat_class: BeatClass, stamp: float) -> list[RhythmEvent]:
        """A beat and its class at once (``beat_seen`` then ``classified``)."""
        self.beat_seen(time)
        return self.classified(time, beat_class, stamp)

    def beat_seen(self, time: float) -> None:
        """A beat was detected: the asystole and pause timers restart now, whatever its
        class turns out to be (a class may come later, from the beat classifier)."""
        self._last_beat = time
        self._watch_from = time
        self._paused = False

    def classified(self, time: float, beat_class: BeatClass, stamp: float) -> list[RhythmEvent]:
        """A beat's class, in beat order: runs, VT, patterns, PVC and SVE counts."""
        events: list[RhythmEvent] = []
        self._classes.append(beat_class)
        if beat_class is BeatClass.VENTRICULAR:
            self._run.append(time)
            self._pvcs.append(time)
        else:
            if len(self._run) == 2:
                events.append(RhythmEvent(stamp, "ectopy", "COUPLET"))
            self._run = []
        events += self._supraventricular(time, beat_class, stamp)
        self._vt = self._is_vt()
        return events

    def _supraventricular(self, time: float, beat_class: BeatClass, stamp: float
                          ) -> list[RhythmEvent]:  # fmt: skip
        """A run of supraventricular beats faster than the VT rate, reported once a run."""
        if beat_class is not BeatClass.SUPRAVENTRICULAR:
            self._sve_run = []
            return []
        self._sve_run.append(time)
        run = self._sve_run
        if len(run) != SVE_RUN_BEATS or self.label is RhythmLabel.AF:
            return []
        rr = [b - a for a, b in itertools.pairwise(run)]
        mean_rr = sum(rr) / len(rr)
        fast = mean_rr > 0 and 60.0 / mean_rr > self.config.vt_bpm
        # A supraventricular run is regular; irregular "runs" are AF's beats, which the
        # classifier may call S.
        regular = max(rr) - min(rr) <= SVE_REGULAR * mean_rr
        return [RhythmEvent(stamp, "ectopy", "SVE_RUN")] if fast and regular else []

    def signal_lost(self, until: float) -> None:
        """No ECG (gap, lead off) up to ``until``: time asystole from the signal's return."""
        self._watch_from = max(self._watch_from, until)

    def update(self, seen: Observation) -> list[RhythmEvent]:
        """Re-decide the label from what the analysis sees at one moment."""
        events: list[RhythmEvent] = []
        while self._pvcs and self._pvcs[0] < seen.now - self.config.pvc_window_s:
            self._pvcs.popleft()
        silent = seen.now - self._watch_from
        pause = self.config.pause_s <= silent < self.config.asystole_s
        if seen.signal_ok and pause and not self._paused and self._last_beat is not None:
            self._paused = True
            events.append(RhythmEvent(seen.stamp, "ectopy", "PAUSE"))
        label = self._settle(self._decide(silent, seen), seen.now)
        if label is not self.label:
            self.label = label
            events.append(RhythmEvent(seen.stamp, "rhythm", label.value))
        return events

    def _settle(self, label: RhythmLabel, now: float) -> RhythmLabel:
        """Lethal rhythms and lost signal count at once; any other change must hold for
        SETTLE_S, so a rate or pattern at the edge of a rule does not flicker."""
        if label in IMMEDIATE or self.label in (RhythmLabel.LEARNING, RhythmLabel.NO_SIGNAL):
            self._candidate = None
            return label
        if label is self.label:
            self._candidate = None
            return label
        if self._candidate is None or self._candidate[0] is not label:
            self._candidate = (label, now)
        return label if now - self._candidate[1] >= SETTLE_S else self.label

    @property
    def pvc_per_minute(self) -> float:
        return len(self._pvcs) * 60.0 / self.config.pvc_window_s

    def _decide(self, silent: float, seen: Observation) -> RhythmLabel:
        rate = seen.heart_rate
        pattern = "".join("V" if c is BeatClass.VENTRICULAR else "N" for c in self._classes)
        # In order of precedence: the first that holds is the rhythm.
        verdicts = (
            (not seen.signal_ok, RhythmLabel.NO_SIGNAL),
            (silent >= self.config.asystole_s, RhythmLabel.ASYSTOLE),
            (seen.vf, RhythmLabel.VF),
            (self._vt, RhythmLabel.VT),
            (rate is None, RhythmLabel.LEARNING),
            (seen.af, RhythmLabel.AF),
            (pattern[-8:] in BIGEMINY, RhythmLabel.BIGEMINY),
            (pattern[-9:] in TRIGEMINY, RhythmLabel.TRIGEMINY),
            (rate is not None and rate < self._limit(RhythmLabel.BRADY), RhythmLabel.BRADY),
            (rate is not None and rate > self._limit(RhythmLabel.TACHY), RhythmLabel.TACHY),
        )
        return next((label for holds, label in verdicts if holds), RhythmLabel.SINUS)

    def _limit(self, label: RhythmLabel) -> float:
        """A rate limit, eased by the hysteresis once crossed, so a rate hovering at the
        limit does not flicker between two rhythms."""
        if label is RhythmLabel.BRADY:
            held = self.label is RhythmLabel.BRADY
            return self.config.brady_bpm + (HYSTERESIS_BPM if held else 0.0)
        held = self.label is RhythmLabel.TACHY
        return self.config.tachy_bpm - (HYSTERESIS_BPM if held else 0.0)

    def _is_vt(self) -> bool:
        run = self._run[-self.config.vt_beats :]
        if len(run) < self.config.vt_beats:
            return False
        mean_rr = (run[-1] - run[0]) / (len(run) - 1)
        return mean_rr > 0 and 60.0 / mean_rr > self.config.vt_bpm
