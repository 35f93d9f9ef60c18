"""Beats labelled the way the inference worker labels them while the ECG streams in.

The worker labels, once a second, the beats of the second before the last one, from a context
of the last ``context_s`` seconds of ECG (so each beat has ``context_s`` − 2 s of history or
more, and 1 s of future or more). These replay a whole record that way, batched as the worker
batches beds: training uses it to measure what streaming costs, and ``af_episodes`` to give the
AF monitor the labels the station's monitor would get.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from app.inference.features import N_FEATURES, Context, beat_features_many
from app.inference.model import UNKNOWN, BeatModel

BATCH = 64  # contexts per beat_features_many call
# The context a streaming caller should pass per bed to ``label_beats_many``: the last
# CONTEXT_S seconds of ECG with every peak in them, labelling the beats of the second before
# the last one (the model card's streaming rows are measured on exactly that). In grouped CV,
# C = 20, 30 and 60 s scored alike (streaming F1 0.676, 0.672, 0.674 with multipliers chosen
# for streaming) and C = 10 s worse; 20 s keeps a 32-bed batch under 20 ms.
CONTEXT_S = 20.0


def streamed_features(
    ecg: npt.NDArray[np.float64],
    fs: float,
    samples: npt.NDArray[np.int64],
    context_s: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Features of every beat from the context it is labelled in (``context_s`` seconds
    ending 2 s after the start of the beat's second), as ``beat_features`` returns them."""
    features = np.zeros((samples.size, N_FEATURES))
    valid = np.zeros(samples.size, dtype=np.bool_)
    contexts: list[Context] = []
    owners: list[npt.NDArray[np.int64]] = []
    second = np.floor(samples / fs).astype(np.int64)
    for s in np.unique(second):
        lo = max(0, round((s + 2 - context_s) * fs))
        hi = min(ecg.size, round((s + 2) * fs))
        inside = np.flatnonzero((samples >= lo) & (samples < hi))
        wanted = second[inside] == s
        contexts.append((ecg[lo:hi], fs, (samples[inside] - lo).astype(np.float64), wanted))
        owners.append(inside[wanted])
    for start in range(0, len(contexts), BATCH):
        batch = beat_features_many(contexts[start : start + BATCH])
        for (rows, ok), owner in zip(batch, owners[start : start + BATCH], strict=True):
            features[owner] = rows
            valid[owner] = ok
    return features, valid


def streamed_labels(
    model: BeatModel,
    ecg: npt.NDArray[np.float64],
    fs: float,
    samples: npt.NDArray[np.int64],
    context_s: float,
    *,
    af: Mapping[str, float] | None = None,
) -> npt.NDArray[np.str_]:
    """The model's label of every beat from its streaming context: the beat class, or with
    ``af`` (the AF monitor's multipliers, ``LABEL_MULTIPLIERS``) the AF monitor's label; "Q"
    where the beat cannot be judged (too near a gap or an end)."""
    features, valid = streamed_features(ecg, fs, samples, context_s)
    labels = np.full(samples.size, UNKNOWN, dtype="<U1")
    if valid.any():
        rows = features[valid].astype(np.float32)
        labels[valid] = model.decide(rows) if af is None else model.af_labels(rows, af)
    return labels
