"""ECG lead II synthesis: each beat is a sum of Gaussian waves (P, Q, R, S, T), after the
time-domain form of McSharry et al.'s ECGSYN (IEEE TBME 2003), plus f-waves in AF, a
fibrillatory signal in VF, baseline wander and measurement noise. Units are millivolts.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from drivers.sim.beats import Beat, BeatKind
from drivers.sim.overlay import WaveOverlay
from drivers.sim.timeline import PhysiologyState, Rhythm

FloatArray = npt.NDArray[np.float64]

# A beat's waves lie within this window around its R peak (seconds).
SUPPORT_BEFORE = 0.32
SUPPORT_AFTER = 0.80


@dataclass(frozen=True, slots=True)
class Wave:
    offset: float  # centre relative to the R peak, at an RR interval of 1 s (seconds)
    amplitude: float  # mV
    width: float  # Gaussian sigma (seconds)
    repolarisation: bool = False  # T waves move with sqrt(RR) (QT adapts to rate, Bazett)


def _sinus_waves(p: float, r: float, t: float) -> tuple[Wave, ...]:
    return (
        Wave(-0.165, 0.13 * p, 0.022),  # P
        Wave(-0.027, -0.09 * r, 0.008),  # Q
        Wave(0.0, 1.10 * r, 0.0105),  # R
        Wave(0.029, -0.24 * r, 0.0095),  # S
        Wave(0.250, 0.28 * t, 0.046, repolarisation=True),  # T, two Gaussians for its asymmetry
        Wave(0.292, 0.10 * t, 0.030, repolarisation=True),
    )


@dataclass(frozen=True, slots=True)
class Morphology:
    """One patient's beat shapes (lead II), varied per patient from the seed."""

    sinus: tuple[Wave, ...]
    conducted_af: tuple[Wave, ...]  # sinus QRS-T without a P wave
    pvc: tuple[Wave, ...]
    vt: tuple[Wave, ...]

    @classmethod
    def for_patient(cls, rng: np.random.Generator) -> Morphology:
        p, r, t = rng.uniform(0.75, 1.3), rng.uniform(0.8, 1.5), rng.uniform(0.7, 1.25)
        sinus = _sinus_waves(p, r, t)
        sign = -1.0 if rng.random() < 0.3 else 1.0  # PVC polarity depends on its focus
        pvc = (
            Wave(-0.035, 0.30 * sign, 0.028),
            Wave(0.025, 1.45 * sign * r, 0.030),
            Wave(0.095, -0.45 * sign, 0.032),
            Wave(0.320, -0.42 * sign, 0.070, repolarisation=True),  # discordant T
        )
        vt = (
            Wave(-0.02, 0.25 * sign, 0.030),
            Wave(0.03, 1.30 * sign * r, 0.034),
            Wave(0.11, -0.55 * sign, 0.038),
            Wave(0.30, -0.35 * sign, 0.060, repolarisation=True),
        )
        return cls(sinus, sinus[1:], pvc, vt)

    def waves(self, kind: BeatKind) -> tuple[Wave, ...]:
        return {
            BeatKind.SINUS: self.sinus,
            BeatKind.AF: self.conducted_af,
            BeatKind.PVC: self.pvc,
            BeatKind.VT: self.vt,
        }[kind]


