"""Per-channel signal-quality index (SQI): is the recent waveform usable, and if not, why.

The analyser keeps the last few seconds of one channel and, every ``HOP`` seconds of input,
judges that window in this order (the first failing check gives the verdict):

1. NO_SIGNAL: too much of the window is missing (NaN means the device had no valid sample),
   the newest samples are missing, or no stretch of at least 1 s is left to judge;
2. SATURATED: clipping: a run of samples stuck at the window's extreme, or 1 % of the window
   at the front end's rail or beyond any plausible value (±inf included);
3. FLAT: the peak-to-peak amplitude over the whole window is below a floor;
4. ARTEFACT: the peak-to-peak amplitude is far beyond anything physiological (motion,
   electrode pops, large baseline wander);
5. NOISY: broadband noise carries too much of the power in the physiological band. The
   noise density is measured above the band, where the physiological signal has no power,
   and assumed flat (white) down into the band.

Each check also gives a component score in [0, 1] that is 0.5 exactly at its threshold; the
score is the lowest of them, so it is above 0.5 if and only if the verdict is GOOD.
Feeding the same samples in any chunking gives the same results: the window is judged only
at fixed sample indices.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.analysis.hops import HopBuffer

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

HOP = 1.0  # s between judgements (and rate estimates): often enough for alarms, and cheap
OUT_OF_RANGE = 1e9  # no front end reports this much in any unit: treated like ±inf
MIN_JUDGED = 1.0  # s: the shortest unbroken stretch whose spectrum and runs mean something
LOST_AFTER = 0.5  # s: newest samples all missing means the signal is gone now
# Share of a window at the rail (or beyond range) that means the amplitude no longer fits
# the front end, e.g. the top of every R wave cut off, even if no single run is long.
RAIL_SHARE = 0.01


class Verdict(enum.Enum):
    GOOD = "good"
    NOISY = "noisy"
    ARTEFACT = "artefact"
    FLAT = "flat"
    SATURATED = "saturated"
    NO_SIGNAL = "no signal"
    LEAD_OFF = "lead off"


class RateStatus(enum.Enum):
    """How far to trust a rate derived from a waveform (pulse rate, respiration rate)."""

    VALID = "valid"
    LOW_QUALITY = "low quality"  # the waveform is noisy or has artefact: no rate
    ACQUIRING = "acquiring"  # too few beats or breaths since the start or since a gap
    NO_SIGNAL = "no signal"  # the waveform is missing or saturated (a pleth also when flat)
    NOT_DETECTED = "not detected"  # signal there (or a flat impedance), no beat or breath
    IRREGULAR = "irregular"  # intervals too scattered to be one rhythm
    OUT_OF_RANGE = "out of range"


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    """What normal looks like for one kind of channel, in its own unit."""

    label: str  # shown in reasons: "ECG noisy"
    unit: str
    window_s: float  # judged window; longer than the slowest normal cycle's quiet part
    flat_pp: float  # peak-to-peak below this over the window is a flat line
    artefact_pp: float  # peak-to-peak above this is not physiology
    rail: float | None  # |x| at or beyond this is clipped by the front end
    stuck_s: float  # a run this long at the window's extreme is clipping
    band_low_hz: float  # the physiological band starts here (excludes drift from the SNR)
    noise_above_hz: float  # and ends here: power above it is noise
    noise_floor_rms: float  # in-band noise below this cannot hide the smallest real event
    noise_share_limit: float = 0.25  # noise over a quarter of in-band power (SNR < ~5 dB)
    max_gap_fraction: float = 0.5  # more than half the window missing: nothing to judge


CHANNEL_CONFIGS: dict[str, ChannelConfig] = {
    # ECG in mV. A QRS must be at least 0.15 mV to be counted (IEC 60601-2-27 rejects smaller
    # ones), so 0.05 mV over 3 s (longer than the 2.4-s beat interval at 25 bpm) is a flat
    # line. The tallest QRS complexes stay below ~5 mV, so 8 mV peak-to-peak is artefact or
    # wander. The front end clips at ±5 mV. An R peak or T wave never holds one value for
    # 100 ms. ECG content ends near 40 Hz; EMG and mains hum lie above it. Noise under
    # 0.025 mV rms (~0.15 mV peak-to-peak) cannot hide a countable QRS.
    "ecg": ChannelConfig(
        label="ECG",
        unit="mV",
        window_s=3.0,
        flat_pp=0.05,
        artefact_pp=8.0,
        rail=5.0,
        stuck_s=0.1,
        band_low_hz=0.5,
        noise_above_hz=40.0,
        noise_floor_rms=0.025,
    ),
    # Pleth in normalised units, a typical pulse being about 1. Perfused pulses are far above
    # 1 % of that; three times the largest normal pulse is motion. The systolic peak is
    # rounded but never holds one value for 150 ms. Pulse harmonics end well below 15 Hz
    # even at 300 bpm (5 Hz fundamental). Noise under 0.005 rms (~3 % of a typical pulse,
    # peak-to-peak) cannot hide a perfused pulse.
    "pleth": ChannelConfig(
        label="Pleth",
        unit="a.u.",
        window_s=4.0,
        flat_pp=0.01,
        artefact_pp=5.0,
        rail=None,
        stuck_s=0.15,
        band_low_hz=0.5,
        noise_above_hz=15.0,
        noise_floor_rms=0.005,
    ),
    # Respiration impedance in ohms (AC part). Breaths are 0.1-3 ohm and the cardiogenic
    # oscillation ~0.02-0.1 ohm, so under 0.02 ohm in 4 s nothing is moving; over 10 ohm is
    # body motion. The top of a slow breath is flat-ish, so clipping must last 0.5 s. Breaths
    # and the cardiogenic wave have no power above 10 Hz; drift below 0.05 Hz is ignored.
    # Noise under 0.015 ohm rms (~0.1 ohm peak-to-peak) cannot hide a breath.
    "resp": ChannelConfig(
        label="Resp",
        unit="ohm",
        window_s=4.0,
        flat_pp=0.02,
        artefact_pp=10.0,
        rail=None,
        stuck_s=0.5,
        band_low_hz=0.05,
        noise_above_hz=10.0,
        noise_floor_rms=0.015,
    ),
}


@dataclass(frozen=True, slots=True)
class Quality:
    """The judgement on one channel's recent window."""

    verdict: Verdict
    score: float  # 0..1, above 0.5 only when GOOD
    reason: str  # short and human: "ECG noisy (noise 40 % of in-band power)"
    channel: str  # the config's label
    sample_index: int  # samples [0, sample_index) have been judged; the window ends here
    peak_to_peak: float | None  # over the window's valid samples, None when there are none
    noise_share: float | None  # 0..1, None when not measured
    gap_fraction: float  # share of the window that is missing


