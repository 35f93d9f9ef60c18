"""The features of a window of dominant beats, and the logistic model that weighs them.

Four describe the RR intervals (irregularity that survives ectopy and missed beats), one the
rate, and three the atrial activity before each QRS: a sinus P wave repeats from beat to beat
and survives a median over the window; fibrillatory waves do not. One more counts how many
detections are usual beats. Where the beat classifier labels the beats, two more give the
share it calls supraventricular and ventricular: irregularity made of ectopic beats is not AF.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

FEATURES = (
    "rr_entropy",
    "lorenz_dispersion",
    "log_drr",
    "log_rr",
    "p_snr",
    "p_amplitude",
    "p_match",
    "dominant_fraction",
    "s_share",
    "v_share",
)
# The features a window has when no beat classifier labels its beats.
UNLABELLED_FEATURES = FEATURES[:-2]
ECTOPIC = ("S", "V")  # the classifier's classes counted by s_share and v_share
JUDGED = frozenset({"N", "S", "V", "F"})  # "Q" (cannot judge) and no label do not count
# The multipliers on the beat classifier's class probabilities for the labels counted here,
# which are not those of its beat calls: those are chosen for the EC57 beat scores, and labels
# from a classifier readier to call S and V separated AF from ectopy less well (CinC 2017 CV
# F1 0.792 -> 0.783 with S x 2, V x 0.5). ``MODEL`` was fitted on labels decided at these.
LABEL_MULTIPLIERS = MappingProxyType({"N": 1.0, "S": 1.0, "V": 0.15, "F": 1.0})
GAP_RR = (0.4, 1.7)  # x median RR: outside this an interval is a detector or ectopy gap
EPS = 1e-6


@dataclass(frozen=True, slots=True)
class AfModel:
    """Logistic weights over ``FEATURES`` (raw units; over ``UNLABELLED_FEATURES`` for a model
    used without beat labels), and the hysteresis thresholds."""

    weights: tuple[float, ...]
    intercept: float
    p_on: float
    p_off: float
    confirm: int  # verdicts in a row at or above p_on that start an episode
    release: int  # verdicts in a row below p_off that end it

    @property
    def uses_labels(self) -> bool:
        """The model weighs the beat classifier's labels (``FEATURES``), not only the rhythm
        and P waves (``UNLABELLED_FEATURES``)."""
        if len(self.weights) not in (len(FEATURES), len(UNLABELLED_FEATURES)):
            raise ValueError(
                f"an AF model has {len(FEATURES)} or {len(UNLABELLED_FEATURES)} "
                f"weights, not {len(self.weights)}"
            )
        return len(self.weights) == len(FEATURES)

    def probability(self, features: FloatArray) -> float:
        z = float(np.dot(self.weights, features)) + self.intercept
        return 1.0 / (1.0 + math.exp(-min(max(z, -50.0), 50.0)))


def window_features(
    times: FloatArray, p_waves: FloatArray, amplitudes: FloatArray, detections: int
) -> FloatArray:
    """``FEATURES`` of a window of dominant beats: R-peak times (s), their PR segments (one
    row each) and QRS peak-to-peak amplitudes, and the number of detections spanned."""
    rr = np.diff(times)
    median = max(_median(rr), EPS)
    ok = (rr >= GAP_RR[0] * median) & (rr <= GAP_RR[1] * median)
    clean = rr[ok] if ok.sum() >= 4 else rr
    pair_ok = ok[1:] & ok[:-1]
    drr = np.diff(rr)[pair_ok] if pair_ok.sum() >= 3 else np.diff(rr)
    return np.array(
        [
            _entropy(clean / median),
            _lorenz_dispersion(drr / median),
            math.log(_median(np.abs(drr)) / median + 1e-3),
            math.log(median),
            *_p_wave_features(p_waves, _median(amplitudes)),
            len(times) / max(detections, len(times)),
        ]
    )


def ectopy_shares(labels: Sequence[str | None]) -> tuple[float, float]:
    """(s_share, v_share): the shares of the judged detections (classifier labels N, S, V or
    F) that it calls S and V; (0, 0) when it judged none (it fell behind, or a gap)."""
    judged = [label for label in labels if label in JUDGED]
    if not judged:
        return 0.0, 0.0
    s_share, v_share = (judged.count(c) / len(judged) for c in ECTOPIC)
    return s_share, v_share


def _median(values: FloatArray) -> float:
    """np.median of a short 1-D array, without its per-call overhead."""
    ordered = np.sort(values)
    mid = ordered.size // 2
    if ordered.size % 2:
        return float(ordered[mid])
    return 0.5 * float(ordered[mid - 1] + ordered[mid]) if ordered.size else 0.0


def _entropy(ratios: FloatArray) -> float:
    """Shannon entropy of the ratios in 15 equal bins over 0.5-1.5 (outliers in the ends);
    an odd count centres a bin on 1, so a steady rhythm's jitter stays in one bin."""
    bins = np.minimum(((np.clip(ratios, 0.5, 1.5) - 0.5) * 15).astype(np.int64), 14)
    counts = np.bincount(bins, minlength=15)
    p = counts[counts > 0] / max(int(counts.sum()), 1)
    return float(-(p * np.log(p)).sum())


def _lorenz_dispersion(drr: FloatArray) -> float:
    if drr.size < 2:
        return 0.0
    cells = np.floor(np.clip(drr, -0.6, 0.6) / 0.06).astype(np.int64)
    return len(set(zip(cells[:-1].tolist(), cells[1:].tolist(), strict=True))) / (drr.size - 1)


def _p_wave_features(p_waves: FloatArray, qrs_amplitude: float) -> tuple[float, float, float]:
    """(p_snr, p_amplitude, p_match) of the window's PR segments."""
    t = np.arange(p_waves.shape[1], dtype=np.float64)
    slope = t - t.mean()
    slope /= max(float(np.linalg.norm(slope)), EPS)
    centred = p_waves - p_waves.mean(axis=1, keepdims=True)
    detrended = centred - np.outer(centred @ slope, slope)
    template = np.median(detrended, axis=0)
    height = float(np.ptp(template))
    residual = _median(np.std(detrended - template, axis=1))
    norms = np.linalg.norm(detrended, axis=1) * max(float(np.linalg.norm(template)), EPS)
    match = _median((detrended @ template) / np.maximum(norms, EPS))
    return (
        math.log((height + EPS) / (residual + EPS)),
        math.log(height / max(qrs_amplitude, EPS) + 1e-3),
        match,
    )
