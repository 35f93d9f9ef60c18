"""The simulated monitor's own numeric algorithms: what a bedside monitor would report.

HR, pulse rate, SpO2 and RR every second; temperature every 10 s; battery every 30 s; NIBP
once per cycle (every 15 min by default) and on demand, each measurement taking about 30 s.
These are the *device's* numbers; Vigil's own analysis (a later part) computes its own.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from drivers.base import NIBP_DONE, NIBP_STARTED, Quality
from drivers.sim.beats import Beat
from drivers.sim.timeline import PhysiologyState, Rhythm, first_change

NIBP_DEFAULT_INTERVAL = 15 * 60.0
NIBP_FIRST_AT = 10.0  # the first automatic measurement, seconds after the start
BATTERY_LOW_BELOW = 20.0
BATTERY_LOW_CLEARS_AT = 22.0  # hysteresis, so a level near the limit does not chatter
WARM_UP = 4.0  # seconds after the start before the monitor has enough signal to count
StateAt = Callable[[float], PhysiologyState]
CONDITION_TEXT = {
    "ECG_LEAD_OFF": "ECG leads off",
    "SPO2_PROBE_OFF": "SpO2 probe off",
    "BATTERY_LOW": "Monitor battery low",
}


@dataclass(frozen=True, slots=True)
class SimReading:
    code: str
    value: float | None
    quality: Quality
    t: float
    message: str = ""


@dataclass(frozen=True, slots=True)
class SimEvent:
    t: float
    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class SimCondition:
    code: str
    active: bool
    t: float
    message: str


def _rate_from(times: deque[float], now: float, window: float, max_intervals: int) -> float | None:
    """Mean rate (per minute) over the last few intervals of events inside the window."""
    recent = [x for x in times if now - window < x <= now][-(max_intervals + 1) :]
    if len(recent) < 3:  # two intervals at least, or one early event skews the rate
        return None
    return 60.0 * (len(recent) - 1) / (recent[-1] - recent[0])


class VitalsAlgorithms:
    def __init__(self, rng: np.random.Generator, nibp_interval: float) -> None:
        if nibp_interval <= 0:
            raise ValueError(f"NIBP interval must be positive, got {nibp_interval}")
        self._rng = rng
        self._nibp_interval = nibp_interval
        self._beats: deque[float] = deque(maxlen=64)
        self._pulses: deque[float] = deque(maxlen=64)
        self._breaths: deque[float] = deque(maxlen=32)
        self._spo2: float | None = None
        self._next_auto_nibp = NIBP_FIRST_AT
        self._nibp_ends: float | None = None
        self._nibp_pending = False
        self._conditions: dict[str, bool] = {
            "ECG_LEAD_OFF": False,
            "SPO2_PROBE_OFF": False,
            "BATTERY_LOW": False,
        }

    def add_beats(self, beats: list[Beat]) -> None:
        self._beats.extend(b.t for b in beats)

    def add_pulses(self, peaks: list[float]) -> None:
        self._pulses.extend(peaks)

    def add_breaths(self, starts: list[float]) -> None:
        self._breaths.extend(starts)

    def request_nibp(self) -> None:
        self._nibp_pending = True

    @property
    def conditions(self) -> dict[str, bool]:
        return dict(self._conditions)

    def update(
        self, t0: float, t1: float, state_at: StateAt
    ) -> tuple[list[SimReading], list[SimEvent], list[SimCondition]]:
        """Everything the device reports in ``[t0, t1)``, each at its own moment."""
        readings: list[SimReading] = []
        for second in range(math.ceil(t0), math.ceil(t1)):
            state = state_at(second)
            readings += self._each_second(float(second), state)
            if second % 10 == 2:
                temp = round(state.temp + 0.02 * self._rng.standard_normal(), 1)
                readings.append(SimReading("TEMP", temp, Quality.VALID, second))
            if second % 30 == 1:
                readings.append(SimReading("BATTERY", round(state.battery), Quality.VALID, second))
        nibp_readings, nibp_events = self._nibp(t0, t1, state_at)
        return readings + nibp_readings, nibp_events, self._update_conditions(t0, t1, state_at)

    def _each_second(self, t: float, state: PhysiologyState) -> list[SimReading]:
        return [self._hr(t, state), *self._pulse_oximetry(t, state), self._rr(t, state)]

    def _hr(self, t: float, state: PhysiologyState) -> SimReading:
        if state.leads_off:
            return SimReading("HR", None, Quality.UNAVAILABLE, t, "ECG leads off")
        if state.rhythm is Rhythm.VF:
            return SimReading("HR", None, Quality.INVALID, t, "Cannot analyse ECG")
        if t < WARM_UP:
            return SimReading("HR", None, Quality.UNAVAILABLE, t, "Acquiring ECG")
        last = max((b for b in self._beats if b <= t), default=None)
        if last is None or t - last >= 4.0:
            return SimReading("HR", 0.0, Quality.VALID, t, "No QRS detected")
        rate = _rate_from(self._beats, t, 10.0, 8)
        if rate is None:
            return SimReading("HR", None, Quality.QUESTIONABLE, t, "Too few beats to count")
        return SimReading("HR", float(round(rate)), Quality.VALID, t)

    def _pulse_oximetry(self, t: float, state: PhysiologyState) -> list[SimReading]:
        if state.probe_off:
            self._spo2 = None
            msg = "SpO2 probe off"
            return [
                SimReading("SPO2", None, Quality.UNAVAILABLE, t, msg),
                SimReading("PR", None, Quality.UNAVAILABLE, t, msg),
            ]
        rate = _rate_from(self._pulses, t, 8.0, 8)
        if t < WARM_UP:
            msg = "Searching for pulse"
            return [
                SimReading("SPO2", None, Quality.UNAVAILABLE, t, msg),
                SimReading("PR", None, Quality.UNAVAILABLE, t, msg),
            ]
        if rate is None:
            self._spo2 = None
            msg = "No pulse detected"
            return [
                SimReading("SPO2", None, Quality.INVALID, t, msg),
                SimReading("PR", None, Quality.INVALID, t, msg),
            ]
        target = state.spo2 + 0.4 * self._rng.standard_normal()
        # The oximeter averages over several seconds, so its reading lags the blood.
        self._spo2 = target if self._spo2 is None else self._spo2 + (target - self._spo2) / 5.0
        spo2 = float(min(100, round(self._spo2)))
        low_perfusion = state.perfusion < 0.3
        quality = Quality.QUESTIONABLE if low_perfusion else Quality.VALID
        msg = "Low perfusion" if low_perfusion else ""
        return [
            SimReading("SPO2", spo2, quality, t, msg),
            SimReading("PR", float(round(rate)), quality, t, msg),
        ]

    def _rr(self, t: float, state: PhysiologyState) -> SimReading:
        if state.leads_off:  # impedance respiration is measured through the ECG electrodes
            return SimReading("RR", None, Quality.UNAVAILABLE, t, "ECG leads off")
        rate = _rate_from(self._breaths, t, 30.0, 4)
        if rate is None and t < 30.0:
            return SimReading("RR", None, Quality.UNAVAILABLE, t, "Acquiring respiration")
        last = max((b for b in self._breaths if b <= t), default=None)
        if last is None or t - last > 20.0:
            return SimReading("RR", 0.0, Quality.VALID, t, "No breath detected")
        if rate is None:
            return SimReading("RR", None, Quality.QUESTIONABLE, t, "Too few breaths to count")
        return SimReading("RR", float(round(rate)), Quality.VALID, t)

    def _nibp(
        self, t0: float, t1: float, state_at: StateAt
    ) -> tuple[list[SimReading], list[SimEvent]]:
        readings: list[SimReading] = []
        events: list[SimEvent] = []
        if self._nibp_ends is not None and self._nibp_ends < t1:
            readings = self._nibp_result(self._nibp_ends, state_at(self._nibp_ends))
            events.append(SimEvent(self._nibp_ends, "nibp", NIBP_DONE))
            self._nibp_ends = None
        start: float | None = None
        if self._nibp_pending:
            start = t0
        elif self._next_auto_nibp < t1:
            start = max(t0, self._next_auto_nibp)
        self._nibp_pending = False  # a request during a measurement is that measurement
        if start is not None and self._nibp_ends is None:
            self._nibp_ends = start + 28.0 + 6.0 * self._rng.random()
            events.append(SimEvent(start, "nibp", NIBP_STARTED))
        while self._nibp_ends is not None and self._next_auto_nibp < self._nibp_ends:
            self._next_auto_nibp += self._nibp_interval  # a cycle due mid-measurement is skipped
        return readings, events

    def _nibp_result(self, t: float, state: PhysiologyState) -> list[SimReading]:
        codes = ("NIBP_SYS", "NIBP_DIA", "NIBP_MEAN")
        if state.rhythm in (Rhythm.VF, Rhythm.ASYSTOLE) or state.perfusion < 0.15:
            msg = "NIBP failed: no oscillations detected"
            return [SimReading(c, None, Quality.INVALID, t, msg) for c in codes]
        sys = state.sbp + 3.0 * self._rng.standard_normal()
        dia = state.dbp + 2.5 * self._rng.standard_normal()
        mean = dia + (sys - dia) / 3.0
        return [
            SimReading(c, float(round(v)), Quality.VALID, t)
            for c, v in zip(codes, (sys, dia, mean), strict=True)
        ]

    def _flags(self, state: PhysiologyState, battery_was_low: bool) -> dict[str, bool]:
        battery_low = battery_was_low
        if state.battery < BATTERY_LOW_BELOW:
            battery_low = True
        elif state.battery >= BATTERY_LOW_CLEARS_AT:
            battery_low = False
        return {
            "ECG_LEAD_OFF": state.leads_off,
            "SPO2_PROBE_OFF": state.probe_off,
            "BATTERY_LOW": battery_low,
        }

    def _update_conditions(self, t0: float, t1: float, state_at: StateAt) -> list[SimCondition]:
        """Conditions that changed during the step, stamped with the moment they changed."""
        was_low = self._conditions["BATTERY_LOW"]
        wanted = self._flags(state_at(t1), was_low)
        changes = []
        for code, active in wanted.items():
            if active != self._conditions[code]:
                self._conditions[code] = active

                def flag(t: float, code: str = code) -> bool:
                    return self._flags(state_at(t), was_low)[code]

                changes.append(
                    SimCondition(code, active, first_change(t0, t1, flag), CONDITION_TEXT[code])
                )
        return changes
