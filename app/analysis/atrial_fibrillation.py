"""Atrial fibrillation: a streaming, causal monitor fed with the ECG and the detected beats.

AF shows as an irregularly irregular ventricular rhythm with no P wave. RR irregularity alone
is fooled by ectopic beats, detector errors and sinus arrhythmia, so the monitor does four
things, all causal:

1. **Dominant beats.** Each beat's QRS (0.5-15 Hz zero-phase on the 0.75 s around it,
   +-50 ms, aligned within +-20 ms) is compared with a running template of the patient's
   usual QRS (first the medoid of the steepest of the first 8 beats, re-learnt after 6 misses
   in a row). Only beats that match (correlation >= 0.8, amplitude x0.5-2) enter the rhythm
   window: PVCs, aberrant beats, T waves and artefacts taken for beats are left out, so
   ectopy cannot pass for AF.
2. **A window of the last 16 dominant beats** (the first verdict after 10, so 9-60 s strips
   can be judged; 16 beats scored better than 12, 20, 24 or 32 in cross-validation across
   the even-numbered CinC records, split by record). Intervals over 1.7x or under 0.4x the
   median (a skipped beat, a compensatory pause) are left out of the interval statistics.
3. **A logistic model** over the window's features (``app.analysis.af_features``). ``MODEL``
   also weighs the beat classifier's labels of every detection the window spans;
   ``MODEL_WITHOUT_LABELS`` serves when no classifier runs (its model file is missing):

   ===================== ======= ======= =====================================================
   feature               MODEL   without meaning
   ===================== ======= ======= =====================================================
   ``rr_entropy``        +0.6346 +0.7251 entropy of RR / median RR in 15 bins over 0.5-1.5
   ``lorenz_dispersion`` +4.3995 +4.0547 share of occupied 0.06 cells in the Lorenz plot of
                                         successive RR differences / median RR (Sarkar 2008)
   ``log_drr``           +0.3651 +0.2893 ln(median abs successive RR difference / median RR)
   ``log_rr``            -5.1597 -5.1419 ln(median RR, s): AF usually runs faster than sinus
   ``p_snr``             -0.7079 -0.4982 ln(P-wave template peak-to-peak / median residual)
   ``p_amplitude``       -1.0113 -1.2359 ln(P-wave template peak-to-peak / median QRS p-p)
   ``p_match``           -0.8453 -0.8400 median correlation of each PR segment with the
                                         template
   ``dominant_fraction`` -0.3598 +2.7943 dominant beats / all detections
   ``s_share``           -2.1426         share of judged detections the classifier calls S
   ``v_share``           -5.5084         share it calls V
   intercept             -6.6135 -10.867
   ===================== ======= ======= =====================================================

   The P-wave template is the median of the window's PR segments (300-60 ms before the R
   peak, detrended): a sinus P wave survives the median, fibrillatory waves cancel out.
   Irregularity made of premature beats (PACs, PVCs: "other rhythm" in CinC) is what most
   often passes for AF; the classifier's S and V calls name it, and with them in the model the
   dominant fraction no longer stands for ectopy (its weight turns negative: what it still
   sees is noise and aberrant AF beats). In cross-validation over all 1706 CinC
   records (``fit_af_model --cv 5``: 9 seeded splits, thresholds chosen inside the training
   folds) the labels raise F1 from 0.783 to 0.792 (means), higher on 7 of the 9 splits.
   Beats the classifier calls V still enter the window when their QRS matches the template:
   in an exploratory run leaving them out lowered F1 (0.776 against 0.786): on lead-I
   recordings it calls some conducted beats V.
4. **Hysteresis** (``app.analysis.af_tracker``). AF starts after ``confirm`` (1) verdicts in
   a row with probability >= ``p_on`` (0.2, both models) and ends after ``release`` (1)
   below ``p_off`` (the same), so an episode is announced once. Both
   ends are dated back half a window, where the evidence began to tip. A new episode must
   have lasted 30 s (the usual minimum AF episode) before it is announced, except in the
   first 30 s of monitoring: AF present when a patient is connected, or in a 9-60 s strip,
   has lasted an unknown time, not a short one. After 10 s without any beat (signal lost,
   asystole) an open episode ends at the last beat.

Both models were fitted by ``python -m tests.validation.fit_af_model`` on the even-numbered
records of the PhysioNet/CinC 2017 subset only (Newton's method, ridge 1 on standardised
features, each record weighing the same), their beats labelled by the shipped beat classifier
as the inference worker labels them, at ``LABEL_MULTIPLIERS`` (not the beat calls' own
multipliers); the thresholds were chosen on the same half. That script re-derives every number
above; a beat classifier with new trees needs ``MODEL`` refitted (``BEAT_MODEL_SHA256`` names
the one it was fitted with; refitted after the decision multipliers alone changed, and again
when the classifier became three averaged models whose first, which gives the AF labels, is
the earlier single model, it gave the same weights, and again when the other two members were
gated by the first: the first member's labels are unchanged). The odd half is held out:
``python -m tests.validation.ec57 --cinc2017 DIR`` reports both halves.

Real-time use (``QrsDetector`` and ``AfMonitor`` on one bed's ECG stream)::

    monitor = AfMonitor(fs)
    for chunk in stream:
        events = monitor.feed_ecg(chunk)  # raw mV, NaN in gaps; before the beats
        for r_peak in detector.feed(chunk):
            events += monitor.add_beat(int(r_peak), label)  # the classifier's, or None
        # monitor.in_af, monitor.episode_start, monitor.probability; events: AfEvent

About 0.45 ms of CPU per beat, with a few seconds of ECG and 16 beats kept per bed.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import signal

from app.analysis.af_features import (
    EPS,
    FEATURES,
    LABEL_MULTIPLIERS,
    UNLABELLED_FEATURES,
    AfModel,
    ectopy_shares,
    window_features,
)
from app.analysis.af_tracker import AfEvent, Decision, EpisodeTracker, episodes_from_events
from app.analysis.qrs import MAX_RATE, MIN_RATE, detect_qrs
from app.inference.model import ModelUnavailableError, default_model
from app.inference.streaming import CONTEXT_S, streamed_labels

__all__ = [
    "FEATURES",
    "MODEL",
    "MODEL_WITHOUT_LABELS",
    "UNLABELLED_FEATURES",
    "AfEvent",
    "AfModel",
    "AfMonitor",
    "Decision",
    "EpisodeTracker",
    "af_episodes",
    "beats_in_af",
    "episodes_from_events",
    "run_monitor",
    "window_features",
]

FloatArray = npt.NDArray[np.float64]

BAND_HZ = (0.5, 15.0)  # P waves and QRS, without baseline wander or muscle noise
MAX_MV = 50.0  # a larger "ECG" value is a fault, treated as a gap
MIN_MV = 1e-3  # peak-to-peak around a beat below this is a flat line
BEFORE, AFTER = 0.6, 0.15  # s of ECG analysed around each R peak
P_WINDOW = (0.30, 0.06)  # s before the R peak: the P wave sits here at PR 120-200 ms
QRS_HALF = 0.05  # s either side of the R peak compared with the template
ALIGN = 0.02  # s the R peak may be shifted to line the QRS up with the template
MATCH = 0.8  # correlation with the template for a dominant beat
AMPLITUDE_RANGE = (0.5, 2.0)  # x the template's peak-to-peak
LEARN_BEATS = 8
RELEARN_AFTER = 6  # misses in a row: the QRS has changed (lead moved), learn it again
TEMPLATE_UPDATE = 0.1
WINDOW_BEATS = 16
MIN_BEATS = 10
MAX_RR = 3.5  # s between dominant beats: longer breaks the window
SILENCE_END = 10.0  # s without beats that ends an open episode
HISTORY = 3.0  # s of ECG kept: a detector reports an R peak well within this
PENDING_LIMIT = 64  # beats waiting for their ECG; beyond this the ECG is not being fed


MODEL = AfModel(  # with the beat classifier's labels (s_share, v_share)
    weights=(0.6346, 4.3995, 0.3651, -5.1597, -0.7079, -1.0113, -0.8453, -0.3598, -2.1426, -5.5084),
    intercept=-6.6135,
    p_on=0.2,
    p_off=0.2,
    confirm=1,
    release=1,
)
# The beat classifier whose labels MODEL was fitted on (resources/models/beat_classifier.md).
BEAT_MODEL_SHA256 = "1f1a671935b8856020ab8bedaaa3aa76efaa347d0e00d49f4159c5e7372531c0"
MODEL_WITHOUT_LABELS = AfModel(  # when no beat classifier runs
    weights=(0.7251, 4.0547, 0.2893, -5.1419, -0.4982, -1.2359, -0.84, 2.7943),
    intercept=-10.8674,
    p_on=0.2,
    p_off=0.2,
    confirm=1,
    release=1,
)


@dataclass(frozen=True, slots=True)
class _Beat:
    sample: int
    p_wave: FloatArray
    amplitude: float


class AfMonitor:
    """Feed every ECG sample with ``feed_ecg`` and every detected R peak with ``add_beat``
    (in order, R peaks as ``QrsDetector`` reports them); read ``in_af``. With ``MODEL`` each
    beat should carry the beat classifier's label; without a classifier use
    ``MODEL_WITHOUT_LABELS``."""

    def __init__(self, fs: float, model: AfModel = MODEL) -> None:
        self.fs = _checked_rate(fs)
        self.model = model
        self._labelled = model.uses_labels
        # Transfer-function form: short segments filter stably, and lfilter is cheap.
        self._b, self._a = signal.butter(2, BAND_HZ, btype="bandpass", fs=self.fs)
        self._zi = signal.lfilter_zi(self._b, self._a)
        self._pad = 3 * max(len(self._a), len(self._b))
        self._before, self._after = round(BEFORE * fs), round(AFTER * fs)
        self._p = (self._before - round(P_WINDOW[0] * fs), self._before - round(P_WINDOW[1] * fs))
        self._qrs, self._align = max(2, round(QRS_HALF * fs)), max(1, round(ALIGN * fs))
        self._ecg = np.zeros(0)  # raw, with gaps held at the last good value
        self._valid = np.zeros(0, bool)  # the raw sample was a finite, plausible voltage
        self._base = 0  # stream index of _ecg[0]
        self._last_value = 0.0
        self._pending: deque[tuple[int, str | None]] = deque()
        self._learning: list[tuple[int, FloatArray]] = []
        self._recent: deque[FloatArray] = deque(maxlen=LEARN_BEATS)
        self._template: FloatArray | None = None
        self._misses = 0
        self._window: deque[_Beat] = deque(maxlen=WINDOW_BEATS)
        self._detections: deque[tuple[int, str | None]] = deque(maxlen=4 * WINDOW_BEATS)
        self._last_beat: int | None = None
        self._tracker = EpisodeTracker(model, self.fs)
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
        """The next raw ECG samples (mV; NaN for gaps), before the beats found in them. Only
        the last HISTORY s are kept: a beat reported later than that is counted, not read."""
        x = np.asarray(chunk, dtype=np.float64).ravel()
        if x.size:
            self._append(x)
        events = self._drain()
        self._trim()
        # A beat may still be reported for the last HISTORY s: silence is judged before that.
        return events + self._silence(self.samples_seen - round(HISTORY * self.fs))

    def add_beat(self, sample: int, label: str | None = None) -> list[AfEvent]:
        """A detected R peak, with the beat classifier's AAMI label ("N", "S", "V", "F", "Q")
        or None when it gave none. Labels do not decide which beats enter the rhythm window
        (the QRS template does): they count towards the window's share of ectopic beats."""
        self._pending.append((int(sample), label))
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

    def _append(self, x: FloatArray) -> None:
        """Keep the new samples; gaps and absurd values are held at the last good value (so
        arithmetic stays finite) and marked, so that no beat is read across them."""
        valid = np.isfinite(x) & (np.abs(x) <= MAX_MV)
        index = np.where(valid, np.arange(x.size), -1)
        np.maximum.accumulate(index, out=index)
        held = np.where(index >= 0, x[np.maximum(index, 0)], self._last_value)
        self._last_value = float(held[-1])
        self._ecg = np.concatenate([self._ecg, held])
        self._valid = np.concatenate([self._valid, valid])

    def _drain(self, final: bool = False) -> list[AfEvent]:
        events: list[AfEvent] = []
        while self._pending:
            sample, label = self._pending[0]
            if sample + self._after > self.samples_seen and not final:
                break
            self._pending.popleft()
            events += self._analysed(sample, label, self._segment(sample))
        return events

    def _segment(self, sample: int) -> FloatArray | None:
        lo, hi = sample - self._before - self._base, sample + self._after - self._base
        if lo < 0 or hi > len(self._ecg):
            return None
        if not self._valid[lo:hi].all():
            return None
        segment = self._zero_phase(self._ecg[lo:hi])
        return segment if np.ptp(segment) >= MIN_MV else None

    def _zero_phase(self, x: FloatArray) -> FloatArray:
        """scipy's filtfilt (odd extension, steady-state start) on one beat's segment: the
        past is all there, so the P wave keeps its place relative to the QRS."""
        pad = self._pad
        ext = np.concatenate([2 * x[0] - x[pad:0:-1], x, 2 * x[-1] - x[-2 : -pad - 2 : -1]])
        y, _ = signal.lfilter(self._b, self._a, ext, zi=self._zi * ext[0])
        y, _ = signal.lfilter(self._b, self._a, y[::-1], zi=self._zi * y[-1])
        filtered: FloatArray = y[::-1][pad:-pad]
        return filtered

    def _analysed(self, sample: int, label: str | None, seg: FloatArray | None) -> list[AfEvent]:
        events = self._silence(sample)
        self._last_beat = sample
        self._detections.append((sample, label))
        if seg is None:
            return events
        if self._template is None:
            self._learning.append((sample, seg))
            if len(self._learning) < LEARN_BEATS:
                return events
            self._template = _medoid([self._qrs_at(s, 0) for _, s in self._learning])
            learnt, self._learning = self._learning, []
            for s, g in learnt:
                events += self._classify(s, g)
            return events
        return events + self._classify(sample, seg)

    def _classify(self, sample: int, seg: FloatArray) -> list[AfEvent]:
        template = self._template
        if template is None:
            return []
        shift, match = self._best_alignment(seg, template)
        qrs = self._qrs_at(seg, shift)
        amplitude = float(np.ptp(qrs))
        ratio = amplitude / max(float(np.ptp(template)), EPS)
        dominant = match >= MATCH and AMPLITUDE_RANGE[0] < ratio < AMPLITUDE_RANGE[1]
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
        """The shift (within +-ALIGN) at which the QRS correlates best with the template,
        and that correlation; the template has zero mean, so only the norms need centring."""
        width = 2 * self._qrs
        lo = self._before - self._align - self._qrs
        part = seg[lo : lo + width + 2 * self._align]
        dots = np.correlate(part, template, mode="valid")
        sums = np.convolve(part, np.ones(width), mode="valid")
        squares = np.convolve(part * part, np.ones(width), mode="valid")
        spread = np.sqrt(np.maximum(squares - sums * sums / width, 0.0))
        corr = dots / np.maximum(spread * max(float(np.linalg.norm(template)), EPS), EPS)
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
        labels = [label for s, label in self._detections if s >= beats[0].sample]
        features = window_features(
            samples / self.fs,
            np.array([b.p_wave for b in beats]),
            np.array([b.amplitude for b in beats]),
            len(labels),
        )
        if self._labelled:
            features = np.concatenate([features, ectopy_shares(labels)])
        self.probability = self.model.probability(features)
        anchor = beats[max(0, len(beats) - 1 - WINDOW_BEATS // 2)].sample
        return self.decide(Decision(beat.sample, features, self.probability, anchor))

    def _silence(self, now: int) -> list[AfEvent]:
        """End an open episode at the last beat once no beat has come for SILENCE_END."""
        last = self._last_beat
        if last is None or now - last <= SILENCE_END * self.fs:
            return []
        self._window.clear()
        return self._tracker.close(last, now)

    def _trim(self) -> None:
        """Keep the ECG that pending and late-reported beats still need; amortised."""
        first = self._pending[0][0] if self._pending else self.samples_seen
        keep_from = min(first - self._before, self.samples_seen - round(HISTORY * self.fs))
        excess = keep_from - self._base
        if excess > max(len(self._ecg) // 2, round(self.fs)):
            self._ecg = self._ecg[excess:]
            self._valid = self._valid[excess:]
            self._base += excess


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
    the streaming QRS detector's beats, labelled by the beat classifier as the inference
    worker labels them (``MODEL_WITHOUT_LABELS`` when the classifier cannot load), and the
    ECG fed to an ``AfMonitor`` second by second."""
    rate = _checked_rate(fs)
    x = np.asarray(ecg, dtype=np.float64).ravel()
    if x.size == 0:
        return []
    beats = detect_qrs(x, rate)
    try:
        labels: npt.NDArray[np.str_] | None = streamed_labels(
            default_model(), x, rate, beats, CONTEXT_S, af=LABEL_MULTIPLIERS
        )
        model = MODEL
    except ModelUnavailableError:
        labels, model = None, MODEL_WITHOUT_LABELS
    events = run_monitor(AfMonitor(rate, model), x, beats, labels)
    return episodes_from_events(events, x.size)


def beats_in_af(
    ecg: FloatArray, fs: float, peaks: npt.NDArray[np.int64], labels: npt.ArrayLike
) -> npt.NDArray[np.bool_]:
    """Which of ``peaks`` (ascending sample positions, each with the beat classifier's label)
    fall inside the AF episodes an ``AfMonitor`` finds when driven through ``ecg`` with them."""
    events = run_monitor(AfMonitor(fs, MODEL), ecg, peaks, labels)
    inside = np.zeros(peaks.size, dtype=np.bool_)
    for start, end in episodes_from_events(events, ecg.size):
        inside |= (peaks >= start) & (peaks < end)
    return inside


def run_monitor(
    monitor: AfMonitor,
    ecg: FloatArray,
    beats: npt.ArrayLike,
    labels: npt.ArrayLike | None = None,
) -> list[AfEvent]:
    """Drive ``monitor`` through a recording as the real-time engine would: one second of
    ECG, then the beats in it (with their classifier labels, if given), and so on; the
    stream's end closes an open episode."""
    peaks = np.asarray(beats, dtype=np.int64).ravel()
    order = np.argsort(peaks, kind="stable")
    peaks = peaks[order]
    named = None if labels is None else np.asarray(labels).ravel()[order].tolist()
    step = max(1, round(monitor.fs))
    events: list[AfEvent] = []
    next_beat = 0
    for start in range(0, ecg.size, step):
        stop = min(start + step, ecg.size)
        events += monitor.feed_ecg(ecg[start:stop])
        while next_beat < peaks.size and peaks[next_beat] < stop:
            label = None if named is None else str(named[next_beat])
            events += monitor.add_beat(int(peaks[next_beat]), label)
            next_beat += 1
    return events + monitor.flush()