class EcgRenderer:
    """Renders consecutive blocks of lead II; keeps the state that must run across blocks."""

    def __init__(self, fs: float, rng: np.random.Generator, morphology: Morphology) -> None:
        self.fs = fs
        self._rng = rng
        self._morphology = morphology
        self._beats = WaveOverlay(fs)
        self._resp_phase = rng.uniform(0, 2 * math.pi)
        self._drift_phase = rng.uniform(0, 2 * math.pi)
        self._f_phase = 0.0
        self._f_freq = 6.0
        self._vf_phases = rng.uniform(0, 2 * math.pi, size=2)
        self._vf_freq = np.array([4.8, 7.1])
        self._vf_start: float | None = None

    def add_beats(self, beats: list[Beat], state: PhysiologyState) -> None:
        """Render each beat once, on its own stretch of the sample grid."""
        resp_hz = max(state.rr, 4.0) / 60.0
        for beat in beats:
            gain = 1.0 + 0.05 * math.sin(2 * math.pi * resp_hz * beat.t + self._resp_phase)
            shape = functools.partial(self._beat_samples, beat=beat, gain=gain)
            self._beats.add(beat.t - SUPPORT_BEFORE, beat.t + SUPPORT_AFTER, shape)

    def render(self, n0: int, n: int, state: PhysiologyState) -> FloatArray:
        """Samples ``n0 .. n0+n-1``; ``state`` is the patient's state during the block."""
        t = (n0 + np.arange(n)) / self.fs
        y = self._beats.render(n0, n)
        resp_hz = max(state.rr, 4.0) / 60.0
        y += self._baseline(t, resp_hz, n)
        if state.rhythm is Rhythm.AFIB:
            y += self._f_waves(n)
        if state.rhythm is Rhythm.VF:
            self._vf_start = t[0] if self._vf_start is None else self._vf_start
            y += self._fibrillation(n, t[0] - self._vf_start)
        else:
            self._vf_start = None
        y += self._rng.normal(0.0, 0.010, n)
        return y

    def _beat_samples(self, t: FloatArray, beat: Beat, gain: float) -> FloatArray:
        qt_scale = math.sqrt(min(max(beat.rr, 0.3), 1.6))
        y = np.zeros(len(t))
        for wave in self._morphology.waves(beat.kind):
            centre = beat.t + wave.offset * (qt_scale if wave.repolarisation else 1.0)
            y += gain * wave.amplitude * np.exp(-0.5 * ((t - centre) / wave.width) ** 2)
        return y

    def _baseline(self, t: FloatArray, resp_hz: float, n: int) -> FloatArray:
        dt = 1.0 / self.fs
        phases = self._resp_phase + 2 * math.pi * resp_hz * dt * np.arange(n)
        self._resp_phase = float(phases[-1] + 2 * math.pi * resp_hz * dt) % (2 * math.pi)
        wander: FloatArray = 0.045 * np.sin(phases)
        wander += 0.025 * np.sin(2 * math.pi * 0.043 * t + self._drift_phase)
        return wander

    def _f_waves(self, n: int) -> FloatArray:
        # Atrial activity at 5-7 Hz whose rate and size wander: irregular, never a P wave.
        self._f_freq = min(max(self._f_freq + 0.15 * self._rng.standard_normal(), 5.0), 7.0)
        phases = self._f_phase + 2 * math.pi * self._f_freq / self.fs * np.arange(1, n + 1)
        self._f_phase = float(phases[-1]) % (2 * math.pi)
        amplitude = 0.055 * (1.0 + 0.25 * self._rng.standard_normal())
        waves: FloatArray = amplitude * (np.sin(phases) + 0.35 * np.sin(2 * phases + 0.6))
        return waves

    def _fibrillation(self, n: int, elapsed: float) -> FloatArray:
        # Coarse VF (about 0.6 mV) fading to fine VF (about 0.2 mV) over three minutes.
        jitter = 0.25 * self._rng.standard_normal(2)
        self._vf_freq = np.clip(self._vf_freq + jitter, [3.8, 5.8], [6.2, 8.6])
        steps = np.arange(1, n + 1)[:, None]
        phases = self._vf_phases + 2 * math.pi * self._vf_freq / self.fs * steps
        self._vf_phases = phases[-1] % (2 * math.pi)
        size = 0.2 + 0.4 * math.exp(-elapsed / 120.0)
        size *= 1.0 + 0.2 * self._rng.standard_normal()
        mixed: FloatArray = size * (np.sin(phases[:, 0]) + 0.45 * np.sin(phases[:, 1]))
        return mixed
