"""AAMI class of each beat (N, S, V, F, or Q when the beat cannot be judged)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from app.inference.features import beat_features
from app.inference.model import BeatModel, default_model

UNKNOWN = "Q"


def classify_beats(ecg: np.ndarray, fs: float, r_peaks: np.ndarray) -> np.ndarray:
    """One of "N", "S", "V", "F", "Q" per R peak, in the order the peaks were given.

    ``ecg`` is one lead in mV, ``fs`` its sampling rate (125–1000 Hz), ``r_peaks`` sample
    positions (int or float; unsorted or repeated ones are accepted). Pass the whole record,
    or at least the last few minutes: the features are relative to the rhythm and dominant beat
    of what is passed. Beats too near either end, over non-finite samples, or at positions
    outside the signal are "Q". Raises ``ModelUnavailableError`` only when the model cannot load.
    """
    return label_beats(default_model(), ecg, fs, r_peaks)


def label_beats(
    model: BeatModel, ecg: npt.ArrayLike, fs: float, r_peaks: npt.ArrayLike
) -> npt.NDArray[np.str_]:
    """``classify_beats`` with an explicit model."""
    peaks = np.asarray(r_peaks, dtype=np.float64).ravel()
    labels = np.full(peaks.size, UNKNOWN, dtype="<U1")
    signal = np.asarray(ecg, dtype=np.float64).ravel()
    if peaks.size == 0 or signal.size < 2 or not (np.isfinite(fs) and fs > 0):
        return labels
    usable = np.isfinite(peaks) & (peaks >= 0) & (peaks <= signal.size - 1)
    # Features need ascending, distinct peaks; repeats share their label.
    distinct, back = np.unique(peaks[usable], return_inverse=True)
    features, valid = beat_features(signal, float(fs), distinct)
    per_peak = np.full(distinct.size, UNKNOWN, dtype="<U1")
    per_peak[valid] = model.decide(features[valid].astype(np.float32))
    labels[usable] = per_peak[back]
    return labels