def config_for(kind: str) -> ChannelConfig:
    try:
        return CHANNEL_CONFIGS[kind]
    except KeyError:
        raise ValueError(
            f"unknown channel kind {kind!r}; one of {sorted(CHANNEL_CONFIGS)}"
        ) from None


def with_lead_off(quality: Quality, lead_off: bool) -> Quality:
    """Combine the signal's verdict with the device's lead-off (or probe-off) flag."""
    if not lead_off:
        return quality
    reason = f"{quality.channel} lead off"
    return dataclasses.replace(quality, verdict=Verdict.LEAD_OFF, score=0.0, reason=reason)


def hop_samples(fs: float) -> int:
    """Samples between two judgements (or two rate estimates) at sample rate ``fs``."""
    return max(1, round(HOP * fs))


class QualityAnalyser:
    """Streaming SQI of one channel; see the module docstring for the checks."""

    def __init__(self, fs: float, config: ChannelConfig | str) -> None:
        if not 1.0 <= fs <= 100_000.0:
            raise ValueError(f"sample rate {fs} Hz is outside 1-100000 Hz")
        self.fs = fs
        self.config = config_for(config) if isinstance(config, str) else config
        self.hop = hop_samples(fs)
        self._window = np.full(max(round(self.config.window_s * fs), self.hop), np.nan)
        self._hops = HopBuffer(self.hop)
        self._count = 0
        self._quality = Quality(
            Verdict.NO_SIGNAL, 0.0, f"{self.config.label} no signal yet",
            self.config.label, 0, None, None, 1.0,
        )  # fmt: skip

    def feed(self, samples: npt.ArrayLike) -> None:
        for block in self._hops.add(samples):
            self.feed_block(block)

    def feed_block(self, block: FloatArray) -> None:
        """Add a block of samples and judge the window (for callers that block data already)."""
        n = block.size
        if n == 0:
            return
        keep = max(self._window.size - n, 0)
        self._window[:keep] = self._window[self._window.size - keep :]
        self._window[keep:] = block[n - (self._window.size - keep) :]
        self._count += n
        self._quality = judge(self._window, self.fs, self.config, self._count)

    def quality(self) -> Quality:
        return self._quality


