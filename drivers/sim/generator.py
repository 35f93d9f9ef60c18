"""One simulated patient and monitor, advanced in fixed steps.

Pure and deterministic: the same scenario, seed and settings give the same samples, readings
and events, however fast or slowly the steps are taken. Every random draw comes from its own
child stream of the seed, so the subsystems do not disturb each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from drivers.sim.beats import BeatScheduler
from drivers.sim.ecg import SUPPORT_BEFORE, EcgRenderer, Morphology
from drivers.sim.pleth import PlethRenderer
from drivers.sim.resp import RespRenderer
from drivers.sim.timeline import PhysiologyState, Scenario
from drivers.sim.vitals import (
    NIBP_DEFAULT_INTERVAL,
    SimCondition,
    SimEvent,
    SimReading,
    VitalsAlgorithms,
)

# Seconds per step: a whole number of samples at 62.5, 125, 250 and 500 Hz.
STEP = 0.16
ECG_RATES = (250, 500)
PLETH_RATE = 125.0
RESP_RATE = 62.5

Float32Array = npt.NDArray[np.float32]
_Render = Callable[[int, int, PhysiologyState], npt.NDArray[np.float64]]


@dataclass(frozen=True, slots=True)
class SimStep:
    t0: float  # time of the first sample of the step, seconds from the start
    waveforms: dict[str, Float32Array]  # NaN where the device has no valid signal
    readings: list[SimReading]
    events: list[SimEvent]  # device events (NIBP) and scenario timeline events
    conditions: list[SimCondition]
    connected: bool


def baseline_for_patient(rng: np.random.Generator) -> PhysiologyState:
    """A plausible adult at rest, different for every seed."""
    sbp = rng.uniform(110, 135)
    return PhysiologyState(
        hr=rng.uniform(62, 88),
        spo2=rng.uniform(96.0, 99.4),
        rr=rng.uniform(12, 18),
        temp=rng.uniform(36.5, 37.2),
        sbp=sbp,
        dbp=sbp * rng.uniform(0.58, 0.68),
        perfusion=rng.uniform(0.8, 1.2),
        battery=rng.uniform(60, 100),
    )


class BedSimulator:
    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        *,
        ecg_rate: int = 250,
        baseline: PhysiologyState | None = None,
        nibp_interval: float = NIBP_DEFAULT_INTERVAL,
    ) -> None:
        if ecg_rate not in ECG_RATES:
            raise ValueError(f"ECG rate must be one of {ECG_RATES} Hz, got {ecg_rate}")
        streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(7)]
        rng_base, rng_morph, rng_beats, rng_ecg, rng_pleth, rng_resp, rng_vitals = streams
        self.baseline = baseline or baseline_for_patient(rng_base)
        self.scenario = scenario
        self.ecg_rate = ecg_rate
        self._beats = BeatScheduler(rng_beats, self.state_at)
        self._ecg = EcgRenderer(ecg_rate, rng_ecg, Morphology.for_patient(rng_morph))
        self._pleth = PlethRenderer(PLETH_RATE, rng_pleth)
        self._resp = RespRenderer(RESP_RATE, rng_resp)
        self._vitals = VitalsAlgorithms(rng_vitals, nibp_interval)
        self._step = 0
        self._scheduled_nibp = sorted(scenario.nibp_requests)

    def state_at(self, t: float) -> PhysiologyState:
        return self.scenario.state_at(t, self.baseline)

    @property
    def elapsed(self) -> float:
        """Seconds simulated so far."""
        return self._step * STEP

    @property
    def conditions(self) -> dict[str, bool]:
        return self._vitals.conditions

    def request_nibp(self) -> None:
        self._vitals.request_nibp()

    def step(self) -> SimStep:
        k = self._step
        self._step += 1
        t0, t1 = k * STEP, (k + 1) * STEP
        state = self.state_at(t0 + STEP / 2)
        while self._scheduled_nibp and self._scheduled_nibp[0] < t1:
            self._scheduled_nibp.pop(0)
            self._vitals.request_nibp()

        beats = self._beats.beats_until(t1 + SUPPORT_BEFORE)
        self._ecg.add_beats(beats, state)
        self._resp.add_beats(beats)
        self._vitals.add_beats(beats)
        self._vitals.add_pulses(self._pleth.add_beats(beats, state))

        ends = (self.state_at(t0), self.state_at(t1 - 1e-9))
        waveforms = {
            "ECG_II": self._render(
                self._ecg.render, k, self.ecg_rate, state=state, ends=ends, invalid="leads_off"
            ),
            "PLETH": self._render(
                self._pleth.render, k, PLETH_RATE, state=state, ends=ends, invalid="probe_off"
            ),
            "RESP": self._render(
                self._resp.render, k, RESP_RATE, state=state, ends=ends, invalid="leads_off"
            ),
        }
        self._vitals.add_breaths(self._resp.breath_starts)
        self._resp.breath_starts.clear()
        readings, events, conditions = self._vitals.update(t0, t1, self.state_at)
        events += [
            SimEvent(t, "scenario", name) for t, name in self.scenario.events if t0 <= t < t1
        ]
        # A step goes out whole or not at all, like a packet; it belongs to its first moment.
        return SimStep(t0, waveforms, readings, events, conditions, ends[0].connected)

    def _render(
        self,
        render: _Render,
        k: int,
        rate: float,
        *,
        state: PhysiologyState,
        ends: tuple[PhysiologyState, PhysiologyState],
        invalid: str,
    ) -> Float32Array:
        """One channel's block; NaN where the flag ``invalid`` (e.g. leads off) holds."""
        n = round(rate * STEP)
        block = render(k * n, n, state).astype(np.float32)
        first, last = (getattr(s, invalid) for s in ends)
        if first == last:
            mask: bool | npt.NDArray[np.bool_] = bool(first)
        else:  # the flag flips inside this step: decide sample by sample
            t = (k * n + np.arange(n)) / rate
            mask = np.array([getattr(self.state_at(x), invalid) for x in t])
        # The front end flags these samples invalid; they must show as a gap.
        block[mask] = np.nan
        return block
