"""Streaming QRS detection: causal, chunk-invariant, for any rate from 100 to 2000 Hz.

The method follows Pan & Tompkins (1985) with changes for bounded latency:

1. a causal 5-18 Hz band-pass, its first difference squared, and a 120 ms moving
   integration (MWI) turn each QRS complex into one hump;
2. a sample is a candidate when its MWI is the largest of the previous 200 ms and of a
   look-ahead of up to ``DECISION_DELAY``, cut short so that no decision comes later than
   ``MAX_LATENCY`` (290 ms) after its R peak;
3. a candidate is a beat when it clears an adaptive threshold between the noise level and
   the signal level (medians of recent peak heights, so one artefact cannot blind the
   detector); the threshold halves when a beat is overdue (1.66 x the median RR), which
   replaces Pan-Tompkins' look-back search;
4. within 360 ms of a beat, a candidate whose steepest slope is under half of that beat's is
   a T wave.

Feeding a record in chunks of any size gives exactly the same beats as feeding it whole:
filters carry their state, and every decision reads only a bounded neighbourhood.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage, signal

from app.analysis.filters import CausalFilter

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.int64]

MIN_RATE, MAX_RATE = 100.0, 2000.0
BAND_HZ = (5.0, 18.0)
INTEGRATION = 0.10  # s, about a normal QRS
REFRACTORY = 0.2  # s, no two beats closer than this (300 bpm)
DECISION_DELAY = 0.18  # s of look-ahead after an MWI peak, when the latency budget allows
MIN_DECISION_DELAY = 0.08  # s of look-ahead every candidate gets
MAX_LATENCY = 0.29  # s from an R peak to its decision (the requirement is 0.3)
T_WAVE_WINDOW = 0.36  # s after a beat where a weak-sloped candidate is a T wave
LEARNING = 2.0  # s of signal used to set the first thresholds
HISTORY = 8  # beats and noise peaks the levels are taken over
THRESHOLD_FRACTION = 0.25  # of the way from the noise level to the signal level
NOISE_FLOOR_RATIO = 1.2
OVERDUE = 1.66  # x median RR before the threshold is lowered (Pan-Tompkins' search-back)
LOST = 3.0  # s without a beat after which the levels are learnt again
PEAKY = 3.0  # x median MWI the largest hump must reach to relearn (ECG 3-30, white noise < 2)
MAX_ABS = 1e6  # mV; clipping keeps the squared energy finite for any input
MIN_QRS_MV = 0.05  # a band-passed QRS smaller than this is noise, not a beat


@dataclass(frozen=True, slots=True)
class Beat:
    sample: int  # R peak, in samples since the start of the stream
    detected_at: int  # the sample count when the decision was made
    decidable_at: int  # the earliest sample count at which it could be (peak + look-ahead)
    height: float  # MWI peak height (signal energy)
    slope: float  # steepest band-passed slope in the QRS, mV per sample


class QrsDetector:
    """Feed ECG in mV chunk by chunk; each call returns the R peaks it has confirmed."""

    def __init__(self, fs: float) -> None:
        if not MIN_RATE <= fs <= MAX_RATE:
            raise ValueError(f"QRS detection needs {MIN_RATE:g}-{MAX_RATE:g} Hz, got {fs:g}")
        self.fs = fs
        self._sos = signal.butter(2, BAND_HZ, btype="bandpass", fs=fs, output="sos")
        self._band_pass = CausalFilter(self._sos)
        self._width = max(1, round(INTEGRATION * fs))
        self._mwi_taps = np.full(self._width, 1.0 / self._width)
        self._mwi_state = np.zeros(self._width - 1)
        self._back = round(REFRACTORY * fs)
        self._ahead = round(DECISION_DELAY * fs)
        self._min_ahead = max(1, round(MIN_DECISION_DELAY * fs))
        self._max_latency = round(MAX_LATENCY * fs)
        self._delay = _group_delay(self._sos, fs)
        self._keep = round(LEARNING * fs) + self._width + self._delay  # enough to relearn
        # History of the last samples: raw (gap-held), band-passed, integrated.
        self._raw = np.zeros(0)
        self._band = np.zeros(0)
        self._mwi = np.zeros(0)
        self._base = 0  # stream index of the first history sample
        self._last_value = 0.0
        self._last_band = 0.0
        self._scan_from = 0  # first stream index not yet examined as a candidate
        self._learning: list[FloatArray] = []
        self._learned = False
        self._learned_at = 0  # sample where learning ended: silence is counted from here
        self._relearned_at = 0
        self._signal_peaks: deque[float] = deque(maxlen=HISTORY)
        self._noise_peaks: deque[float] = deque(maxlen=HISTORY)
        self._rr: deque[int] = deque(maxlen=HISTORY)
        self._last_beat: Beat | None = None
        self.beats: deque[Beat] = deque(maxlen=64)  # the most recent, for morphology

    @property
    def samples_seen(self) -> int:
        return self._base + len(self._raw)

    @property
    def decided_until(self) -> int:
        """Every R peak before this sample has been decided: reported or rejected."""
        return max(0, self._scan_from - self._width - 2 * self._delay)

    def feed(self, chunk: npt.ArrayLike) -> IndexArray:
        x = self._clean(np.asarray(chunk, dtype=np.float64).ravel())
        if x.size == 0:
            return np.zeros(0, np.int64)
        band = self._band_pass.run(x)
        slope = np.diff(band, prepend=self._last_band)
        self._last_band = float(band[-1])
        energy, self._mwi_state = signal.lfilter(
            self._mwi_taps, 1.0, slope * slope, zi=self._mwi_state
        )
        mwi = np.sqrt(np.maximum(energy, 0.0))
        self._raw = np.concatenate([self._raw, x])
        self._band = np.concatenate([self._band, band])
        self._mwi = np.concatenate([self._mwi, mwi])
        found = self._scan()
        self._trim()
        return found

    def flush(self) -> IndexArray:
        """Decide the candidates still waiting for look-ahead: the stream has ended."""
        return self._scan(final=True)

    # -- internals -------------------------------------------------------------------------

    def _clean(self, x: FloatArray) -> FloatArray:
        """Hold the last finite value through gaps (NaN) and clip absurd amplitudes."""
        finite = np.isfinite(x)
        if not finite.all():
            x = x.copy()
            index = np.where(finite, np.arange(x.size), -1)
            np.maximum.accumulate(index, out=index)
            held = np.where(index >= 0, x[np.maximum(index, 0)], self._last_value)
            x = np.where(finite, x, held)
        if x.size:
            x = np.clip(x, -MAX_ABS, MAX_ABS)
            self._last_value = float(x[-1])
        return x

    def _scan(self, final: bool = False) -> IndexArray:
        """Decide every candidate whose look-ahead is complete (all of them at the end)."""
        seen = self.samples_seen
        stop = seen if final else seen - self._min_ahead
        if not self._learned and not self._learn(stop, final):
            return np.zeros(0, np.int64)
        start = max(self._scan_from, self._base)
        if stop <= start:
            return np.zeros(0, np.int64)
        found: list[int] = []
        for candidate in self._candidates(start, stop):
            local = candidate - self._base
            r_peak, slope, amplitude = self._locate(local)
            # Look ahead as far as the latency budget allows: up to DECISION_DELAY, but
            # never so far that the R peak waits more than MAX_LATENCY.
            budget = r_peak + self._max_latency - candidate - 1
            ahead = min(self._ahead, max(self._min_ahead, budget))
            if not final and candidate + ahead >= seen:
                self._scan_from = candidate  # come back when its look-ahead is complete
                return np.asarray(found, np.int64)
            following = self._mwi[local + 1 : local + ahead + 1]
            if following.size and self._mwi[local] < following.max():
                continue  # a larger hump follows within the look-ahead: this is not the peak
            beat = self._decide(candidate, r_peak, slope, amplitude, ahead)
            if beat is not None:
                found.append(beat.sample)
        self._scan_from = stop
        return np.asarray(found, np.int64)

    def _learn(self, stop: int, final: bool) -> bool:
        """Set the first signal and noise levels from the first LEARNING seconds (or from
        all of a shorter record once it has ended)."""
        need = round(LEARNING * self.fs)
        if stop < need and not final:
            return False
        window = self._mwi[:need]
        if window.size == 0:
            return False
        self._signal_peaks.append(0.5 * float(window.max()))
        self._noise_peaks.append(float(np.median(window)))
        self._learned = True
        self._learned_at = min(stop, need)
        return True

    def _candidates(self, start: int, stop: int) -> list[int]:
        """Stream indices in [start, stop) whose MWI tops the 200 ms before and the
        look-ahead after (ties go to the earliest sample)."""
        first = max(0, start - self._base - self._back)
        last = min(len(self._mwi), stop - self._base + self._min_ahead + 1)
        seg = self._mwi[first:last]
        idx = np.arange(start - self._base - first, stop - self._base - first)
        behind = _window_max(seg, idx - self._back, self._back)
        ahead = _window_max(seg, idx + 1, self._min_ahead)
        ahead[idx + 1 >= len(seg)] = -1.0
        behind[idx == 0] = -1.0
        peak = (seg[idx] > behind) & (seg[idx] >= ahead) & (seg[idx] > 0)
        return [int(i) + first + self._base for i in idx[peak]]

    def _decide(
        self, candidate: int, r_peak: int, slope: float, amplitude: float, ahead: int
    ) -> Beat | None:
        height = float(self._mwi[candidate - self._base])
        since = None if self._last_beat is None else r_peak - self._last_beat.sample
        if since is not None and since < self._back:
            return None
        silent = r_peak - (self._learned_at if self._last_beat is None else self._last_beat.sample)
        threshold = self._threshold(silent)
        if height < threshold or amplitude < MIN_QRS_MV:
            self._noise_peaks.append(min(height, self._signal_level()))
            if silent > LOST * self.fs:
                self._relearn(candidate)
            return None
        if self._is_t_wave(since, slope):
            self._noise_peaks.append(min(height, self._signal_level()))
            return None
        beat = Beat(r_peak, self.samples_seen, candidate + ahead + 1, height, slope)
        self._accept(beat, since)
        return beat

    def _locate(self, local: int) -> tuple[int, float, float]:
        """The R peak behind an MWI peak: the largest band-passed deflection in the
        integration window, shifted back by the band-pass delay, then refined on the raw
        signal. Also the QRS's steepest slope and band-passed amplitude."""
        lo = max(0, local - self._width - self._delay // 2)
        band = self._band[lo : local + 1]
        slope = float(np.abs(np.diff(band)).max()) if band.size > 1 else 0.0
        amplitude = float(np.abs(band).max()) if band.size else 0.0
        centre = lo + int(np.argmax(np.abs(band))) - self._delay
        reach = max(1, round(0.05 * self.fs))
        r_lo, r_hi = max(0, centre - reach), max(1, min(local + 1, centre + reach + 1))
        if r_lo >= r_hi:
            return self._base + max(0, centre), slope, amplitude
        raw = self._raw[r_lo:r_hi]
        r_local = r_lo + int(np.argmax(np.abs(raw - np.median(raw))))
        return self._base + r_local, slope, amplitude

    def _signal_level(self) -> float:
        return _median(self._signal_peaks)

    def _noise_level(self) -> float:
        return _median(self._noise_peaks) if self._noise_peaks else 0.0

    def _threshold(self, silent: int) -> float:
        """``silent``: samples since the last beat (or since learning, before the first)."""
        signal_level = self._signal_level()
        noise_level = self._noise_level()
        threshold = noise_level + THRESHOLD_FRACTION * (signal_level - noise_level)
        rr = _median(self._rr) if self._rr else self.fs
        if silent > OVERDUE * rr:
            threshold *= 0.5
        return max(threshold, NOISE_FLOOR_RATIO * noise_level)

    def _relearn(self, candidate: int) -> None:
        """No beat for LOST seconds: the levels may be an artefact's (one in the learning
        period would blind the detector for good). Learn them again from the last
        LEARNING seconds, but only if those hold humps that stand well clear of the rest:
        a noisy flat line must stay beat-free, or asystole would be hidden."""
        if candidate - self._relearned_at < LOST * self.fs:
            return
        self._relearned_at = candidate
        local = candidate - self._base
        window = self._mwi[max(0, local - round(LEARNING * self.fs)) : local + 1]
        peak, typical = float(window.max()), float(np.median(window))
        if peak < PEAKY * typical:
            return
        self._signal_peaks.clear()
        self._noise_peaks.clear()
        self._signal_peaks.append(0.5 * peak)
        self._noise_peaks.append(typical)

    def _is_t_wave(self, since: int | None, slope: float) -> bool:
        if since is None or self._last_beat is None:
            return False
        return since < T_WAVE_WINDOW * self.fs and slope < 0.5 * self._last_beat.slope

    def _accept(self, beat: Beat, since: int | None) -> None:
        self._signal_peaks.append(min(beat.height, 3.0 * self._signal_level()))
        if since is not None:
            self._rr.append(since)
        self._last_beat = beat
        self.beats.append(beat)

    def _trim(self) -> None:
        excess = len(self._raw) - (self.samples_seen - self._scan_from) - self._keep
        if excess > 0 and self._learned:
            self._raw = self._raw[excess:]
            self._band = self._band[excess:]
            self._mwi = self._mwi[excess:]
            self._base += excess


def _median(values: deque[float] | deque[int]) -> float:
    """Median of a short history; sorting eight numbers beats numpy's call overhead."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    return float(ordered[mid]) if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


def _window_max(values: FloatArray, starts: IndexArray, length: int) -> FloatArray:
    """max(values[s : s + length]) for each start s, over the part inside the array."""
    centred: FloatArray = ndimage.maximum_filter1d(values, max(1, length), mode="nearest")
    return centred[np.clip(starts + length // 2, 0, len(values) - 1)].copy()


def _group_delay(sos: FloatArray, fs: float) -> int:
    """Samples by which the band-pass delays the QRS's dominant frequencies (~10 Hz)."""
    b, a = signal.sos2tf(sos)
    _, delay = signal.group_delay((b, a), w=[10.0], fs=fs)
    return max(0, round(float(delay[0])))


def detect_qrs(ecg: npt.ArrayLike, fs: float) -> IndexArray:
    """R-peak sample indices of a whole record, by the same streaming detector."""
    detector = QrsDetector(fs)
    found = detector.feed(ecg)
    rest = detector.flush()
    return np.concatenate([found, rest]).astype(np.int64)
