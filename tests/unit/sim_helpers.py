"""Running the simulator for tests, and measuring its output independently of it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.signal import find_peaks

from drivers.sim import STEP, BedSimulator, PhysiologyState, get_scenario
from drivers.sim.generator import PLETH_RATE, RESP_RATE
from drivers.sim.vitals import SimCondition, SimEvent, SimReading


@dataclass
class SimRun:
    ecg_rate: float
    waves: dict[str, np.ndarray]
    readings: list[SimReading] = field(default_factory=list)
    events: list[SimEvent] = field(default_factory=list)
    conditions: list[SimCondition] = field(default_factory=list)
    simulator: BedSimulator | None = None

    def rate(self, key: str) -> float:
        return {"ECG_II": self.ecg_rate, "PLETH": PLETH_RATE, "RESP": RESP_RATE}[key]

    def window(self, key: str, t0: float, t1: float) -> np.ndarray:
        fs = self.rate(key)
        return self.waves[key][int(t0 * fs) : int(t1 * fs)]

    def values(self, code: str, t0: float = 0.0, t1: float = 1e12) -> list[SimReading]:
        return [r for r in self.readings if r.code == code and t0 <= r.t < t1]


def run(
    scenario: str,
    seconds: float,
    *,
    seed: int = 7,
    ecg_rate: int = 250,
    baseline: PhysiologyState | None = None,
    compress: float = 1.0,
) -> SimRun:
    plan = get_scenario(scenario)
    if compress != 1.0:
        plan = plan.compressed(compress)
    sim = BedSimulator(plan, seed, ecg_rate=ecg_rate, baseline=baseline)
    steps = [sim.step() for _ in range(round(seconds / STEP))]
    waves = {k: np.concatenate([s.waveforms[k] for s in steps]) for k in steps[0].waveforms}
    out = SimRun(float(ecg_rate), waves, simulator=sim)
    for s in steps:
        out.readings += s.readings
        out.events += s.events
        out.conditions += s.conditions
    return out


def r_peaks(ecg: np.ndarray, fs: float) -> np.ndarray:
    """R peaks found by scipy on the positive R waves (independent of the simulator)."""
    finite = np.nan_to_num(ecg.astype(np.float64))
    height = 0.5 * np.percentile(finite, 99.5)
    peaks, _ = find_peaks(finite, height=height, distance=int(0.25 * fs))
    return np.asarray(peaks, dtype=np.int64)


def heart_rate(ecg: np.ndarray, fs: float) -> float:
    peaks = r_peaks(ecg, fs)
    return float(60.0 * fs / np.mean(np.diff(peaks)))
