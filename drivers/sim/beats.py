"""Beat timing: when the ventricles contract, and what kind of beat each one is.

Sinus rhythm carries physiological heart-rate variability (a respiratory component and a
0.1-Hz Mayer-wave component, both zero-mean, so the mean RR interval is exactly 60/HR). PVCs
come early (coupling 0.55-0.65 of the RR) and leave a full compensatory pause. AF has
independent, irregular RR intervals; VT is fast and regular; VF and asystole have no beats.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from drivers.sim.timeline import Ectopy, PhysiologyState, Rhythm, first_change


class BeatKind(enum.Enum):
    SINUS = "N"
    PVC = "V"
    AF = "AF"  # a conducted beat in atrial fibrillation: normal QRS, no P wave
    VT = "VT"


@dataclass(frozen=True, slots=True)
class Beat:
    t: float  # time of the R peak, seconds from the start of the run
    kind: BeatKind
    rr: float  # interval since the previous beat (seconds)
    stroke: float  # relative stroke volume: the size of the pulse this beat produces


StateAt = Callable[[float], PhysiologyState]
_NO_BEAT_PROBE = 0.05  # how often to look again for a rhythm with beats during VF or asystole


class BeatScheduler:
    """Generates beats in time order, on demand, deterministically for a given generator."""

    def __init__(self, rng: np.random.Generator, state_at: StateAt) -> None:
        self._rng = rng
        self._state_at = state_at
        self._lf_phase = rng.uniform(0, 2 * math.pi)
        self._rsa_phase = rng.uniform(0, 2 * math.pi)
        first = rng.uniform(0.1, 0.6)
        self._last_beat = first - 0.8  # a virtual beat just before the run starts
        self._last_kind = BeatKind.SINUS
        self._next_sinus = first  # when the sinus node fires next
        self._cursor = first  # beats are decided up to this time
        self._pending_pvcs = 0  # PVCs still to come in a couplet
        self._since_pvc = 1  # sinus beats since the last PVC (bigeminy, trigeminy)
        self._queue: deque[Beat] = deque()

    def beats_until(self, t_end: float) -> list[Beat]:
        """Every beat with ``t < t_end`` that has not been returned before."""
        out: list[Beat] = []
        while True:
            while not self._queue and self._cursor < t_end:
                self._generate()
            if not self._queue or self._queue[0].t >= t_end:
                return out
            out.append(self._queue.popleft())

    def _generate(self) -> None:
        """Queue the next beat, or move the cursor through a stretch without beats."""
        t = self._cursor
        state = self._state_at(t)
        rr_mean = 60.0 / max(state.hr, 1.0)
        if state.rhythm in (Rhythm.VF, Rhythm.ASYSTOLE):
            self._cursor = t + _NO_BEAT_PROBE
            self._next_sinus = self._cursor
        elif state.rhythm is Rhythm.AFIB:
            rr = self._af_interval(rr_mean)
            if self._emit(max(self._last_beat + rr, t), BeatKind.AF, _stroke_after(rr, rr_mean)):
                self._next_sinus = self._last_beat + rr_mean
        elif state.rhythm is Rhythm.VT:
            rr = rr_mean * (1.0 + 0.015 * self._rng.standard_normal())
            if self._emit(max(self._last_beat + rr, t), BeatKind.VT, stroke=0.25):
                self._next_sinus = self._last_beat + rr_mean
        else:
            self._sinus_or_ectopic(state, rr_mean)

    def _sinus_or_ectopic(self, state: PhysiologyState, rr_mean: float) -> None:
        t_sinus = max(self._next_sinus, self._last_beat + 0.25, self._cursor)
        if self._pending_pvcs > 0 or self._wants_pvc(state, rr_mean):
            t_pvc = self._last_beat + self._rng.uniform(0.55, 0.65) * rr_mean
            if self._cursor <= t_pvc < t_sinus - 0.05:  # premature, or it is no PVC
                if not self._emit(t_pvc, BeatKind.PVC, stroke=0.35):
                    return
                if self._pending_pvcs > 0:
                    self._pending_pvcs -= 1
                elif state.ectopy is Ectopy.RANDOM and self._rng.random() < 0.12:
                    self._pending_pvcs = 1  # a couplet
                self._since_pvc = 0
                # The sinus beats that fall in the PVC's refractory period are not conducted:
                # the compensatory pause.
                refractory_end = t_pvc + 0.4 * rr_mean + 0.1
                while self._next_sinus < refractory_end:
                    self._next_sinus += self._sinus_interval(self._next_sinus, rr_mean, state.rr)
                return
            self._pending_pvcs = 0
        stroke = 1.35 if self._last_kind is BeatKind.PVC else 1.0  # post-extrasystolic beat
        if not self._emit(t_sinus, BeatKind.SINUS, stroke):
            return
        self._since_pvc += 1
        self._next_sinus = t_sinus + self._sinus_interval(t_sinus, rr_mean, state.rr)

    def _wants_pvc(self, state: PhysiologyState, rr_mean: float) -> bool:
        if state.ectopy is Ectopy.BIGEMINY:
            return self._since_pvc >= 1
        if state.ectopy is Ectopy.TRIGEMINY:
            return self._since_pvc >= 2
        if state.ectopy is Ectopy.RANDOM:
            return bool(self._rng.random() < state.pvc_per_min * rr_mean / 60.0)
        return False

    def _sinus_interval(self, t: float, rr_mean: float, resp_rate: float) -> float:
        # Zero-mean modulation keeps the mean RR at 60/HR; variability shrinks at high rates.
        scale = min(1.0, 70.0 * rr_mean / 60.0)
        resp_hz = max(resp_rate, 6.0) / 60.0
        rsa = 0.035 * scale * math.sin(2 * math.pi * resp_hz * t + self._rsa_phase)
        lf = 0.02 * scale * math.sin(2 * math.pi * 0.1 * t + self._lf_phase)
        noise = 0.008 * scale * self._rng.standard_normal()
        return rr_mean * (1.0 + rsa + lf + noise)

    def _af_interval(self, rr_mean: float) -> float:
        # Lognormal with a coefficient of variation near 0.22, scaled to keep the mean RR.
        sigma = 0.22
        rr = rr_mean * math.exp(sigma * self._rng.standard_normal() - sigma**2 / 2)
        return min(max(rr, 0.28), 2.2)

    def _emit(self, t: float, kind: BeatKind, stroke: float) -> bool:
        """Queue a beat planned under the rhythm at the cursor, if that rhythm still holds at
        ``t``; otherwise move the cursor to the moment the rhythm changes and say so."""
        rhythm = self._state_at(self._cursor).rhythm
        if self._state_at(t).rhythm is not rhythm:
            self._cursor = first_change(self._cursor, t, lambda x: self._state_at(x).rhythm)
            return False
        self._queue.append(Beat(t=t, kind=kind, rr=t - self._last_beat, stroke=stroke))
        self._last_beat = t
        self._last_kind = kind
        self._cursor = t
        return True


def _stroke_after(rr: float, rr_mean: float) -> float:
    """Frank-Starling in one line: a longer filling time gives a bigger beat."""
    return min(max(0.55 + 0.45 * rr / rr_mean, 0.35), 1.3)
