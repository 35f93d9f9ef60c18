"""Atrial fibrillation: a streaming, causal monitor fed with the ECG and the detected beats.

AF shows as an irregularly irregular ventricular rhythm with no P wave. RR irregularity alone
is fooled by ectopic beats, detector errors and sinus arrhythmia, so the monitor does four
things, all causal:

1. **Dominant beats.** Each beat's QRS (0.5-15 Hz, +-50 ms, aligned within +-20 ms) is
   compared with a running template of the patient's usual QRS (first taken as the medoid of
   the first 8 beats, re-learnt after 6 misses in a row). Only beats that match (correlation
   >= 0.8, amplitude x0.5-2) enter the rhythm window: PVCs, aberrant beats, T waves and
   artefacts a detector mistook for beats are left out, so ectopy cannot pass for AF.
2. **A window of the last 24 dominant beats** (the first verdict after 10, so 9-60 s strips
   can be judged), where intervals over 1.7x or under 0.4x the median (a skipped beat, a
   compensatory pause) are left out of the interval statistics.
3. **Nine features** of the window (``FEATURES``), combined by a logistic model:

   ===================== ==================================================================
   ``rr_entropy``        Shannon entropy of RR/median RR in 16 bins over 0.5-1.5 (Dash 2009)
   ``lorenz_dispersion`` share of occupied 0.06 cells in the Lorenz plot of successive
                         RR differences / median RR, within +-0.6 (after Sarkar 2008)
   ``log_drr``           ln(median |successive RR difference| / median RR)
   ``cosen``             coefficient of sample entropy, m = 1, r = 30 ms (Lake & Moorman 2011)
   ``log_rr``            ln(median RR in s): AF usually runs faster than sinus rhythm
   ``p_snr``             ln(P-wave template peak-to-peak / median residual of each beat)
   ``p_amplitude``       ln(P-wave template peak-to-peak / median QRS peak-to-peak)
   ``p_match``           median correlation of each beat's PR segment with the template
   ``dominant_fraction`` dominant beats / all detections in the window (noise, ectopy)
   ===================== ==================================================================

   The P-wave template is the median of the window's PR segments (300-60 ms before the R
   peak, detrended): a sinus P wave survives the median, fibrillatory waves cancel out.
4. **Hysteresis.** AF starts after ``confirm`` verdicts in a row with probability >=
   ``p_on`` and ends after ``release`` in a row below ``p_off``, so an episode is announced
   once. Its start (and end) is dated back half a window, where the evidence began to tip,
   and never before the first beat analysed. No minimum episode duration is imposed: the
   shortest possible episode is the first verdict's 10 beats, which lets short strips be
   classified; a display or alarm that wants the conventional 30 s can filter on duration.
   After 10 s without any beat (signal lost, asystole) an open episode ends at the last beat.

The coefficients in ``MODEL`` were fitted by ``python -m tests.validation.fit_af_model`` on
the even-numbered records of the PhysioNet/CinC 2017 subset only (the odd half is held out),
with weights so that every record counts once, and the thresholds were chosen on the same
half. That script re-derives every number below.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal

from app.analysis.qrs import MAX_RATE, MIN_RATE, detect_qrs

FloatArray = npt.NDArray[np.float64]

FEATURES = (
    "rr_entropy",
    "lorenz_dispersion",
    "log_drr",
    "cosen",
    "log_rr",
    "p_snr",
    "p_amplitude",
    "p_match",
    "dominant_fraction",
)
BAND_HZ = (0.5, 15.0)  # P waves and QRS, without baseline wander or muscle noise
BEFORE, AFTER = 0.6, 0.15  # s of ECG analysed around each R peak
P_WINDOW = (0.30, 0.06)  # s before the R peak: the P wave sits here at PR 120-200 ms
QRS_HALF = 0.05  # s either side of the R peak compared with the template
ALIGN = 0.02  # s the R peak may be shifted to line the QRS up with the template
MATCH = 0.8  # correlation with the template for a dominant beat
AMPLITUDE_RANGE = (0.5, 2.0)  # x the template's peak-to-peak
LEARN_BEATS = 8
RELEARN_AFTER = 6  # misses in a row: the QRS has changed (lead moved), learn it again
TEMPLATE_UPDATE = 0.1
WINDOW_BEATS = 24
MIN_BEATS = 10
GAP_RR = (0.4, 1.7)  # x median RR: outside this an interval is a detector or ectopy gap
MAX_RR = 3.5  # s between dominant beats: longer breaks the window
SILENCE_END = 10.0  # s without beats that ends an open episode
HISTORY = 3.0  # s of ECG kept: a detector reports an R peak well within this
PENDING_LIMIT = 64  # beats waiting for their ECG; beyond this the ECG is not being fed
EPS = 1e-6


@dataclass(frozen=True, slots=True)
class AfModel:
    """Logistic weights over ``FEATURES`` (raw units), and the hysteresis thresholds."""

    weights: tuple[float, ...]
    intercept: float
    p_on: float
    p_off: float
    confirm: int  # verdicts in a row at or above p_on that start an episode
    release: int  # verdicts in a row below p_off that end it

    def probability(self, features: FloatArray) -> float:
        z = float(np.dot(self.weights, features)) + self.intercept
        return 1.0 / (1.0 + math.exp(-min(max(z, -50.0), 50.0)))


MODEL = AfModel(
    weights=(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    intercept=0.0,
    p_on=0.5,
    p_off=0.5,
    confirm=1,
    release=1,
)


@dataclass(frozen=True, slots=True)
class AfEvent:
    onset: bool  # True: AF began at ``sample``; False: it ended there
    sample: int
    announced_at: int  # the stream sample at which the monitor decided


@dataclass(frozen=True, slots=True)
class Decision:
    """One verdict on the window that ends at beat ``sample``."""

    sample: int
    features: FloatArray
    probability: float
    anchor: int  # the beat half a window back: where an onset or offset is dated


@dataclass(frozen=True, slots=True)
class _Beat:
    sample: int
    p_wave: FloatArray
    amplitude: float


class AfMonitor:
    """Feed every ECG sample with ``feed_ecg`` and every detected R peak with ``add_beat``
    (in order, R peaks as ``QrsDetector`` reports them); read ``in_af``."""

    def __init__(self, fs: float, model: AfModel = MODEL) -> None:
        self.fs = _checked_rate(fs)
        self.model = model
        self._sos = signal.butter(2, BAND_HZ, btype="bandpass", fs=self.fs, output="sos")
        self._before, self._after = round(BEFORE * fs), round(AFTER * fs)
        self._p = (self._before - round(P_WINDOW[0] * fs), self._before - round(P_WINDOW[1] * fs))
        self._qrs, self._align = max(2, round(QRS_HALF * fs)), max(1, round(ALIGN * fs))
        self._ecg = np.zeros(0)
        self._base = 0  # stream index of _ecg[0]
        self._pending: deque[tuple[int, bool]] = deque()
        self._learning: list[tuple[int, bool, FloatArray]] = []
        self._recent: deque[FloatArray] = deque(maxlen=LEARN_BEATS)
        self._template: FloatArray | None = None
        self._misses = 0
        self._window: deque[_Beat] = deque(maxlen=WINDOW_BEATS)
        self._detections: deque[int] = deque(maxlen=4 * WINDOW_BEATS)
        self._last_beat: int | None = None
        self._tracker = EpisodeTracker(model)
        self.probability: float | None = None

    @property
    def in_af(self) -> bool:
        return self._tracker.in_af

    @property
    def episode_start(self) -> int | None:
        """Sample at which the current AF episode began, or None outside AF."""
        return self._tracker.start if self._tracker.in_af else None

    @property
    def samples_seen(self) -> int:
        return self._base + len(self._ecg)

    def feed_ecg(self, chunk: npt.ArrayLike) -> list[AfEvent]:
        """The next raw ECG samples (mV; NaN for gaps), before the beats found in them."""
        x = np.asarray(chunk, dtype=np.float64).ravel()
        self._ecg = np.concatenate([self._ecg, x])
        events = self._drain()
        self._trim()
        return events + self._silence(self.samples_seen)

    def add_beat(self, sample: int, ventricular: bool = False) -> list[AfEvent]:
        """A detected R peak; ``ventricular`` (the beat classifier's verdict) keeps it out of
        the rhythm window even if its QRS resembles the template."""
        self._pending.append((int(sample), bool(ventricular)))
        events = self._drain()
        while len(self._pending) > PENDING_LIMIT:  # no ECG is coming: count, do not analyse
            events += self._analysed(*self._pending.popleft(), None)
        return events

    def flush(self) -> list[AfEvent]:
        """The stream has ended: judge what is left and close an open episode there."""
        events = self._drain(final=True)
        return events + self._tracker.close(self.samples_seen)

    def decide(self, decision: Decision) -> list[AfEvent]:
        """Turn one window verdict into episode events (a hook for the fitting script)."""
        return self._tracker.update(decision)

    # -- beats -----------------------------------------------------------------------------

    def _drain(self, final: bool = False) -> list[AfEvent]:
        events: list[AfEvent] = []
        while self._pending:
            sample, ventricular = self._pending[0]
            if sample + self._after > self.samples_seen and not final:
                break
            self._pending.popleft()
            events += self._analysed(sample, ventricular, self._segment(sample))
        return events

    def _segment(self, sample: int) -> FloatArray | None:
        lo, hi = sample - self._before - self._base, sample + self._after - self._base
        if lo < 0 or hi > len(self._ecg):
            return None
        raw = self._ecg[lo:hi]
        if not np.isfinite(raw).all() or np.ptp(raw) <= 0:
            return None
        filtered: FloatArray = signal.sosfiltfilt(self._sos, raw - raw[0])
        return filtered

    def _analysed(self, sample: int, ventricular: bool, seg: FloatArray | None) -> list[AfEvent]:
        events = self._silence(sample)
        self._last_beat = sample
        self._detections.append(sample)
        if seg is None:
            return events
        if self._template is None:
            self._learning.append((sample, ventricular, seg))
            if len(self._learning) < LEARN_BEATS:
                return events
            self._template = _medoid([self._qrs_at(s, 0) for _, _, s in self._learning])
            learnt, self._learning = self._learning, []
            for s, v, g in learnt:
                events += self._classify(s, v, g)
            return events
        return events + self._classify(sample, ventricular, seg)

    def _classify(self, sample: int, ventricular: bool, seg: FloatArray) -> list[AfEvent]:
        template = self._template
        if template is None:
            return []
        shift, match = self._best_alignment(seg, template)
        qrs = self._qrs_at(seg, shift)
        amplitude = float(np.ptp(qrs))
        ratio = amplitude / max(float(np.ptp(template)), EPS)
        dominant = (
            not ventricular and match >= MATCH and AMPLITUDE_RANGE[0] < ratio < AMPLITUDE_RANGE[1]
        )
        self._recent.append(self._qrs_at(seg, 0))
        if not dominant:
            self._misses += 1
            if self._misses >= RELEARN_AFTER and len(self._recent) == LEARN_BEATS:
                self._template = _medoid(list(self._recent))
                self._misses = 0
                self._window.clear()
            return []
        self._misses = 0
        self._template = (1 - TEMPLATE_UPDATE) * template + TEMPLATE_UPDATE * qrs
        p_wave = seg[self._p[0] + shift : self._p[1] + shift]
        return self._add_dominant(_Beat(sample, p_wave, amplitude))

    def _qrs_at(self, seg: FloatArray, shift: int) -> FloatArray:
        centre = self._before + shift
        qrs = seg[centre - self._qrs : centre + self._qrs]
        centred: FloatArray = qrs - float(qrs.mean())
        return centred

    def _best_alignment(self, seg: FloatArray, template: FloatArray) -> tuple[int, float]:
        lo = self._before - self._align - self._qrs
        views = sliding_window_view(seg[lo : lo + 2 * (self._qrs + self._align)], 2 * self._qrs)
        views = views - views.mean(axis=1, keepdims=True)
        norms = np.linalg.norm(views, axis=1) * max(float(np.linalg.norm(template)), EPS)
        corr = (views @ template) / np.maximum(norms, EPS)
        best = int(np.argmax(corr))
        return best - self._align, float(corr[best])

    # -- window and verdicts ---------------------------------------------------------------

    def _add_dominant(self, beat: _Beat) -> list[AfEvent]:
        if self._window and beat.sample - self._window[-1].sample > MAX_RR * self.fs:
            self._window.clear()
        self._window.append(beat)
        if len(self._window) < MIN_BEATS:
            return []
        beats = list(self._window)
        samples = np.array([b.sample for b in beats], dtype=np.float64)
        detections = sum(1 for s in self._detections if s >= beats[0].sample)
        features = window_features(
            samples / self.fs,
            np.array([b.p_wave for b in beats]),
            np.array([b.amplitude for b in beats]),
            detections,
        )
        self.probability = self.model.probability(features)
        anchor = beats[max(0, len(beats) - 1 - WINDOW_BEATS // 2)].sample
        return self.decide(Decision(beat.sample, features, self.probability, anchor))

    def _silence(self, now: int) -> list[AfEvent]:
        """End an open episode at the last beat once no beat has come for SILENCE_END."""
        last = self._last_beat
        if last is None or now - last <= SILENCE_END * self.fs:
            return []
        self._window.clear()
        return self._tracker.close(last)

    def _trim(self) -> None:
        """Keep the ECG that pending and late-reported beats still need; amortised."""
        first = self._pending[0][0] if self._pending else self.samples_seen
        keep_from = min(first - self._before, self.samples_seen - round(HISTORY * self.fs))
        excess = keep_from - self._base
        if excess > max(len(self._ecg) // 2, round(self.fs)):
            self._ecg = self._ecg[excess:]
            self._base += excess


class EpisodeTracker:
    """Hysteresis over verdicts: one onset and one offset per episode, never overlapping."""

    def __init__(self, model: AfModel) -> None:
        self.model = model
        self.in_af = False
        self.start = 0
        self._last_end = 0
        self._run = 0
        self._candidate = 0

    def update(self, decision: Decision) -> list[AfEvent]:
        model = self.model
        tipping = (
            decision.probability < model.p_off
            if self.in_af
            else (decision.probability >= model.p_on)
        )
        if not tipping:
            self._run = 0
            return []
        if self._run == 0:
            floor = self.start if self.in_af else self._last_end
            self._candidate = max(decision.anchor, floor)
        self._run += 1
        if self._run < (model.release if self.in_af else model.confirm):
            return []
        self._run = 0
        self.in_af = not self.in_af
        if self.in_af:
            self.start = self._candidate
        else:
            self._last_end = self._candidate
        return [AfEvent(self.in_af, self._candidate, decision.sample)]

    def close(self, sample: int) -> list[AfEvent]:
        """End an open episode at ``sample`` (stream end, or signal lost)."""
        self._run = 0
        if not self.in_af:
            return []
        self.in_af = False
        self._last_end = max(sample, self.start)
        return [AfEvent(False, self._last_end, sample)]


def window_features(
    times: FloatArray, p_waves: FloatArray, amplitudes: FloatArray, detections: int
) -> FloatArray:
    """``FEATURES`` of a window of dominant beats: R-peak times (s), their PR segments (one
    row each) and QRS peak-to-peak amplitudes, and the number of detections spanned."""
    rr = np.diff(times)
    median = max(float(np.median(rr)), EPS)
    ok = (rr >= GAP_RR[0] * median) & (rr <= GAP_RR[1] * median)
    clean = rr[ok] if ok.sum() >= 4 else rr
    pair_ok = ok[1:] & ok[:-1]
    drr = np.diff(rr)[pair_ok] if pair_ok.sum() >= 3 else np.diff(rr)
    return np.array(
        [
            _entropy(clean / median),
            _lorenz_dispersion(drr / median),
            math.log(float(np.median(np.abs(drr))) / median + 1e-3),
            _cosen(clean),
            math.log(median),
            *_p_wave_features(p_waves, float(np.median(amplitudes))),
            len(times) / max(detections, len(times)),
        ]
    )


def _entropy(ratios: FloatArray) -> float:
    counts, _ = np.histogram(np.clip(ratios, 0.5, 1.5), bins=16, range=(0.5, 1.5))
    p = counts[counts > 0] / max(int(counts.sum()), 1)
    return float(-(p * np.log(p)).sum())


def _lorenz_dispersion(drr: FloatArray) -> float:
    if drr.size < 2:
        return 0.0
    cells = np.floor(np.clip(drr, -0.6, 0.6) / 0.06).astype(np.int64)
    return len(set(zip(cells[:-1].tolist(), cells[1:].tolist(), strict=True))) / (drr.size - 1)


def _cosen(rr: FloatArray, r: float = 0.03) -> float:
    """Lake & Moorman's COSEn: SampEn(m=1, r) + ln(2r) - ln(mean RR), counts floored at 1."""
    near = np.abs(rr[:-1, None] - rr[None, :-1]) <= r
    both = near[:-1, :-1] & near[1:, 1:]
    matches_m = max(int(near.sum()) - (rr.size - 1), 1)
    matches_m1 = max(int(both.sum()) - (rr.size - 2), 1)
    mean = max(float(rr.mean()), EPS)
    return -math.log(matches_m1 / matches_m) + math.log(2 * r) - math.log(mean)


def _p_wave_features(p_waves: FloatArray, qrs_amplitude: float) -> tuple[float, float, float]:
    """(p_snr, p_amplitude, p_match) of the window's PR segments."""
    t = np.arange(p_waves.shape[1], dtype=np.float64)
    slope = t - t.mean()
    slope /= max(float(np.linalg.norm(slope)), EPS)
    centred = p_waves - p_waves.mean(axis=1, keepdims=True)
    detrended = centred - np.outer(centred @ slope, slope)
    template = np.median(detrended, axis=0)
    height = float(np.ptp(template))
    residual = float(np.median(np.std(detrended - template, axis=1)))
    norms = np.linalg.norm(detrended, axis=1) * max(float(np.linalg.norm(template)), EPS)
    match = float(np.median((detrended @ template) / np.maximum(norms, EPS)))
    return (
        math.log((height + EPS) / (residual + EPS)),
        math.log(height / max(qrs_amplitude, EPS) + 1e-3),
        match,
    )


def _medoid(qrs: Sequence[FloatArray]) -> FloatArray:
    """The QRS that correlates best, in the median, with the others among the steep ones: a
    detector that also picks up T waves must not teach the template a T wave."""
    stack = np.array(qrs)
    slope = np.abs(np.diff(stack, axis=1)).max(axis=1)
    steep = stack[slope >= 0.5 * float(np.percentile(slope, 75))]
    unit = steep / np.maximum(np.linalg.norm(steep, axis=1, keepdims=True), EPS)
    best = int(np.argmax(np.median(unit @ unit.T, axis=1)))
    medoid: FloatArray = steep[best].copy()
    return medoid


def _checked_rate(fs: float) -> float:
    rate = float(fs)
    if not (math.isfinite(rate) and MIN_RATE <= rate <= MAX_RATE):
        raise ValueError(f"AF detection needs {MIN_RATE:g}-{MAX_RATE:g} Hz, got {fs!r}")
    return rate


def af_episodes(ecg: npt.ArrayLike, fs: float) -> list[tuple[int, int]]:
    """(start, end) samples of each AF episode in a recording, sorted and non-overlapping:
    the streaming QRS detector's beats and the ECG fed to an ``AfMonitor`` second by second."""
    rate = _checked_rate(fs)
    x = np.asarray(ecg, dtype=np.float64).ravel()
    if x.size == 0:
        return []
    events = run_monitor(AfMonitor(rate), x, detect_qrs(x, rate))
    return episodes_from_events(events, x.size)


def run_monitor(monitor: AfMonitor, ecg: FloatArray, beats: npt.ArrayLike) -> list[AfEvent]:
    """Drive ``monitor`` through a recording as the real-time engine would: one second of
    ECG, then the beats in it, and so on; the stream's end closes an open episode."""
    peaks = np.sort(np.asarray(beats, dtype=np.int64).ravel())
    step = max(1, round(monitor.fs))
    events: list[AfEvent] = []
    next_beat = 0
    for start in range(0, ecg.size, step):
        stop = min(start + step, ecg.size)
        events += monitor.feed_ecg(ecg[start:stop])
        while next_beat < peaks.size and peaks[next_beat] < stop:
            events += monitor.add_beat(int(peaks[next_beat]))
            next_beat += 1
    return events + monitor.flush()


def episodes_from_events(events: Sequence[AfEvent], n: int) -> list[tuple[int, int]]:
    """Pair onsets with offsets into (start, end) episodes clipped to [0, n]."""
    episodes: list[tuple[int, int]] = []
    start: int | None = None
    for event in events:
        if event.onset:
            start = event.sample
        elif start is not None:
            lo, hi = max(0, min(start, n)), max(0, min(event.sample, n))
            if episodes and lo <= episodes[-1][1]:
                lo = episodes[-1][1]
            if hi > lo:
                episodes.append((lo, hi))
            start = None
    return episodes