def judge(window: FloatArray, fs: float, config: ChannelConfig, sample_index: int) -> Quality:
    """The verdict on one window of samples (NaN = missing)."""
    missing = np.isnan(window)
    n_missing = int(np.count_nonzero(missing))
    gap = n_missing / window.size
    in_range = np.abs(window) < OUT_OF_RANGE  # False for NaN and ±inf
    all_in_range = bool(in_range.all())
    valid = window if all_in_range else window[in_range]
    pp = float(valid.max() - valid.min()) if valid.size else None
    start, stop = _longest_run(~missing) if n_missing else (0, window.size)

    noise_share = None
    lost = min(round(LOST_AFTER * fs), window.size)
    if n_missing and lost and missing[-lost:].all():
        verdict, score, why = Verdict.NO_SIGNAL, 0.0, "signal lost"
    elif gap >= config.max_gap_fraction:
        why = f"{gap:.0%} of the last {config.window_s:g} s missing"
        verdict, score = Verdict.NO_SIGNAL, 0.0
    elif stop - start < MIN_JUDGED * fs:
        verdict, score, why = Verdict.NO_SIGNAL, 0.0, "signal intermittent"
    elif pp is None:
        verdict, score, why = Verdict.SATURATED, 0.0, "no value in range"
    else:
        segment = window[start:stop]
        noise = _noise(segment if all_in_range else segment[in_range[start:stop]], fs, config)
        clipping = _clipping(window, missing, in_range, pp=pp, fs=fs, config=config)
        verdict, score, why = _verdict(gap, pp, clipping, noise, config)
        noise_share = noise[0]
    reason = f"{config.label} {verdict.value} ({why})"
    return Quality(verdict, score, reason, config.label, sample_index, pp, noise_share, gap)


def _verdict(
    gap: float,
    pp: float,
    clipping: tuple[float, float],
    noise: tuple[float, float],
    config: ChannelConfig,
) -> tuple[Verdict, float, str]:
    """The first failing check, and the lowest component score (0.5 at each threshold)."""
    stuck_s, at_rail = clipping
    share, rms = noise
    # Noisy only if the noise both dominates the band and is big enough to hide an event.
    excess = min(share / config.noise_share_limit, rms / config.noise_floor_rms)
    score = min(
        1.0 - 0.5 * gap / config.max_gap_fraction,
        1.0 / (1.0 + (stuck_s / config.stuck_s) ** 2),
        1.0 / (1.0 + (at_rail / RAIL_SHARE) ** 2),
        pp**2 / (pp**2 + config.flat_pp**2),
        1.0 / (1.0 + (pp / config.artefact_pp) ** 2),
        1.0 / (1.0 + excess**2),
    )
    unit = config.unit
    checks = (
        (stuck_s >= config.stuck_s, Verdict.SATURATED, f"{stuck_s:.2g} s clipped"),
        (at_rail >= RAIL_SHARE, Verdict.SATURATED, f"{at_rail:.0%} at the rail"),
        (pp <= config.flat_pp, Verdict.FLAT, f"{pp:.2g} {unit} p-p in {config.window_s:g} s"),
        (pp >= config.artefact_pp, Verdict.ARTEFACT, f"{pp:.3g} {unit} p-p"),
        (excess >= 1.0, Verdict.NOISY, f"noise {share:.0%} of in-band power, {rms:.2g} {unit} rms"),
    )
    for failed, verdict, why in checks:
        if failed:
            return verdict, score, why
    return Verdict.GOOD, score, f"{pp:.3g} {unit} p-p"


