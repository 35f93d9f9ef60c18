"""The beat classifier's morphology-cluster features: how often a beat's QRS recurs nearby,
and how the beats of that shape are timed."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from app.inference import features
from app.inference.features import CLUSTER_NAMES, FEATURE_NAMES, beat_features

FS = 360.0
RR_S = 0.8
FloatArray = npt.NDArray[np.float64]


def _qrs(t: FloatArray, kind: str) -> FloatArray:
    narrow = np.exp(-((t / 0.012) ** 2))
    if kind == "usual":
        return narrow
    if kind == "inverted":  # the same beat seen along another axis: the shape flips
        return -narrow
    return 1.3 * np.exp(-((t / 0.045) ** 2)) - 0.4 * np.exp(-(((t - 0.25) / 0.06) ** 2))


def _record(kinds: list[str], early: set[int]) -> tuple[FloatArray, FloatArray]:
    """ECG and R peaks of beats of the given shapes, every RR_S except the ``early`` beats
    (60 % of an RR, with the pause after them making up the rest)."""
    times, t = [], 1.0
    for i in range(len(kinds)):
        times.append(t + (-0.4 * RR_S if i in early else 0.0))
        t += RR_S
    n = round((t + 1.0) * FS)
    axis = np.arange(n) / FS
    ecg = np.zeros(n)
    for when, kind in zip(times, kinds, strict=True):
        near = np.abs(axis - when) < 0.5
        ecg[near] += _qrs(axis[near] - when, kind)
        if kind != "ectopic":  # a P wave before every supraventricular beat
            ecg[near] += 0.15 * np.exp(-(((axis[near] - when + 0.16) / 0.03) ** 2))
    ecg += np.random.default_rng(7).normal(0.0, 0.005, n)
    return ecg, np.round(np.array(times) * FS)


def _cluster(rows: FloatArray) -> dict[str, FloatArray]:
    start = FEATURE_NAMES.index(CLUSTER_NAMES[0])
    return {name: rows[:, start + k] for k, name in enumerate(CLUSTER_NAMES)}


def test_a_shape_that_recurs_on_time_is_told_from_one_that_comes_early() -> None:
    n = 90
    kinds = ["usual"] * n
    inverted = set(range(5, n - 5, 3))  # a third of the beats flip shape, on time
    ectopic = set(range(7, n - 5, 9)) - inverted  # premature beats of another shape
    for i in inverted:
        kinds[i] = "inverted"
    for i in ectopic:
        kinds[i] = "ectopic"
    ecg, peaks = _record(kinds, early=ectopic)
    rows, valid = beat_features(ecg, FS, peaks)
    assert valid[5:-5].all()
    cluster = _cluster(rows)
    flip, early = sorted(inverted), sorted(ectopic)
    usual = [i for i in range(5, n - 5) if kinds[i] == "usual"]
    # Each beat's share is that of its own shape among its neighbours.
    assert np.allclose(cluster["cluster_share"][flip], len(inverted) / n, atol=0.05)
    assert np.allclose(cluster["cluster_share"][early], len(ectopic) / n, atol=0.05)
    assert np.all(cluster["cluster_share"][usual] > 0.45)
    # The inverted beats' cluster is on time; the ectopic beats' cluster is premature.
    assert np.all(np.abs(cluster["cluster_pre_local"][flip] - 1.0) < 0.1)
    assert np.all(cluster["cluster_premature"][flip] == 0.0)
    assert np.all(cluster["cluster_pre_local"][early] < 0.75)
    assert np.all(cluster["cluster_premature"][early] == 1.0)
    assert np.all(cluster["cluster_post_pre"][early] > 1.5)


def test_only_beats_within_the_cluster_span_are_compared() -> None:
    span = features.CLUSTER_BEATS
    n = 3 * span
    kinds = ["usual"] * n
    late = range(2 * span, n)  # the last third changes shape
    for i in late:
        kinds[i] = "inverted"
    ecg, peaks = _record(kinds, early=set())
    rows, _ = beat_features(ecg, FS, peaks)
    share = _cluster(rows)["cluster_share"]
    # The first beat's neighbours (itself and the next `span`) are all usual.
    assert share[0] == pytest.approx(1.0)
    # A beat more than `span` before the change never sees the inverted beats.
    assert share[span - 1] == pytest.approx(1.0)
    # The last beat sees itself and the `span` before it, the first of which is usual.
    assert share[-1] == pytest.approx(span / (span + 1))
    # The first inverted beat sees `span` usual beats before it, itself and the `span` - 1
    # inverted beats after it (the record ends there).
    assert share[2 * span] == pytest.approx(span / (2 * span))


def test_comparing_in_chunks_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    kinds = ["usual", "usual", "inverted", "usual", "ectopic"] * 30
    ecg, peaks = _record(kinds, early={i for i, k in enumerate(kinds) if k == "ectopic"})
    whole, _ = beat_features(ecg, FS, peaks)
    monkeypatch.setattr(features, "CLUSTER_CHUNK", 7)
    chunked, _ = beat_features(ecg, FS, peaks)
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-12)
