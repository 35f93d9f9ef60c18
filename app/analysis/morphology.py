"""Beat morphology: QRS width and correlation with the patient's own dominant beat.

A ventricular beat is wide and unlike the dominant (normally conducted) beat. The template
is learnt from the first beats (the one most like the others, averaged with its look-alikes)
and follows slow change by averaging in beats that match it well; beats that do not match
never enter it, so a run of VT cannot teach the template that VT is normal.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

BEFORE, AFTER = 0.10, 0.14  # s of ECG kept around each R peak
ALIGN = 0.02  # s searched either side of the R peak to line a beat up with the template
LEARN_BEATS = 12
MIN_GROUP = 3  # beats that must look alike before their shape becomes the template
TEMPLATE_RATE = 1.0 / 16.0  # weight of each matching beat in the running template
MATCHES = 0.9  # correlation above which a beat is the dominant morphology
UNLIKE = 0.75  # correlation below which a beat is a different morphology
WIDE_S = 0.12  # s; a QRS this wide is not normally conducted (unless the template is too)
WIDER = 1.3  # x template width that counts as widened
MUCH_WIDER = 1.6  # x template width that is ventricular whatever the shape
PREMATURE = 0.85  # x recent RR below which a beat is premature


class BeatClass(enum.Enum):
    """AAMI beat classes. The shape rule gives N, V or Q; the beat classifier all five."""

    NORMAL = "N"
    SUPRAVENTRICULAR = "S"
    VENTRICULAR = "V"
    FUSION = "F"
    UNKNOWN = "Q"  # learning, or too near a gap to see


@dataclass(frozen=True, slots=True)
class BeatShape:
    width: float  # s
    correlation: float  # with the template; 1.0 while learning
    amplitude: float  # mV, peak-to-peak in the window


class MorphologyClassifier:
    """Classifies beats from windows of baseline-free ECG centred on their R peaks."""

    def __init__(self, fs: float) -> None:
        self.fs = fs
        self.before = round(BEFORE * fs)
        self.after = round(AFTER * fs)
        self._align = max(1, round(ALIGN * fs))
        self._learning: list[FloatArray] = []
        self._template: FloatArray | None = None
        self._template_width = 0.0

    @property
    def window_length(self) -> int:
        return self.before + self.after + 1

    @property
    def learnt(self) -> bool:
        return self._template is not None

    def classify(self, window: FloatArray, premature: bool) -> tuple[BeatClass, BeatShape]:
        """``window`` spans R - before .. R + after; NaN anywhere makes the beat UNKNOWN."""
        if window.shape != (self.window_length,) or not np.isfinite(window).all():
            return BeatClass.UNKNOWN, BeatShape(0.0, 0.0, 0.0)
        beat = window - np.median(window)
        width = qrs_width(beat, self.fs, self.before)
        amplitude = float(beat.max() - beat.min())
        if self._template is None:
            self._learn(beat)
            return BeatClass.UNKNOWN, BeatShape(width, 1.0, amplitude)
        correlation = self._correlation(beat)
        shape = BeatShape(width, correlation, amplitude)
        widened = width >= max(WIDE_S, WIDER * self._template_width)
        if correlation < UNLIKE and (widened or premature):
            return BeatClass.VENTRICULAR, shape
        if correlation < MATCHES and width >= max(MUCH_WIDER * self._template_width, 0.1):
            return BeatClass.VENTRICULAR, shape
        if correlation >= MATCHES:
            self._template += TEMPLATE_RATE * (self._aligned(beat) - self._template)
            self._template_width += TEMPLATE_RATE * (width - self._template_width)
        return BeatClass.NORMAL, shape

    def _learn(self, beat: FloatArray) -> None:
        """Pick the dominant shape among the first beats: of the groups of look-alikes
        (three or more), the narrowest, since conducted beats are narrower than ventricular
        ones even when a patient has more PVCs than normal beats."""
        self._learning.append(beat)
        if len(self._learning) < LEARN_BEATS:
            return
        beats = np.array(self._learning)
        similarity = np.nan_to_num(_correlations(beats), nan=0.0)
        widths = np.array([qrs_width(b, self.fs, self.before) for b in beats])
        best: tuple[float, int] | None = None
        for index in range(len(beats)):
            members = similarity[index] >= MATCHES
            if members.sum() >= MIN_GROUP:
                key = (float(np.median(widths[members])), -int(members.sum()))
                if best is None or key < (best[0], -best[1]):
                    best = (key[0], int(members.sum()))
                    chosen = members
        if best is None:  # no dominant shape yet: slide the learning window on
            self._learning = self._learning[1:]
            return
        self._template = beats[chosen].mean(axis=0)
        self._template_width = qrs_width(self._template, self.fs, self.before)
        self._learning = []

    def _shifts(self, beat: FloatArray) -> FloatArray:
        """Correlation with the template at each lag in -align..+align, in one pass."""
        template = self._template if self._template is not None else beat
        reference = template[self._align : len(beat) - self._align]
        width = len(reference)
        windows = np.lib.stride_tricks.sliding_window_view(beat, width)  # one row per lag
        centred = windows - windows.mean(axis=1, keepdims=True)
        ref = reference - reference.mean()
        norms = np.sqrt((centred * centred).sum(axis=1) * float(ref @ ref))
        norms[norms == 0] = np.inf
        scores: FloatArray = (centred @ ref) / norms
        return scores

    def _correlation(self, beat: FloatArray) -> float:
        return float(self._shifts(beat).max())

    def _aligned(self, beat: FloatArray) -> FloatArray:
        lag = int(np.argmax(self._shifts(beat))) - self._align
        return np.roll(beat, -lag)


def qrs_width(beat: FloatArray, fs: float, r_index: int) -> float:
    """Seconds between the first and last samples, around the R peak, where the slope is
    above a quarter of its steepest: the steep part of the complex, not the P or T wave."""
    slope = np.abs(np.diff(beat))
    if slope.size == 0 or not np.isfinite(slope).all():
        return 0.0
    smooth = max(1, round(0.01 * fs))
    slope = np.convolve(slope, np.full(smooth, 1.0 / smooth), mode="same")
    reach = round(0.09 * fs)  # the QRS lies within ~90 ms of its R peak
    lo, hi = max(0, r_index - reach), min(len(slope), r_index + reach)
    core = slope[lo:hi]
    if core.size == 0 or core.max() <= 0:
        return 0.0
    steep = np.flatnonzero(core >= 0.25 * core.max())
    return float(steep[-1] - steep[0] + 1) / fs


def _correlations(beats: FloatArray) -> FloatArray:
    """Pearson correlation of every pair of rows; flat rows correlate 0 with everything."""
    centred = beats - beats.mean(axis=1, keepdims=True)
    norms = np.sqrt((centred * centred).sum(axis=1))
    norms[norms == 0] = np.inf
    unit = centred / norms[:, None]
    result: FloatArray = unit @ unit.T
    return result


def _pearson(a: FloatArray, b: FloatArray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    denominator = float(np.sqrt(np.dot(a, a) * np.dot(b, b)))
    return float(np.dot(a, b)) / denominator if denominator > 0 else 0.0
