"""Heart rate and HRV from a chest strap's RR intervals, for a bed without an ECG waveform.

The same averaging as the ECG's (:class:`HeartRateMeter`, disclosed there) and the same HRV
(:class:`HrvMeter`). A strap cannot tell asystole from coming off the chest, so when the
intervals stop the rate is withdrawn with the reason instead of falling towards zero.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable

from app.analysis.derived_source import AnalysisSource
from app.analysis.heart_rate import HeartRateMeter, HrvMeter
from app.signals.stream import DeviceStream
from drivers.base import ColourRole, NumericSpec, Quality, Reading

RR_CODE = "RRI"  # drivers.ble's RR-interval readings
SILENT_AFTER = 3.0  # s without an interval (straps send about once a second) before no value
ECTOPIC_STEP = 0.2  # an interval this much off the one before is not a normal pair (HRV)
STALE_AFTER = 5.0
HR_FROM_RR = NumericSpec("HR", "HR (RR)", "/min", "bpm", ColourRole.ECG, STALE_AFTER)
HRV_SDNN = NumericSpec("HRV_SDNN", "SDNN", "ms", "ms", ColourRole.ECG, STALE_AFTER)
HRV_RMSSD = NumericSpec("HRV_RMSSD", "RMSSD", "ms", "ms", ColourRole.ECG, STALE_AFTER)
NUMERICS = (HR_FROM_RR, HRV_SDNN, HRV_RMSSD)


def gives_rr(numerics: tuple[NumericSpec, ...]) -> bool:
    return any(spec.code == RR_CODE for spec in numerics)


class RrAnalyser:
    """Fed the readings of one device (any thread); :meth:`step` returns what to publish."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.tap: queue.SimpleQueue[tuple[Reading, ...]] = queue.SimpleQueue()
        self._rate = HeartRateMeter()
        self._hrv = HrvMeter()
        self._last_beat: float | None = None
        self._previous: float | None = None

    def step(self) -> list[Reading]:
        while True:
            try:
                readings = self.tap.get_nowait()
            except queue.Empty:
                break
            for reading in readings:
                if reading.code == RR_CODE and reading.value is not None:
                    self._interval(reading.value, reading.timestamp)
        return self._readings(self._clock())

    def _interval(self, rr: float, beat: float) -> None:
        # Beat times are reconstructed back from each notification's arrival, so with
        # transport jitter they may overlap the previous notification's: every interval
        # counts (the driver drops duplicated notifications), and time only moves forward.
        previous, self._previous = self._previous, rr
        self._last_beat = beat if self._last_beat is None else max(self._last_beat, beat)
        self._rate.add_interval(rr)
        normal = previous is not None and abs(rr - previous) <= ECTOPIC_STEP * previous
        self._hrv.add(beat, rr, normal)

    def _readings(self, now: float) -> list[Reading]:
        if self._last_beat is None:
            return [_missing("HR", "/min", now, "waiting for RR intervals")]
        silent = now - self._last_beat
        if silent > SILENT_AFTER:
            self._rate.reset()
            text = f"no beats from the strap for {silent:.0f} s"
            return [_missing("HR", "/min", now, text)]
        bpm = self._rate.bpm(silent)
        out = [
            Reading("HR", round(bpm), "/min", now, Quality.VALID, "from RR intervals")
            if bpm is not None
            else _missing("HR", "/min", now, "learning")
        ]
        hrv = self._hrv.value()
        if hrv is not None:
            out += [
                Reading("HRV_SDNN", round(hrv.sdnn_ms, 1), "ms", now, Quality.VALID),
                Reading("HRV_RMSSD", round(hrv.rmssd_ms, 1), "ms", now, Quality.VALID),
            ]
        return out


def _missing(code: str, unit: str, now: float, why: str) -> Reading:
    return Reading(code, None, unit, now, Quality.UNAVAILABLE, why)


class RrBed:
    """A bed whose only beats are a strap's RR intervals: HR and HRV from them."""

    def __init__(self, device: DeviceStream) -> None:
        self.device = device
        self._analyser = RrAnalyser()
        device.add_reading_tap(self._analyser.tap)
        self.source = AnalysisSource(device.bed_label, NUMERICS, time.time)

    def step(self) -> None:
        sink = self.source.sink
        if sink is not None:
            sink.write_readings(self._analyser.step())
