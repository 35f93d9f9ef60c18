"""Everything Vigil computes from one ECG channel, fed chunk by chunk as samples arrive.

QRS detection -> beat morphology -> heart rate, HRV, rhythm and ectopy; VF and signal
quality from the recent wave. The result is a frozen snapshot the station reads from any
thread, plus the rhythm events for the alarm engine and the event log.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import signal

from app.analysis.atrial_fibrillation import MODEL, MODEL_WITHOUT_LABELS, AfMonitor
from app.analysis.fibrillation import WINDOW as VF_WINDOW
from app.analysis.fibrillation import looks_like_vf
from app.analysis.filters import CausalFilter
from app.analysis.heart_rate import HeartRateMeter, Hrv, HrvMeter
from app.analysis.morphology import PREMATURE, BeatClass, MorphologyClassifier
from app.analysis.qrs import QrsDetector
from app.analysis.quality import Quality, QualityAnalyser, Verdict, with_lead_off
from app.analysis.rhythm import Observation, RhythmConfig, RhythmEngine, RhythmEvent, RhythmLabel

FloatArray = npt.NDArray[np.float64]

KEEP_S = 6.0  # s of filtered ECG kept for morphology and VF
BEATS_KEPT = 400  # recent beats kept for the detail view's overlay
VF_CONFIRM_S = 0.5  # s the wave must keep looking like VF: the tail of a VT run is not VF
VF_RELEASE_S = 3.0
VF_EVERY_S = 0.25  # s between VF-filter checks: often enough, and the filter is not free
ORGANISED_BEATS = 6  # in the VF window, at a steady rate, make a rhythm organised
ORGANISED_JUMP = 0.08  # median beat-to-beat RR change / mean RR below which beats are regular
FLUTTER_RR_S = 0.24  # above 250/min a regular ventricular wave is flutter, treated as VF
SETTLE_S = 3.0  # s of signal before the first verdict: the quality window must fill
LABEL_WAIT_S = 3.0  # s a beat waits for the classifier's label before the shape rule decides
# The classifier judges a beat against the dominant beat of the last seconds; once a
# ventricular rhythm is that dominant beat (sustained VT, bigeminy) it would call the
# ectopic beats normal. So it confirms ventricular beats at a run's onset, and while this
# share of the last SUSTAIN_BEATS beats is ventricular, the shape rule's V stands.
SUSTAIN_BEATS = 10
SUSTAIN_SHARE = 0.3
# The beat classifier's AAMI labels; Q (cannot judge) leaves the beat to the shape rule.
AI_CLASSES = {
    "N": BeatClass.NORMAL,
    "S": BeatClass.SUPRAVENTRICULAR,
    "V": BeatClass.VENTRICULAR,
    "F": BeatClass.FUSION,
}
NO_SIGNAL = frozenset({Verdict.NO_SIGNAL, Verdict.LEAD_OFF})


@dataclass(frozen=True, slots=True)
class DetectedBeat:
    sample: int
    beat_class: BeatClass


@dataclass(frozen=True, slots=True)
class EcgAnalysis:
    sample_index: int  # samples analysed so far
    heart_rate: float | None  # bpm, averaged as disclosed in app.analysis.heart_rate
    rhythm: RhythmLabel
    pvc_per_minute: float
    hrv: Hrv | None
    quality: Quality
    last_beat: int | None  # sample of the last R peak


class EcgAnalyzer:
    def __init__(
        self, fs: float, config: RhythmConfig | None = None, *, deferred: bool = False
    ) -> None:
        """``deferred``: beats wait for labels from the beat classifier (``resolve``), or
        ``LABEL_WAIT_S`` of signal, before their class counts; timers never wait."""
        self.fs = fs
        self.deferred = deferred
        self._wait = round(LABEL_WAIT_S * fs)
        self._unresolved: deque[DetectedBeat] = deque()
        self._labels: dict[int, tuple[str, str]] = {}  # sample: (beat label, AF label)
        self._last_classified: DetectedBeat | None = None
        self.fallbacks = 0  # deferred beats the shape rule decided (no label in time)
        self.resolved: deque[DetectedBeat] = deque(maxlen=BEATS_KEPT)  # final classes
        self._minute: int | None = None  # minute of signal being counted, by class
        self._counts: dict[BeatClass, int] = dict.fromkeys(BeatClass, 0)
        self._qrs = QrsDetector(fs)
        self._band = CausalFilter(signal.butter(2, (0.5, 40.0), "bandpass", fs=fs, output="sos"))
        self._morphology = MorphologyClassifier(fs)
        self._rate = HeartRateMeter()
        self._hrv = HrvMeter()
        self._rhythm = RhythmEngine(config)
        # With the classifier's labels the AF model weighs the share of ectopic beats.
        self._af = AfMonitor(fs, MODEL if deferred else MODEL_WITHOUT_LABELS)
        self._quality = QualityAnalyser(fs, "ecg")
        self._lead_off = False
        self._keep = round(KEEP_S * fs)
        self._filtered = np.zeros(0)
        self._base = 0  # stream index of _filtered[0]
        self._last_value = 0.0
        self._rr: deque[int] = deque(maxlen=8)
        self._last_beat: DetectedBeat | None = None
        self._vf_since: int | None = None  # sample since which the wave has looked like VF
        self._vf_last = 0  # the last sample at which it did
        self._vf = False
        self._vf_checked = 0  # sample of the last VF-filter check
        self._fibrillating = False
        self._hrv_at = 0
        self._hrv_cached: Hrv | None = None
        self.beats: deque[DetectedBeat] = deque(maxlen=BEATS_KEPT)
        self._snapshot = EcgAnalysis(
            0, None, RhythmLabel.LEARNING, 0.0, None, self._quality_now(), None
        )

    @property
    def snapshot(self) -> EcgAnalysis:
        return self._snapshot

    def set_lead_off(self, lead_off: bool) -> None:
        """The device's own lead-off condition, which no waveform measure can see."""
        self._lead_off = lead_off

    def feed(self, chunk: npt.ArrayLike) -> list[RhythmEvent]:
        x = np.asarray(chunk, dtype=np.float64).ravel()
        if x.size == 0:
            return []
        self._quality.feed(x)
        self._store(x)
        self._af.feed_ecg(x)  # the AF monitor reads P waves around the beats that follow
        events: list[RhythmEvent] = []
        for sample in self._qrs.feed(x):
            events += self._beat(int(sample))
        if self.deferred:
            events += self._release()  # beats whose wait for a label is over
        if not np.isfinite(x).all():  # a gap: time without beats is not asystole
            self._rhythm.signal_lost(self._qrs.decided_until / self.fs)
        events += self._tick()
        return events

    # -- internals -------------------------------------------------------------------------

    def _store(self, x: FloatArray) -> None:
        held = np.where(np.isfinite(x), x, np.nan)
        clean = np.nan_to_num(held, nan=self._last_value, posinf=0.0, neginf=0.0)
        self._last_value = float(clean[-1])
        y = self._band.run(clean)
        y[~np.isfinite(x)] = np.nan  # morphology must see the gap, not the held value
        self._filtered = np.concatenate([self._filtered, y])
        excess = len(self._filtered) - self._keep
        if excess > 0:
            self._filtered = self._filtered[excess:]
            self._base += excess

    def _window(self, start: int, stop: int) -> FloatArray:
        lo, hi = start - self._base, stop - self._base
        if lo < 0 or hi > len(self._filtered):
            return np.zeros(0)
        return self._filtered[lo:hi]

    def _beat(self, sample: int) -> list[RhythmEvent]:
        previous = self._last_beat
        premature = False
        if previous is not None:
            interval = sample - previous.sample
            premature = bool(self._rr) and interval < PREMATURE * float(np.median(self._rr))
            self._rr.append(interval)
        shape = self._morphology
        window = self._window(sample - shape.before, sample + shape.after + 1)
        beat_class, _ = shape.classify(window, premature)
        beat = DetectedBeat(sample, beat_class)
        if previous is not None:
            self._rate.add_interval((sample - previous.sample) / self.fs)
        self._last_beat = beat
        self.beats.append(beat)
        self._rhythm.beat_seen(sample / self.fs)
        if not self.deferred:
            return self._classify(beat, beat_class)
        self._unresolved.append(beat)
        return self._release()

    @property
    def awaiting_labels(self) -> list[int]:
        """Samples of the beats still waiting for the classifier, oldest first."""
        return [b.sample for b in self._unresolved]

    def resolve(
        self, samples: npt.ArrayLike, labels: npt.ArrayLike, af_labels: npt.ArrayLike | None = None
    ) -> list[RhythmEvent]:
        """The classifier's labels for some beats, and its labels at the AF monitor's
        multipliers (``Calls.af``; the same labels when not given); the classes that are now
        final count, in beat order."""
        beat_labels = np.asarray(labels).tolist()
        af = beat_labels if af_labels is None else np.asarray(af_labels).tolist()
        waiting = {b.sample for b in self._unresolved}
        for sample, label, af_label in zip(np.asarray(samples).tolist(), beat_labels, af,
                                           strict=True):  # fmt: skip
            if int(sample) in waiting:
                self._labels[int(sample)] = (str(label), str(af_label))
        return self._release()

    def _release(self) -> list[RhythmEvent]:
        events: list[RhythmEvent] = []
        now = self._qrs.samples_seen
        while self._unresolved:
            beat = self._unresolved[0]
            labelled = self._labels.pop(beat.sample, None)
            if labelled is None and now - beat.sample < self._wait:
                break
            if labelled is None:
                self.fallbacks += 1
            label, af_label = labelled if labelled is not None else (None, None)
            cls = AI_CLASSES.get(label or "", beat.beat_class)
            if cls is BeatClass.SUPRAVENTRICULAR and beat.beat_class is BeatClass.VENTRICULAR:
                # A wide beat unlike the dominant one is ventricular until shown otherwise:
                # the model calls the first beats of some VT runs S (aberrant SVT), which
                # would delay the VT alarm.
                cls = BeatClass.VENTRICULAR
            if cls is BeatClass.SUPRAVENTRICULAR and self._af.in_af:
                cls = BeatClass.NORMAL  # in AF every beat is early or late (normal_in_af)
            if beat.beat_class is BeatClass.VENTRICULAR and self._ventricular_rhythm():
                cls = BeatClass.VENTRICULAR
            self._unresolved.popleft()
            events += self._classify(beat, cls, af_label)
        return events

    def _ventricular_rhythm(self) -> bool:
        recent = list(self.resolved)[-SUSTAIN_BEATS:]
        ventricular = sum(b.beat_class is BeatClass.VENTRICULAR for b in recent)
        return len(recent) > 0 and ventricular >= SUSTAIN_SHARE * SUSTAIN_BEATS

    def _classify(
        self, beat: DetectedBeat, beat_class: BeatClass, af_label: str | None = None
    ) -> list[RhythmEvent]:
        """A beat's final class: HRV, the AF monitor (with ``af_label``, the classifier's
        label at its multipliers) and the rhythm take it from here."""
        time = beat.sample / self.fs
        previous = self._last_classified
        if previous is not None:
            normal = previous.beat_class is beat_class is BeatClass.NORMAL
            self._hrv.add(time, (beat.sample - previous.sample) / self.fs, normal)
        # The classifier's label; without one in time, the shape rule's class (N, V or Q), so
        # that a classifier that stops does not leave the AF model blind to ectopy.
        self._af.add_beat(beat.sample, af_label if af_label is not None else beat_class.value)
        final = DetectedBeat(beat.sample, beat_class)
        self._last_classified = final
        self.resolved.append(final)
        stamp = self._qrs.samples_seen / self.fs
        return self._count(time, beat_class, stamp) + self._rhythm.classified(
            time, beat_class, stamp
        )

    def _count(self, time: float, beat_class: BeatClass, stamp: float) -> list[RhythmEvent]:
        """Beats per class in each minute of signal, reported when the next one begins."""
        minute = int(time // 60)
        events = []
        if self._minute is not None and minute != self._minute:
            text = " ".join(f"{c.value}={n}" for c, n in self._counts.items())
            events.append(RhythmEvent(stamp, "beats", text))
            self._counts = dict.fromkeys(BeatClass, 0)
        self._minute = minute
        self._counts[beat_class] += 1
        return events

    def _tick(self) -> list[RhythmEvent]:
        seen = self._qrs.samples_seen
        if seen < SETTLE_S * self.fs:
            return []
        now = self._qrs.decided_until / self.fs
        quality = self._quality_now()
        signal_ok = quality.verdict not in NO_SIGNAL
        if not signal_ok:
            self._rhythm.signal_lost(now)
            self._rate.reset()
        since = None if self._last_beat is None else now - self._last_beat.sample / self.fs
        rate = self._rate.bpm(since if since is not None else 0.0) if signal_ok else None
        if seen - self._vf_checked >= VF_EVERY_S * self.fs or not signal_ok:
            self._vf_checked = seen
            vf_window = self._window(seen - round(VF_WINDOW * self.fs), seen)
            self._fibrillating = signal_ok and looks_like_vf(vf_window, self.fs)
        vf = self._vf_state(seen, self._fibrillating)
        events = self._rhythm.update(
            Observation(now, seen / self.fs, rate, vf, self._af.in_af, signal_ok)
        )
        if self._rhythm.label is RhythmLabel.ASYSTOLE:
            rate = 0.0
        self._snapshot = EcgAnalysis(
            sample_index=seen,
            heart_rate=rate,
            rhythm=self._rhythm.label,
            pvc_per_minute=self._rhythm.pvc_per_minute,
            hrv=self._hrv_now(seen),
            quality=quality,
            last_beat=None if self._last_beat is None else self._last_beat.sample,
        )
        return events

    def _vf_state(self, seen: int, fibrillating: bool) -> bool:
        """VF once the wave has looked fibrillatory (and unorganised) without a break for
        VF_CONFIRM_S; it ends only after VF_RELEASE_S without, so one organised-looking
        stretch inside VF is not a recovery."""
        if fibrillating and not self._organised(seen):
            self._vf_last = seen
            if self._vf_since is None:
                self._vf_since = seen
            if seen - self._vf_since >= VF_CONFIRM_S * self.fs:
                self._vf = True
        elif not self._vf:
            self._vf_since = None  # confirmation needs an unbroken run
        elif seen - self._vf_last > VF_RELEASE_S * self.fs:
            self._vf, self._vf_since = False, None
        return self._vf

    def _organised(self, seen: int) -> bool:
        """Regular beats in the VF window: a fast monomorphic VT also leaks little through
        the VF filter, but its QRS complexes come like clockwork."""
        start = seen - VF_WINDOW * self.fs
        recent = [b.sample for b in self.beats if b.sample >= start][-ORGANISED_BEATS:]
        if len(recent) < ORGANISED_BEATS:
            return False
        rr = np.diff(recent)
        mean = float(rr.mean())
        # Successive differences, not spread: a change of rate (VT ending) is one step,
        # fibrillation is a jump at every beat.
        jumps = float(np.median(np.abs(np.diff(rr)))) / mean
        return mean >= FLUTTER_RR_S * self.fs and jumps < ORGANISED_JUMP

    def _hrv_now(self, seen: int) -> Hrv | None:
        """HRV over five minutes changes slowly: recomputed once a second of signal."""
        if seen - self._hrv_at >= self.fs:
            self._hrv_at, self._hrv_cached = seen, self._hrv.value()
        return self._hrv_cached

    def _quality_now(self) -> Quality:
        return with_lead_off(self._quality.quality(), self._lead_off)
