"""Impedance respiration synthesis: breaths with an inspiratory rise (about 40 % of the
cycle) and a slower expiratory fall, breath-to-breath variation in depth and length, and a
small cardiogenic oscillation at each heartbeat. Units are ohms (the AC part of the impedance).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from drivers.sim.beats import Beat
from drivers.sim.timeline import PhysiologyState

FloatArray = npt.NDArray[np.float64]

_INSPIRATION = 0.4  # fraction of the breath cycle
_APNOEA_BELOW = 2.0  # breaths per minute: at a lower set rate the patient stops breathing


class RespRenderer:
    def __init__(self, fs: float, rng: np.random.Generator) -> None:
        self.fs = fs
        self._rng = rng
        self._phase = rng.uniform(0.0, 1.0)  # breaths, fractional part is the position in one
        self._rate = 0.0  # breaths per second of the breath under way
        self._depth = 0.6
        self._started = False
        self._beats: list[float] = []
        self.breath_starts: list[float] = []  # times breaths began, for the device's RR count

    def add_beats(self, beats: list[Beat]) -> None:
        self._beats.extend(b.t for b in beats)

    def render(self, n0: int, n: int, state: PhysiologyState) -> FloatArray:
        t = (n0 + np.arange(n)) / self.fs
        y = np.empty(n)
        for i in range(n):  # per sample: a breath may start anywhere in the block
            y[i] = self._advance(float(t[i]), state)
        for beat in self._beats:
            if beat - 0.3 <= t[-1] and beat + 0.5 >= t[0]:
                y += 0.035 * np.exp(-0.5 * ((t - beat - 0.12) / 0.06) ** 2)
        self._beats = [b for b in self._beats if b + 0.5 >= t[-1]]
        y += self._rng.normal(0.0, 0.006, n)
        return y

    def _advance(self, t: float, state: PhysiologyState) -> float:
        if self._rate == 0.0 and state.rr >= _APNOEA_BELOW:
            # Breathing (re)starts; the first breath of the run is already under way.
            self._start_breath(t, state, counted=self._started)
            self._started = True
        whole = math.floor(self._phase)
        self._phase += self._rate / self.fs
        if math.floor(self._phase) > whole:  # this breath ended
            self._phase = float(math.floor(self._phase))
            if state.rr >= _APNOEA_BELOW:
                self._start_breath(t, state)
            else:
                self._rate = 0.0
        frac = self._phase - math.floor(self._phase)
        if frac < _INSPIRATION:
            level = 0.5 * (1.0 - math.cos(math.pi * frac / _INSPIRATION))
        else:
            level = 0.5 * (1.0 + math.cos(math.pi * (frac - _INSPIRATION) / (1 - _INSPIRATION)))
        return self._depth * (level - 0.35)

    def _start_breath(self, t: float, state: PhysiologyState, counted: bool = True) -> None:
        self._rate = state.rr / 60.0 * (1.0 + 0.07 * self._rng.standard_normal())
        self._depth = 0.6 * (1.0 + 0.12 * self._rng.standard_normal())
        if counted:
            self.breath_starts.append(t)
