"""Beat features for the AAMI beat classifier, shared by the training pipeline and runtime.

Every feature is relative to the recording's own rhythm and beat shape, so that it carries
from the patients the model was trained on to new ones:

- RR intervals (pre, post) as ratios to the recent rhythm (mean of the 10 RR intervals before
  the beat, which a premature beat cannot pull towards itself), to a long window (±150 beats)
  and to the median RR of everything passed in; the irregularity of the rhythm around the beat
  (atrial fibrillation makes every beat look "premature", and MIT-BIH labels those beats N).
- The band-passed (0.5–40 Hz) beat, sampled at fixed times around the R peak (a 10-ms grid
  whatever the sampling rate, every 20 ms kept as features), divided by the recording's
  median QRS amplitude, and its difference from the recording's median beat (the patient's
  dominant beat).
- Shape summaries against the dominant beat: correlations, QRS width, area, slope and energy
  ratios, polarity, P-wave energy and how consistent the P waves of the recent beats are.
- The beat's morphology cluster, as arrhythmia monitors group beats by template: the beats
  nearby (up to 150 either side) whose QRS matches this one, how many there are and how they
  are timed. A shape that recurs on time is the patient's (an axis shift, intermittent bundle
  branch block); a shape that recurs early is ectopic.

Statistics "of the recording" are over what is passed in: the whole record when a record is
classified at once, or a recent context window when a caller streams (``beat_features_many``
takes many beds' windows at once and vectorises the work across them).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import butter, sosfiltfilt
from threadpoolctl import ThreadpoolController

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
# One bed's context: ECG, sampling rate, ascending distinct peak positions (samples), and
# which peaks want features (a boolean mask over the peaks or an index array).
Context = tuple[npt.ArrayLike, float, npt.ArrayLike, npt.ArrayLike]

FEATURE_VERSION = "beat-features-5"
BAND_HZ = (0.5, 40.0)
STEP_S = 0.01  # morphology grid; the 40-Hz low-pass keeps 100 Hz sampling faithful
OFFSETS_S = np.arange(-25, 46) * STEP_S  # -250 ms (P wave) .. +450 ms (T wave)
QRS = (OFFSETS_S >= -0.1 - 1e-9) & (OFFSETS_S <= 0.15 + 1e-9)
PRE_QRS = OFFSETS_S < -0.1 - 1e-9
POST_QRS = OFFSETS_S > 0.15 + 1e-9
P_WAVE = (OFFSETS_S >= -0.25 - 1e-9) & (OFFSETS_S <= -0.12 + 1e-9)
NARROW = (OFFSETS_S >= -0.05 - 1e-9) & (OFFSETS_S <= 0.08 + 1e-9)
R_INDEX = int(np.argmin(np.abs(OFFSETS_S)))
LOCAL_BEATS = 10  # RR intervals in the "recent rhythm" mean
LONG_BEATS = 150  # RR intervals either side in the long-window mean
CONTEXT_BEATS = 40  # beats before each beat in the rhythm-context statistics
P_CONTEXT_BEATS = 20  # beats before each beat in the P-wave consistency mean
PNN_S = 0.05  # successive RR differences above 50 ms
MIN_RR_S, MAX_RR_S = 0.15, 3.0  # RR intervals are clipped here so one gap cannot dominate
TINY = 1e-6
PAD_S = 1.0  # filter padding, seconds
CLUSTER_BEATS = 150  # beats either side whose QRS is compared with each beat's
CLUSTER_MATCH = 0.9  # QRS correlation of two beats of one morphology cluster
CLUSTER_AMPLITUDE = 0.7  # and their QRS peak-to-peak ratio, at least this (either way)
CLUSTER_CHUNK = 256  # beats compared at a time, bounding memory on long records
PREMATURE = 0.85  # RR interval under this share of the recent mean: a premature beat

# Only ratios: absolute RR intervals (seconds) tie the model to the training patients' heart
# rates; dropping them raised SVEB Se from 52 % to 77 % in grouped cross-validation.
RR_NAMES = (
    "pre_local", "post_local", "pre_long", "post_long", "pre_record", "post_record",
    "post_pre", "local_long", "prev_pre_local", "next_post_local", "post_minus_pre_local",
    "irregularity", "spread", "pre_around", "post_around",
    "context_irregularity", "context_pnn50", "context_cv", "context_premature",
)  # fmt: skip
SHAPE_NAMES = (
    "ptp", "qrs_max", "qrs_min", "width", "corr_qrs", "corr_full", "corr_pre", "corr_post",
    "rms_diff_qrs", "rms_diff_pre", "rms_diff_post", "energy_qrs", "energy_post",
    "width_ratio", "area_ratio", "polarity", "slope_ratio", "narrow_diff", "corr_narrow",
    "energy_p", "template_p",
)  # fmt: skip
CONTEXT_SHAPE_NAMES = ("context_corr_pre",)
CLUSTER_NAMES = ("cluster_share", "cluster_pre_local", "cluster_post_pre", "cluster_premature")
# The beat itself every 20 ms (the finer grid added nothing across patients in grouped CV).
WAVE = np.round(OFFSETS_S * 1000).astype(int) % 20 == 0
WAVE_NAMES = tuple(f"w{round(t * 1000):+d}" for t in OFFSETS_S[WAVE])
DIFF_NAMES = tuple(f"d{round(t * 1000):+d}" for t in OFFSETS_S[QRS])
FEATURE_NAMES = (
    RR_NAMES + CONTEXT_SHAPE_NAMES + SHAPE_NAMES + WAVE_NAMES + DIFF_NAMES + CLUSTER_NAMES
)
N_FEATURES = len(FEATURE_NAMES)


@lru_cache(maxsize=1)
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


@lru_cache(maxsize=16)
def _band_pass(fs: float) -> FloatArray:
    high = min(BAND_HZ[1], 0.45 * fs)  # stays below Nyquist at any supported rate
    return np.asarray(butter(2, (BAND_HZ[0], high), "bandpass", fs=fs, output="sos"))


def beat_features(ecg: FloatArray, fs: float, peaks: FloatArray) -> tuple[FloatArray, BoolArray]:
    """Features (n_peaks × N_FEATURES, float32-representable) and which beats are usable.

    ``peaks`` are sample positions, sorted ascending and distinct. A beat is unusable when its
    window leaves the signal or covers a non-finite sample; its feature row is then zeros.
    """
    peaks = np.asarray(peaks, dtype=np.float64)
    return beat_features_many([(ecg, fs, peaks, np.ones(peaks.size, dtype=np.bool_))])[0]


def beat_features_many(contexts: Sequence[Context]) -> list[tuple[FloatArray, BoolArray]]:
    """``beat_features`` for many beds at once: per context, the features and usability of
    its wanted peaks (in the order of the index array, or of the peaks for a mask).

    Every peak of a context feeds its statistics (median RR, dominant beat), wanted or not.
    Contexts of the same rate and length are filtered in one call; the morphology of all beds
    is computed on one stacked array. Equal to ``beat_features`` on each context alone.
    """
    rates = [float(c[1]) for c in contexts]
    peaks = [np.asarray(c[2], dtype=np.float64).ravel() for c in contexts]
    indices = [_wanted_index(c[3], p.size) for c, p in zip(contexts, peaks, strict=True)]
    signals = [np.asarray(c[0], dtype=np.float64).ravel() for c in contexts]
    filtered: list[FloatArray] = [np.zeros(0)] * len(contexts)
    finite: list[BoolArray] = [np.zeros(0, dtype=np.bool_)] * len(contexts)
    groups: dict[tuple[float, int], list[int]] = {}
    for i, signal in enumerate(signals):
        groups.setdefault((rates[i], signal.size), []).append(i)
    for (fs, _), members in groups.items():
        stack = np.stack([signals[i] for i in members])
        ok = np.isfinite(stack)
        rows = _filtered(stack if ok.all() else np.where(ok, stack, 0.0), fs)
        for row, good, i in zip(rows, ok, members, strict=True):
            filtered[i], finite[i] = row, good
    needed = []
    for p, index in zip(peaks, indices, strict=True):
        need = np.zeros(p.size, dtype=np.bool_)
        need[index] = True
        needed.append(need)
    full = _all_features(filtered, finite, rates, peaks, needed)
    return [(f[index], v[index]) for (f, v), index in zip(full, indices, strict=True)]


def _wanted_index(wanted: npt.ArrayLike, n: int) -> IntArray:
    chosen = np.asarray(wanted)
    if chosen.dtype == np.bool_:
        return np.flatnonzero(chosen.ravel()[:n]).astype(np.int64)
    return chosen.ravel().astype(np.int64)


def _filtered(ecg: FloatArray, fs: float) -> FloatArray:
    """Band-passed rows (zero-phase); rows too short for the filter are only centred."""
    sos = _band_pass(fs)
    # sosfiltfilt needs a few times the filter order in samples; shorter input stays raw.
    if ecg.shape[-1] == 0:
        return np.asarray(ecg, dtype=np.float64)
    if ecg.shape[-1] <= 3 * (2 * sos.shape[0] + 1):
        return np.asarray(ecg - np.mean(ecg, axis=-1, keepdims=True), dtype=np.float64)
    # A long odd extension (up to PAD_S) keeps the high-pass transient of the backward pass
    # off the newest beats of a streamed context, which end 1–2 s before its end.
    pad = min(ecg.shape[-1] - 1, round(PAD_S * fs))
    return np.asarray(sosfiltfilt(sos, ecg, axis=-1, padlen=pad), dtype=np.float64)


def _all_features(
    filtered: list[FloatArray],
    finite: list[BoolArray],
    rates: list[float],
    peaks: list[FloatArray],
    needed: list[BoolArray],
) -> list[tuple[FloatArray, BoolArray]]:
    """Features of the needed peaks of every context (zeros elsewhere), all contexts stacked
    together; every peak still feeds its context's statistics."""
    counts = np.array([p.size for p in peaks], dtype=np.int64)
    lengths = np.array([x.size for x in filtered], dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    owner = np.repeat(np.arange(counts.size), counts)
    every = np.concatenate([*peaks, np.zeros(0)])
    fs = np.repeat(np.asarray(rates, dtype=np.float64), counts)
    positions = every[:, None] + OFFSETS_S[None, :] * fs[:, None]
    flat = np.concatenate([*filtered, np.zeros(0)])
    ok = np.concatenate([*finite, np.zeros(0, dtype=np.bool_)])
    valid = _windows_inside(positions, lengths[owner], offsets[owner], ok)
    waves = _sample(flat, positions[valid] + offsets[owner][valid][:, None])
    sizes = np.bincount(owner[valid], minlength=counts.size).astype(np.int64)
    need = np.concatenate([*needed, np.zeros(0, dtype=np.bool_)])
    corr_pre, scalars, wave, diff, qrs = _shape_features(waves, sizes, need[valid])
    context = _window_mean(_padded(corr_pre, sizes), sizes, P_CONTEXT_BEATS, 1)
    context = _unpadded(context, sizes)[need[valid]]
    times = np.divide(every, fs, out=np.zeros_like(every), where=fs > 0)
    rows = valid & need
    rr = _rr_features(times, counts)[valid]
    timing = rr[:, [RR_NAMES.index("pre_local"), RR_NAMES.index("post_pre")]]
    # One BLAS thread: the products are small, and more threads only spin, costing CPU the
    # station's other threads need.
    with _blas().limit(limits=1, user_api="blas"):
        cluster = _cluster_features(qrs, timing, sizes, need[valid])
    features = np.zeros((every.size, N_FEATURES), dtype=np.float64)
    features[rows] = np.hstack([rr[need[valid]], context[:, None], scalars, wave, diff, cluster])
    ends = np.cumsum(counts)
    return [(features[e - n : e], valid[e - n : e]) for e, n in zip(ends, counts, strict=True)]


def _windows_inside(
    positions: FloatArray, lengths: IntArray, offsets: IntArray, finite: BoolArray
) -> BoolArray:
    """Beats whose whole window lies inside its context and over finite samples only."""
    first = np.floor(positions[:, 0]).astype(np.int64)
    last = np.ceil(positions[:, -1]).astype(np.int64)
    inside = (first >= 0) & (last <= lengths - 1)
    if finite.size == 0:
        return np.zeros(first.size, dtype=np.bool_)
    if finite.all():
        return np.asarray(inside, dtype=np.bool_)
    bad = np.concatenate(([0], np.cumsum(~finite)))
    top = np.maximum(lengths - 1, 0)
    lo = np.minimum(offsets + np.clip(first, 0, top), finite.size - 1)
    hi = np.minimum(offsets + np.clip(last, 0, top), finite.size - 1)
    return np.asarray(inside & (bad[hi + 1] - bad[lo] == 0), dtype=np.bool_)


def _sample(signal: FloatArray, positions: FloatArray) -> FloatArray:
    """Linear interpolation of ``signal`` at fractional sample positions (any shape)."""
    if positions.size == 0:
        return np.zeros(positions.shape)
    base = np.floor(positions).astype(np.int64)
    base = np.clip(base, 0, signal.size - 2)
    frac = positions - base
    return np.asarray(signal[base] * (1.0 - frac) + signal[base + 1] * frac, dtype=np.float64)


def _padded(values: FloatArray, sizes: IntArray, fill: float = 0.0) -> FloatArray:
    """Rows stacked context after context → (contexts × most rows × …), ``fill`` after."""
    width = int(sizes.max()) if sizes.size else 0
    out = np.full((sizes.size, width, *values.shape[1:]), fill)
    owner = np.repeat(np.arange(sizes.size), sizes)
    rank = np.arange(values.shape[0]) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    out[owner, rank] = values
    return out


def _unpadded(padded: FloatArray, sizes: IntArray) -> FloatArray:
    keep = np.arange(padded.shape[1])[None, :] < sizes[:, None]
    return np.asarray(padded[keep], dtype=np.float64)


def _rr_features(times: FloatArray, counts: IntArray) -> FloatArray:
    """RR features of every beat, beats stacked context after context."""
    with np.errstate(divide="ignore", invalid="ignore"):  # the padding divides 0 by 0
        return _rr_columns(times, counts)


def _rr_columns(times: FloatArray, counts: IntArray) -> FloatArray:
    t = _padded(times, counts)
    n = counts[:, None]
    column = np.arange(t.shape[1])[None, :]
    rr = np.clip(np.diff(t, axis=1), MIN_RR_S, MAX_RR_S)
    median = _median_rows(np.where(column[:, :-1] < n - 1, rr, np.nan))
    record = np.where(np.isfinite(median), median, 1.0)[:, None]
    inside = column < n
    pre = np.where(inside, np.concatenate([record, rr], axis=1), 0.0)
    post = np.where(column >= n - 1, record, np.concatenate([rr, record], axis=1))
    post = np.where(inside, post, 0.0)
    local = _window_mean(pre, counts, LOCAL_BEATS, 0)
    long = _centred(pre, counts, LONG_BEATS)
    prev_pre = np.concatenate([record, pre[:, :-1]], axis=1)
    next_post = np.where(column >= n - 1, record, np.concatenate([post[:, 1:], record], axis=1))
    # Irregularity of the surrounding rhythm: in atrial fibrillation every RR is "premature"
    # against the mean, so prematurity means little there.
    around = _centred(pre, counts, LOCAL_BEATS)
    jumps = np.where(inside, np.abs(np.diff(pre, axis=1, prepend=pre[:, :1])), 0.0)
    irregularity = _centred(jumps, counts, LOCAL_BEATS) / around
    spread = np.sqrt(np.maximum(_centred(pre * pre, counts, LOCAL_BEATS) - around**2, 0)) / around
    # The longer rhythm context before the beat (and the next beat): irregularly irregular
    # (atrial fibrillation, every beat N in MIT-BIH) or regular with a few premature beats.
    mean = _window_mean(pre, counts, CONTEXT_BEATS, 1)
    square = _window_mean(pre * pre, counts, CONTEXT_BEATS, 1)
    premature = (inside & (pre < PREMATURE * local)).astype(np.float64)
    columns = (
        pre / local, post / local, pre / long, post / long, pre / record, post / record,
        post / pre, local / long, prev_pre / local, next_post / local, (post - pre) / local,
        irregularity, spread, pre / around, post / around,
        _window_mean(jumps, counts, CONTEXT_BEATS, 1) / mean,
        _window_mean((jumps > PNN_S).astype(np.float64), counts, CONTEXT_BEATS, 1),
        np.sqrt(np.maximum(square - mean**2, 0.0)) / mean,
        _window_mean(premature, counts, CONTEXT_BEATS, 1),
    )  # fmt: skip
    return np.stack([c[inside] for c in columns], axis=1)


def _window_mean(x: FloatArray, counts: IntArray, k: int, after: int) -> FloatArray:
    """Per row, the mean of the k values before each position and ``after`` values after it
    (with the position itself when ``after`` > 0); the row's first value when there are none.
    Rows hold ``counts`` values each (the rest is padding, never read)."""
    csum = np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(x, axis=1)], axis=1)
    idx = np.arange(x.shape[1])[None, :]
    lo = np.maximum(idx - k, 0) + np.zeros((x.shape[0], 1), dtype=np.int64)
    hi = np.minimum(idx + after + 1, counts[:, None]) if after else idx + 0 * lo
    hi = np.maximum(hi, lo)
    total = np.take_along_axis(csum, hi, axis=1) - np.take_along_axis(csum, lo, axis=1)
    count = hi - lo
    return np.where(count > 0, total / np.maximum(count, 1), x[:, :1])


