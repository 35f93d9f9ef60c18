"""Synthetic single-lead ECG for tests: sinus rhythm, ectopy and AF with known beat times.

Each beat is a sum of Gaussian waves (P, Q, R, S, T) placed around its R peak; AF beats have
no P wave and the baseline carries fibrillatory waves (4-8 Hz); a PVC is wide, inverted,
premature, without a P wave, and followed by a compensatory pause.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# (offset from the R peak in s, amplitude in mV, width in s) of each wave
SINUS_BEAT = ((-0.16, 0.15, 0.025), (-0.03, -0.1, 0.008), (0.0, 1.0, 0.011), (0.03, -0.25, 0.01))
VENTRICULAR_BEAT = ((0.0, -1.2, 0.04), (0.08, 0.4, 0.05))
T_WAVE = (0.3, 0.3, 0.05)


@dataclass(frozen=True, slots=True)
class Strip:
    ecg: FloatArray  # mV
    fs: float
    r_peaks: npt.NDArray[np.int64]


def sinus_rr(seconds: float, rng: np.random.Generator, mean: float = 0.8) -> FloatArray:
    """Regular RR intervals with a little respiratory sinus arrhythmia."""
    times = [0.5]
    while times[-1] < seconds - 0.5:
        times.append(times[-1] + mean + 0.03 * np.sin(2 * np.pi * times[-1] / 4.0))
    return np.diff(np.array(times)) + 0.002 * rng.standard_normal(len(times) - 1)


def af_rr(seconds: float, rng: np.random.Generator) -> FloatArray:
    """Irregularly irregular intervals, 0.4-1.1 s, independent from beat to beat."""
    count = int(seconds / 0.6) + 2
    return rng.uniform(0.4, 1.1, count)


def render(
    rr: FloatArray,
    fs: float,
    seconds: float,
    rng: np.random.Generator,
    *,
    af: npt.ArrayLike = False,
    ventricular: npt.ArrayLike = False,
    noise_mv: float = 0.01,
) -> Strip:
    """An ECG strip whose beats follow ``rr`` from 0.5 s on; ``af`` and ``ventricular`` are
    per-beat flags (or one flag for all)."""
    n = round(seconds * fs)
    t = np.arange(n) / fs
    r_times = 0.5 + np.concatenate([[0.0], np.cumsum(rr)])
    r_times = r_times[r_times < seconds - 0.4]
    af_flags = np.broadcast_to(np.asarray(af, bool), r_times.shape)
    v_flags = np.broadcast_to(np.asarray(ventricular, bool), r_times.shape)
    ecg = noise_mv * rng.standard_normal(n)
    for r, in_af, is_v in zip(r_times, af_flags, v_flags, strict=True):
        waves = VENTRICULAR_BEAT if is_v else SINUS_BEAT[1:] if in_af else SINUS_BEAT
        t_wave = (T_WAVE[0], -T_WAVE[1] if is_v else T_WAVE[1], T_WAVE[2])
        for offset, amplitude, width in (*waves, t_wave):
            ecg += amplitude * np.exp(-0.5 * ((t - r - offset) / width) ** 2)
    if np.any(af_flags):
        ecg += _fibrillatory_waves(t, r_times, af_flags, rng)
    peaks = np.round(r_times * fs).astype(np.int64)
    return Strip(ecg, fs, peaks)


def _fibrillatory_waves(
    t: FloatArray, r_times: FloatArray, af_flags: npt.NDArray[np.bool_], rng: np.random.Generator
) -> FloatArray:
    """0.06 mV waves whose frequency wanders between 4 and 8 Hz, during the AF beats only."""
    frequency = 6.0 + 2.0 * np.sin(2 * np.pi * t / 7.0 + rng.uniform(0, 2 * np.pi))
    phase = 2 * np.pi * np.cumsum(frequency) * (t[1] - t[0] if t.size > 1 else 0.0)
    on = np.zeros(t.size, bool)
    starts = r_times[af_flags]
    if starts.size:
        on = (t >= starts.min() - 0.5) & (t <= starts.max() + 0.5)
    waves: FloatArray = 0.06 * np.sin(phase) * on
    return waves


def sinus_strip(seconds: float, fs: float, seed: int = 0) -> Strip:
    rng = np.random.default_rng(seed)
    return render(sinus_rr(seconds, rng), fs, seconds, rng)


def af_strip(seconds: float, fs: float, seed: int = 0) -> Strip:
    rng = np.random.default_rng(seed)
    return render(af_rr(seconds, rng), fs, seconds, rng, af=True)


def trigeminy_strip(seconds: float, fs: float, seed: int = 0) -> Strip:
    """Sinus rhythm with every third beat a PVC: premature (60 %) then a compensatory pause."""
    rng = np.random.default_rng(seed)
    count = int(seconds / 0.8) + 2
    rr = np.full(count, 0.8)
    rr[1::3] = 0.48  # the PVC comes early
    rr[2::3] = 1.12  # and the next sinus beat keeps the sinus timing
    ventricular = np.zeros(count + 1, bool)
    ventricular[2::3] = True
    rr_times = 0.5 + np.concatenate([[0.0], np.cumsum(rr)])
    keep = rr_times < seconds - 0.4
    return render(rr, fs, seconds, rng, ventricular=ventricular[: keep.size][keep])


def sinus_then_af(sinus_s: float, af_s: float, fs: float, seed: int = 0) -> Strip:
    """Sinus rhythm for ``sinus_s`` seconds, then AF to the end."""
    rng = np.random.default_rng(seed)
    first = sinus_rr(sinus_s, rng)
    second = af_rr(af_s, rng)
    rr = np.concatenate([first, second])
    r_times = 0.5 + np.concatenate([[0.0], np.cumsum(rr)])
    r_times = r_times[r_times < sinus_s + af_s - 0.4]
    return render(rr, fs, sinus_s + af_s, rng, af=r_times >= sinus_s)
