"""Photoplethysmogram (pleth) synthesis: one pulse wave per effective heartbeat.

Each pulse arrives a pulse-transit time after its R peak; its size follows the beat's stroke
volume (a PVC gives a small pulse, the beat after it a large one) and the patient's perfusion.
The shape is a systolic peak and a smaller diastolic (dicrotic) wave, in arbitrary units.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import numpy.typing as npt

from drivers.sim.beats import Beat
from drivers.sim.overlay import WaveOverlay
from drivers.sim.timeline import PhysiologyState

FloatArray = npt.NDArray[np.float64]

_SHAPE = ((0.12, 1.0, 0.055), (0.38, 0.38, 0.095))  # (delay after foot, size, sigma)
_SUPPORT = 0.95  # a pulse has died away this long after its foot (seconds)


def _pulse(t: FloatArray, foot: float, size: float) -> FloatArray:
    y = np.zeros(len(t))
    for delay, rel, sigma in _SHAPE:
        y += size * rel * np.exp(-0.5 * ((t - foot - delay) / sigma) ** 2)
    return y


def pulse_transit_time(sbp: float) -> float:
    """R peak to the foot of the pulse; shorter when the pressure is high."""
    return min(max(0.20 + (120.0 - sbp) * 0.0012, 0.14), 0.32)


class PlethRenderer:
    def __init__(self, fs: float, rng: np.random.Generator) -> None:
        self.fs = fs
        self._rng = rng
        self._pulses = WaveOverlay(fs)
        self._resp_phase = rng.uniform(0, 2 * math.pi)

    def add_beats(self, beats: list[Beat], state: PhysiologyState) -> list[float]:
        """Render the pulse of each beat once; returns the times the pulses peak."""
        peaks = []
        for beat in beats:
            if beat.stroke <= 0:
                continue
            foot = beat.t + pulse_transit_time(state.sbp)
            size = beat.stroke * state.perfusion
            self._pulses.add(foot, foot + _SUPPORT, functools.partial(_pulse, foot=foot, size=size))
            peaks.append(foot + _SHAPE[0][0])
        return peaks

    def render(self, n0: int, n: int, state: PhysiologyState) -> FloatArray:
        y = self._pulses.render(n0, n)
        resp_hz = max(state.rr, 4.0) / 60.0
        phases = self._resp_phase + 2 * math.pi * resp_hz / self.fs * np.arange(n)
        self._resp_phase = float(phases[-1] + 2 * math.pi * resp_hz / self.fs) % (2 * math.pi)
        y += 0.06 * state.perfusion * np.sin(phases)
        y += self._rng.normal(0.0, 0.006, n)
        return y