def _clipping(
    window: FloatArray,
    missing: BoolArray,
    in_range: BoolArray,
    *,
    pp: float,
    fs: float,
    config: ChannelConfig,
) -> tuple[float, float]:
    """The longest run at a limit (s), and the share of the window at the rail or beyond."""
    at_rail = ~missing & ~in_range
    if config.rail is not None:
        at_rail |= in_range & (np.abs(window) >= config.rail)
    clipped = at_rail.copy()
    if pp > config.flat_pp:
        # A clipped front end repeats its limit exactly; 0.1 % of the range allows for
        # rounding, yet a smooth peak stays that close for far less than ``stuck_s``.
        valid = window[in_range]
        top, bottom, tol = float(valid.max()), float(valid.min()), 1e-3 * pp
        clipped |= in_range & ((window >= top - tol) | (window <= bottom + tol))
    first, last = _longest_run(clipped)
    return (last - first) / fs, float(np.count_nonzero(at_rail)) / window.size


def _longest_run(mask: BoolArray) -> tuple[int, int]:
    """Start and stop (exclusive) of the longest run of True; (0, 0) if there is none."""
    at = np.flatnonzero(mask)
    if at.size < 32:  # the usual case (a window's extremes): a plain loop is cheaper
        best_start, best_stop, run_start, previous = 0, 0, -2, -2
        for i in at.tolist():
            run_start = run_start if i == previous + 1 else i
            previous = i
            if i + 1 - run_start > best_stop - best_start:
                best_start, best_stop = run_start, i + 1
        return best_start, best_stop
    breaks = np.flatnonzero(np.diff(at) > 1)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [at.size - 1]))
    best = int(np.argmax(ends - starts))
    return int(at[starts[best]]), int(at[ends[best]]) + 1


@dataclass(frozen=True, slots=True)
class _SpectralPlan:
    taper: FloatArray
    density_scale: float  # |FFT|^2 times this is a one-sided power density
    df: float
    in_band: slice  # bins of the physiological band
    above: slice  # bins above it, where only noise lives
    band_width: float  # Hz the noise density is extrapolated over


@functools.lru_cache(maxsize=32)
def _plan(n: int, fs: float, config: ChannelConfig) -> _SpectralPlan | None:
    if n < 4:  # too short for a spectrum (the samples in range may be few or none)
        return None
    nyquist, df = fs / 2.0, fs / n
    if nyquist >= 1.25 * config.noise_above_hz:
        top = hf_low = config.noise_above_hz
        hf_high = min(nyquist, 4.0 * top)
    else:  # sampled too slowly to see above the band: use the top of what there is
        top = hf_low = 0.6 * nyquist
        hf_high = nyquist
    low = max(config.band_low_hz, df)  # never the DC bin
    in_band = slice(math.ceil(low / df), math.ceil(top / df))
    above = slice(math.ceil(hf_low / df), math.floor(hf_high / df) + 1)
    if in_band.stop <= in_band.start or above.stop <= above.start:
        return None
    taper = np.hanning(n)
    return _SpectralPlan(taper, 2.0 / (fs * float(np.sum(taper**2))), df, in_band, above, top - low)


def _noise(segment: FloatArray, fs: float, config: ChannelConfig) -> tuple[float, float]:
    """White noise in the band, from the density above it: share of in-band power, rms."""
    plan = _plan(segment.size, fs, config)
    if plan is None:
        return 0.0, 0.0
    spectrum = np.fft.rfft((segment - segment.sum() / segment.size) * plan.taper)
    power = spectrum.real**2 + spectrum.imag**2
    band_power = float(power[plan.in_band].sum()) * plan.density_scale * plan.df
    noise_power = float(power[plan.above].mean()) * plan.density_scale * plan.band_width
    rms = math.sqrt(noise_power)
    if band_power <= 0.0:
        return (1.0 if noise_power > 0.0 else 0.0), rms
    return min(1.0, noise_power / band_power), rms


def assess(samples: npt.ArrayLike, fs: float, config: ChannelConfig | str) -> list[Quality]:
    """Batch helper: the judgement after every hop of ``samples``, fed through the analyser."""
    analyser = QualityAnalyser(fs, config)
    x = np.asarray(samples, dtype=np.float64).ravel()
    out = []
    for start in range(0, x.size - analyser.hop + 1, analyser.hop):
        analyser.feed(x[start : start + analyser.hop])
        out.append(analyser.quality())
    return out