def _centred(x: FloatArray, counts: IntArray, k: int) -> FloatArray:
    """Per row, the mean of the values within k positions either side."""
    csum = np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(x, axis=1)], axis=1)
    idx = np.arange(x.shape[1])[None, :]
    lo = np.maximum(idx - k, 0) + np.zeros((x.shape[0], 1), dtype=np.int64)
    hi = np.maximum(np.minimum(idx + k + 1, counts[:, None]), lo + 1)
    total = np.take_along_axis(csum, np.minimum(hi, x.shape[1]), axis=1)
    return np.asarray((total - np.take_along_axis(csum, lo, axis=1)) / (hi - lo), np.float64)


def _median_rows(x: FloatArray) -> FloatArray:
    """Median along axis 1 ignoring NaN (NaN where a row has no value); sorts once."""
    if x.shape[1] == 0:
        return np.full((x.shape[0], *x.shape[2:]), np.nan)
    ordered = np.sort(x, axis=1)
    n = np.sum(np.isfinite(x), axis=1)
    shape = (x.shape[0], 1, *x.shape[2:])
    lo = np.broadcast_to(np.maximum((n - 1) // 2, 0).reshape(shape), shape)
    hi = np.broadcast_to(np.maximum(n // 2, 0).reshape(shape), shape)
    low = np.take_along_axis(ordered, lo, axis=1)[:, 0]
    high = np.take_along_axis(ordered, hi, axis=1)[:, 0]
    return np.asarray(np.where(n > 0, (low + high) / 2.0, np.nan), dtype=np.float64)


def _per_context_median(values: FloatArray, sizes: IntArray) -> FloatArray:
    """Median of each context's rows (``values`` rows stacked context after context)."""
    if not sizes.size or not sizes.max(initial=0):
        return np.zeros((sizes.size, *values.shape[1:]))
    medians = _median_rows(_padded(values, sizes, np.nan))
    return np.asarray(np.nan_to_num(medians), dtype=np.float64)


def _shape_features(waves: FloatArray, sizes: IntArray, keep: BoolArray) -> tuple[FloatArray, ...]:
    """For beats stacked context after context: every beat's P-segment correlation with its
    context's dominant (median) beat; for the ``keep`` beats the scalar shape features, the
    normalised beat and its QRS difference from the dominant beat; and every beat's
    normalised QRS."""
    owner = np.repeat(np.arange(sizes.size), sizes)
    waves = waves - np.median(waves[:, PRE_QRS], axis=1, keepdims=True)  # PR-level baseline
    ptp = np.ptp(waves[:, QRS], axis=1) if waves.size else np.zeros(0)
    scale = np.maximum(_per_context_median(ptp, sizes), TINY)[owner]
    waves = waves / scale[:, None]
    every_qrs = waves[:, QRS]
    dominant = _per_context_median(waves, sizes)
    corr_pre = _correlation(waves[:, PRE_QRS], dominant[owner][:, PRE_QRS])
    waves, template, ptp_n = waves[keep], dominant[owner[keep]], (ptp / scale)[keep]
    diff = waves - template
    qrs, tq = waves[:, QRS], template[:, QRS]
    width = _width(qrs, ptp_n)
    t_width = _width(tq, np.ptp(tq, axis=1) if tq.size else np.zeros(0))
    slope = np.abs(np.diff(qrs, axis=1)).max(axis=1, initial=0.0)
    t_slope = np.abs(np.diff(tq, axis=1)).max(axis=1, initial=0.0)
    t_p = _rms(template[:, P_WAVE])
    polarity = waves[:, R_INDEX] * np.sign(template[:, R_INDEX])
    scalars = np.column_stack(
        (
            ptp_n, qrs.max(axis=1, initial=-np.inf), qrs.min(axis=1, initial=np.inf), width,
            _correlation(qrs, tq), _correlation(waves, template),
            corr_pre[keep], _correlation(waves[:, POST_QRS], template[:, POST_QRS]),
            _rms(diff[:, QRS]), _rms(diff[:, PRE_QRS]), _rms(diff[:, POST_QRS]),
            _rms(qrs) / np.maximum(_rms(tq), TINY),
            _rms(waves[:, POST_QRS]) / np.maximum(_rms(template[:, POST_QRS]), TINY),
            width / np.maximum(t_width, STEP_S),
            np.abs(qrs).sum(axis=1) / np.maximum(np.abs(tq).sum(axis=1), TINY),
            polarity, slope / np.maximum(t_slope, TINY),
            np.abs(diff[:, NARROW]).max(axis=1, initial=0.0),
            _correlation(waves[:, NARROW], template[:, NARROW]),
            _rms(waves[:, P_WAVE]) / np.maximum(t_p, TINY), t_p,
        )
    )  # fmt: skip
    return corr_pre, scalars, waves[:, WAVE], diff[:, QRS], every_qrs


def _cluster_features(
    qrs: FloatArray, timing: FloatArray, sizes: IntArray, keep: BoolArray
) -> FloatArray:
    """For the ``keep`` beats (beats stacked context after context): the share of the beats
    within CLUSTER_BEATS either side, in the same context, whose QRS matches this beat's
    (correlation and amplitude), and over those matching beats (itself included) the median
    of ``timing``'s two columns (pre_local, post_pre) and the share that came early."""
    chosen = np.flatnonzero(keep)
    out = np.zeros((chosen.size, len(CLUSTER_NAMES)))
    if not chosen.size:
        return out
    # No context reaches further than its own size: short (streamed) contexts need a
    # narrower window, and beats outside a beat's context are never compared anyway.
    pad = min(CLUSTER_BEATS, int(sizes.max()) - 1)
    width = 2 * pad + 1
    # Single precision: the model sees float32 features, and it halves the memory traffic.
    qrs = qrs.astype(np.float32)
    ptp = np.ptp(qrs, axis=1)
    centred = qrs - qrs.mean(axis=1, keepdims=True)
    unit = centred / np.maximum(np.linalg.norm(centred, axis=1), np.float32(TINY))[:, None]
    start = np.repeat(np.cumsum(sizes) - sizes, sizes)
    end = start + np.repeat(sizes, sizes)
    # Padded so that beat i's neighbours i - pad .. i + pad are padded rows i .. i + 2 pad;
    # each beat's neighbourhood is then one row of a sliding window view (no index arrays).
    unit_pad = np.pad(unit, ((pad, pad), (0, 0)))
    ptp_near = sliding_window_view(np.pad(ptp, pad), width)
    timing = timing.astype(np.float32)
    pre_near = sliding_window_view(np.pad(timing[:, 0], pad), width)
    post_pre_near = sliding_window_view(np.pad(timing[:, 1], pad), width)
    span = np.arange(width)
    done = 0
    while done < chosen.size:
        # A block: up to CLUSTER_CHUNK chosen beats lying within 4 CLUSTER_CHUNK beats, so
        # a few beats wanted from many short contexts take one block, and memory stays
        # bounded. One matrix product per block: each beat against its neighbourhood.
        lo = int(chosen[done])
        stop = int(np.searchsorted(chosen, lo + 4 * CLUSTER_CHUNK))
        beats = chosen[done : min(done + CLUSTER_CHUNK, stop)]
        gram = unit[beats] @ unit_pad[lo : int(beats[-1]) + 1 + 2 * pad].T
        corr = sliding_window_view(gram, width, axis=1)[np.arange(beats.size), beats - lo]
        neighbour, amplitude = ptp_near[beats], ptp[beats, None]
        match = corr >= CLUSTER_MATCH
        match &= neighbour >= np.float32(CLUSTER_AMPLITUDE) * amplitude
        match &= neighbour * np.float32(CLUSTER_AMPLITUDE) <= amplitude
        # Neighbours in the beat's own context only: window columns first .. last - 1.
        first, last = start[beats] - beats + pad, end[beats] - beats + pad
        inside = np.minimum(last, width) - np.maximum(first, 0)
        if first.max() > 0 or last.min() < width:
            match &= (span >= first[:, None]) & (span < last[:, None])
        match[:, pad] = True  # a beat always matches itself
        count = match.sum(axis=1)
        pre = np.where(match, pre_near[beats], np.nan)
        out[done : done + beats.size] = np.column_stack(
            (
                count / inside,
                _median_rows(pre),
                _median_rows(np.where(match, post_pre_near[beats], np.nan)),
                (pre < PREMATURE).sum(axis=1) / count,
            )
        )
        done += beats.size
    return out


def _width(qrs: FloatArray, ptp: FloatArray) -> FloatArray:
    above = np.abs(qrs) > 0.3 * np.maximum(ptp, TINY)[:, None]
    return np.asarray(above.sum(axis=1) * STEP_S, dtype=np.float64)


def _correlation(x: FloatArray, template: FloatArray) -> FloatArray:
    """Row-wise correlation of ``x`` with ``template`` (one template row per row of x)."""
    xc = x - x.mean(axis=1, keepdims=True)
    tc = template - template.mean(axis=1, keepdims=True)
    denominator = np.sqrt((xc * xc).sum(axis=1) * (tc * tc).sum(axis=1))
    return np.asarray((xc * tc).sum(axis=1) / np.maximum(denominator, TINY), dtype=np.float64)


def _rms(x: FloatArray) -> FloatArray:
    return np.asarray(np.sqrt(np.mean(x * x, axis=1)), dtype=np.float64)
