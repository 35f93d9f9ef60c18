"""AAMI class of each beat (N, S, V, F, or Q when the beat cannot be judged)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from app.analysis.af_features import LABEL_MULTIPLIERS
from app.analysis.atrial_fibrillation import beats_in_af
from app.analysis.qrs import MAX_RATE, MIN_RATE
from app.inference.features import Context, beat_features_many
from app.inference.model import UNKNOWN, BeatModel, Calls, Labels, default_model


def classify_beats(ecg: np.ndarray, fs: float, r_peaks: np.ndarray) -> np.ndarray:
    """One of "N", "S", "V", "F", "Q" per R peak, in the order the peaks were given; beats
    the model calls S inside atrial fibrillation are N (``normal_in_af``).

    ``ecg`` is one lead in mV, ``fs`` its sampling rate (125–1000 Hz), ``r_peaks`` sample
    positions (int or float; unsorted or repeated ones are accepted). Pass the whole record,
    or at least the last CONTEXT_S seconds: the features are relative to the rhythm and
    dominant beat of what is passed. Beats too near either end, over non-finite samples, or at
    positions outside the signal are "Q". Raises ``ModelUnavailableError`` only when the model
    cannot load.
    """
    calls = beat_calls(default_model(), ecg, fs, r_peaks)
    return normal_in_af(ecg, fs, r_peaks, calls.beats, calls.af)


def normal_in_af(
    ecg: npt.ArrayLike, fs: float, r_peaks: npt.ArrayLike, labels: Labels, af_labels: Labels
) -> Labels:
    """``labels`` with the S calls inside atrial fibrillation made N.

    In AF every conducted beat comes early or late: the model, which judges prematurity
    against the recent rhythm, calls many of them S, and MIT-BIH (like any monitor) calls them
    N. The AF monitor (``app.analysis.atrial_fibrillation``) is driven through the ECG with
    these beats and ``af_labels`` (the model's labels at the AF monitor's own multipliers,
    ``Calls.af``); the S calls inside the episodes it finds become N. In grouped CV on DS1 it
    takes SVEB +P from 40 % to 71 % at about the same sensitivity (the model card)."""
    if not np.any(labels == "S"):
        return labels  # nothing the step could change: spare the AF monitor's cost
    out = labels.copy()
    out[in_af(ecg, fs, r_peaks, af_labels) & (labels == "S")] = "N"
    return out


def in_af(
    ecg: npt.ArrayLike, fs: float, r_peaks: npt.ArrayLike, af_labels: npt.ArrayLike
) -> npt.NDArray[np.bool_]:
    """Which R peaks lie inside the AF episodes the AF monitor finds when driven through
    ``ecg`` with them and their ``af_labels``; none at rates outside 125-1000 Hz, and none for
    peaks outside the signal."""
    signal = np.asarray(ecg, dtype=np.float64).ravel()
    peaks = np.asarray(r_peaks, dtype=np.float64).ravel()
    labels = np.asarray(af_labels).ravel()
    inside = np.zeros(peaks.size, dtype=np.bool_)
    rate = float(fs)
    if not (np.isfinite(rate) and MIN_RATE <= rate <= MAX_RATE) or signal.size < 2:
        return inside
    usable = np.flatnonzero(np.isfinite(peaks) & (peaks >= 0) & (peaks <= signal.size - 1))
    positions, first, back = np.unique(
        np.round(peaks[usable]).astype(np.int64), return_index=True, return_inverse=True
    )
    inside[usable] = beats_in_af(signal, rate, positions, labels[usable][first])[back]
    return inside


def label_beats(model: BeatModel, ecg: npt.ArrayLike, fs: float, r_peaks: npt.ArrayLike) -> Labels:
    """``classify_beats`` with an explicit model, without the AF step."""
    return beat_calls(model, ecg, fs, r_peaks).beats


def beat_calls(model: BeatModel, ecg: npt.ArrayLike, fs: float, r_peaks: npt.ArrayLike) -> Calls:
    """The model's beat classes and AF monitor labels of every peak of one record."""
    peaks = np.asarray(r_peaks, dtype=np.float64).ravel()
    return calls_many(model, [(ecg, fs, peaks, np.ones(peaks.size, dtype=np.bool_))])[0]


