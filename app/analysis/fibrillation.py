"""Ventricular fibrillation/flutter: a disorganised, near-sinusoidal wave with no QRS.

The measure is Kuo & Dillman's VF-filter leakage (1978): a notch tuned to the signal's own
mean period removes almost all of a sinusoid-like VF wave but leaks much of a signal made of
sharp QRS complexes. Cheap enough to run every tick for every bed.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

WINDOW = 4.0  # s analysed; vendors call VF after ~4 s of fibrillatory wave
LEAKAGE_LIMIT = 0.5  # stricter than the published 0.625: MIT-BIH VT and AF leak 0.57-0.62
MIN_AMPLITUDE = 0.15  # mV; below this the wave is fine VF or asystole, left to asystole
MIN_PERIOD, MAX_PERIOD = 1 / 12.0, 1 / 2.0  # s; VF waves run at about 2-12 Hz


def vf_leakage(ecg: FloatArray, fs: float) -> float:
    """Leakage in [0, 1]: small for a VF-like wave, large for organised QRS complexes.

    Returns 1.0 (not VF) for windows that are too short, flat or contain NaN."""
    if ecg.size < 2 or not np.isfinite(ecg).all():
        return 1.0
    x = ecg - ecg.mean()
    slope = np.abs(np.diff(x)).sum()
    if slope <= 0:
        return 1.0
    half_period = int(np.pi * np.abs(x).sum() / slope + 0.5)  # of the mean wave
    shortest = max(1, round(MIN_PERIOD * fs / 2))
    longest = round(MAX_PERIOD * fs / 2)
    if not shortest <= half_period <= longest or half_period >= x.size:
        return 1.0
    now, then = x[half_period:], x[:-half_period]
    total = float((np.abs(now) + np.abs(then)).sum())
    return float(np.abs(now + then).sum()) / total if total > 0 else 1.0


def looks_like_vf(ecg: FloatArray, fs: float) -> bool:
    """The last WINDOW seconds of baseline-free ECG are a fibrillatory wave."""
    if ecg.size == 0 or not np.isfinite(ecg).all():
        return False
    low, high = np.percentile(ecg, [5.0, 95.0])
    amplitude = float(high - low)
    return amplitude >= MIN_AMPLITUDE and vf_leakage(ecg, fs) < LEAKAGE_LIMIT