def label_beats_many(model: BeatModel, contexts: Sequence[Context]) -> list[Labels]:
    """The beat classes of ``calls_many``."""
    return [calls.beats for calls in calls_many(model, contexts)]


def calls_many(model: BeatModel, contexts: Sequence[Context]) -> list[Calls]:
    """The calls (beat classes and AF monitor labels, ``Calls``) of the wanted peaks of many
    beds' contexts, with one model call for all.

    Each context is ``(ecg, fs, r_peaks, wanted)``: a bed's recent ECG (say the last minute),
    every R peak in it (sample positions in that ECG), and which peaks want labels (a boolean
    mask over ``r_peaks`` or an index array). Every peak feeds the context's statistics; the
    result per bed holds one label of each kind per wanted peak, equal to ``beat_calls`` on
    the same context restricted to the wanted peaks.
    """
    prepared: list[Context] = []
    plans: list[tuple[int, npt.NDArray[np.int64] | None, npt.NDArray[np.int64] | None]] = []
    for ecg, fs, r_peaks, wanted in contexts:
        peaks = np.asarray(r_peaks, dtype=np.float64).ravel()
        chosen = _index(wanted, peaks.size)
        signal = np.asarray(ecg, dtype=np.float64).ravel()
        rate = float(fs)
        if peaks.size == 0 or signal.size < 2 or not (np.isfinite(rate) and rate > 0):
            plans.append((chosen.size, None, None))
            continue
        usable = np.isfinite(peaks) & (peaks >= 0) & (peaks <= signal.size - 1)
        # Features need ascending, distinct peaks; repeats share their label.
        distinct, back = np.unique(peaks[usable], return_inverse=True)
        slot = np.full(peaks.size, -1, dtype=np.int64)
        slot[usable] = back
        wanted_slots = slot[chosen]
        needed = np.unique(wanted_slots[wanted_slots >= 0])
        prepared.append((signal, rate, distinct, needed))
        plans.append((chosen.size, wanted_slots, needed))
    results = beat_features_many(prepared)
    rows = [features[valid] for features, valid in results]
    none = np.zeros(0, "<U1")
    calls = (
        model.calls(np.concatenate(rows).astype(np.float32), LABEL_MULTIPLIERS)
        if rows
        else Calls(none, none)
    )
    # Each wanted peak's row in the model's output (-1: not judged), then both labellings
    # picked for all beds at once: per-bed work on string arrays would cost the batch.
    sources: list[npt.NDArray[np.int64]] = []
    start = 0
    results_iter = iter(results)
    for size, slots, computed in plans:
        source = np.full(size, -1, dtype=np.int64)
        if slots is not None and computed is not None:
            _, valid = next(results_iter)
            row = np.full(computed.size, -1, dtype=np.int64)
            count = int(valid.sum())
            row[valid] = np.arange(start, start + count)
            start += count
            known = slots >= 0
            source[known] = row[np.searchsorted(computed, slots[known])]
        sources.append(source)
    if not sources:
        return []
    every = np.concatenate(sources)
    bounds = np.cumsum([source.size for source in sources])[:-1]
    beats, af = (np.split(_pick(labels, every), bounds) for labels in calls)
    return [Calls(b, a) for b, a in zip(beats, af, strict=True)]


def _pick(labels: Labels, source: npt.NDArray[np.int64]) -> Labels:
    picked = np.full(source.size, UNKNOWN, dtype="<U1")
    found = source >= 0
    picked[found] = labels[source[found]]
    return picked


def _index(wanted: npt.ArrayLike, n: int) -> npt.NDArray[np.int64]:
    chosen = np.asarray(wanted)
    if chosen.dtype == np.bool_:
        if chosen.size != n:
            raise ValueError(f"wanted mask has {chosen.size} entries for {n} peaks")
        return np.flatnonzero(chosen.ravel()).astype(np.int64)
    return chosen.ravel().astype(np.int64)
