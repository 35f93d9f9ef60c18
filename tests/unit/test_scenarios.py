"""Every scenario announces its onset at the documented time, and its condition starts then."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.signal import find_peaks, peak_widths, welch

from drivers.base import Quality
from drivers.sim import SCENARIO_NAMES, SCENARIOS, PhysiologyState
from drivers.sim.scenarios import ONSET
from tests.unit.sim_helpers import SimRun, heart_rate, r_peaks, run

REQUIRED = (
    "normal", "tachycardia", "bradycardia", "afib", "pvc", "bigeminy", "vt", "vf", "asystole",
    "desaturation", "hypotension", "sepsis", "lead-off", "probe-off", "low-battery", "dropout",
)  # fmt: skip


def test_every_required_scenario_exists() -> None:
    assert set(REQUIRED) <= set(SCENARIO_NAMES)


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_timeline_events_come_at_their_documented_times(name: str) -> None:
    sim = run(name, 200.0)
    emitted = [(e.t, e.name) for e in sim.events if e.kind == "scenario"]
    documented = [(t, n) for t, n in SCENARIOS[name].events if t < 200.0]
    assert emitted == documented
    onsets = [(t, event) for t, event in documented if event.endswith(" onset")]
    if name != "normal":
        assert onsets[0] == ((60.0 if name == "sepsis" else ONSET), f"{name} onset")


def mean_reading(sim: SimRun, code: str, t0: float, t1: float) -> float:
    values = [r.value for r in sim.values(code, t0, t1) if r.value is not None]
    assert values, f"no {code} values between {t0} and {t1} s"
    return float(np.mean(values))


def test_tachycardia_and_bradycardia_reach_their_rates_after_onset() -> None:
    tachy = run("tachycardia", 90.0, baseline=PhysiologyState(hr=80))
    assert heart_rate(tachy.window("ECG_II", 2, 29), 250) == pytest.approx(80, abs=2)
    assert heart_rate(tachy.window("ECG_II", 55, 90), 250) == pytest.approx(150, abs=2)
    brady = run("bradycardia", 90.0, baseline=PhysiologyState(hr=70))
    assert heart_rate(brady.window("ECG_II", 50, 90), 250) == pytest.approx(38, abs=1.5)
    assert mean_reading(brady, "HR", 60, 90) == pytest.approx(38, abs=2)


def test_desaturation_falls_and_recovers() -> None:
    sim = run("desaturation", 260.0, baseline=PhysiologyState(spo2=97))
    assert mean_reading(sim, "SPO2", 10, 29) >= 95
    assert mean_reading(sim, "SPO2", 100, 150) <= 85
    assert mean_reading(sim, "SPO2", 230, 260) >= 94


def test_hypotension_is_caught_by_the_on_demand_nibp() -> None:
    sim = run("hypotension", 200.0, baseline=PhysiologyState(sbp=120, dbp=78))
    starts = [e.t for e in sim.events if e.name == "NIBP measurement started"]
    assert starts[:3] == [10.0, 60.0, 120.0]  # the first auto cycle, then two on demand
    systolic = [(r.t, r.value) for r in sim.values("NIBP_SYS")]
    assert systolic[0][1] is not None
    assert systolic[0][1] > 105
    late = [v for t, v in systolic if t > 140]
    assert late
    assert all(v is not None and v < 92 for v in late)


def test_sepsis_deteriorates_over_its_compressed_timeline() -> None:
    # 4 hours compressed 120-fold: onset at 0.5 s, fully developed by 120.5 s.
    sim = run("sepsis", 130.0, compress=120.0, baseline=PhysiologyState(hr=80, temp=37.0, rr=14))
    assert mean_reading(sim, "HR", 122, 130) == pytest.approx(128, abs=6)
    assert mean_reading(sim, "TEMP", 110, 130) == pytest.approx(39.3, abs=0.3)
    assert mean_reading(sim, "RR", 122, 130) == pytest.approx(28, abs=4)
    onset = [e.t for e in sim.events if e.name == "sepsis onset"]
    assert onset == [0.5]


def test_lead_off_loses_ecg_and_respiration_and_raises_a_condition() -> None:
    sim = run("lead-off", 70.0)
    assert np.isnan(sim.window("ECG_II", 30.2, 49.8)).all()
    assert np.isnan(sim.window("RESP", 30.2, 49.8)).all()
    assert not np.isnan(sim.window("ECG_II", 50.2, 69)).any()
    changes = [(c.t, c.code, c.active) for c in sim.conditions if c.code == "ECG_LEAD_OFF"]
    assert changes[0][1:] == ("ECG_LEAD_OFF", True)
    assert 30.0 <= changes[0][0] < 30.0 + 0.2
    assert changes[1][1:] == ("ECG_LEAD_OFF", False)
    hr = sim.values("HR", 32, 49)
    assert hr
    assert all(r.value is None and r.quality is Quality.UNAVAILABLE for r in hr)


def test_probe_off_loses_pleth_and_spo2() -> None:
    sim = run("probe-off", 70.0)
    assert np.isnan(sim.window("PLETH", 30.2, 49.8)).all()
    spo2 = sim.values("SPO2", 31, 50)
    assert spo2
    assert all(r.value is None and r.message == "SpO2 probe off" for r in spo2)
    assert [c.active for c in sim.conditions if c.code == "SPO2_PROBE_OFF"] == [True, False]


def test_low_battery_crosses_its_limit_at_onset() -> None:
    sim = run("low-battery", 100.0)
    battery = [(r.t, r.value) for r in sim.values("BATTERY")]
    assert all(v is not None and v > 20 for t, v in battery if t < 29)
    assert all(v is not None and v < 20 for t, v in battery if t > 31)
    low = [c for c in sim.conditions if c.code == "BATTERY_LOW"]
    assert low
    assert low[0].active
    assert math.isclose(low[0].t, ONSET, abs_tol=0.2)


def test_nibp_cycles_every_15_minutes_by_default() -> None:
    sim = run("normal", 1900.0)
    starts = [e.t for e in sim.events if e.name == "NIBP measurement started"]
    assert starts == [10.0, 910.0, 1810.0]
    done = list(sim.values("NIBP_SYS"))
    assert len(done) == 3
    assert all(28 <= r.t - s <= 34 for r, s in zip(done, starts, strict=True))


def wide_beat_fraction(ecg: np.ndarray, fs: float) -> float:
    """Share of beats whose QRS (on the absolute signal) is wider than 70 ms at half height."""
    signal = np.abs(np.nan_to_num(ecg.astype(np.float64)))
    peaks, _ = find_peaks(signal, height=0.5 * np.percentile(signal, 99.5), distance=int(0.2 * fs))
    widths, *_ = peak_widths(signal, peaks, rel_height=0.5)
    return float(np.mean(1000.0 * widths / fs > 70.0)) if len(peaks) else 0.0


@pytest.mark.parametrize(
    ("name", "after"),
    [("pvc", (0.05, 0.3)), ("bigeminy", (0.4, 0.6)), ("trigeminy", (0.25, 0.42)),
     ("vt", (0.9, 1.0))],
)  # fmt: skip
def test_ectopic_beats_appear_in_the_ecg_only_from_onset(
    name: str, after: tuple[float, float]
) -> None:
    """Measured on the ECG itself (QRS width), not on the simulator's own bookkeeping."""
    fs = 500.0
    sim = run(name, 90.0 if name == "pvc" else 50.0, ecg_rate=500)
    assert wide_beat_fraction(sim.window("ECG_II", 1, ONSET), fs) == 0.0
    end = 90.0 if name == "pvc" else 49.0
    lo, hi = after
    assert lo <= wide_beat_fraction(sim.window("ECG_II", ONSET + 1.5, end), fs) <= hi


def test_asystole_beats_go_on_until_the_onset() -> None:
    sim = run("asystole", 40.0, baseline=PhysiologyState(hr=75))
    peaks_t = r_peaks(sim.waves["ECG_II"], 250.0) / 250.0
    assert 29.0 <= peaks_t.max() < 30.0 + 0.1
    assert len(peaks_t) == pytest.approx(75 * 30 / 60, abs=2)


def test_afib_starts_at_onset_with_f_waves() -> None:
    """Atrial activity at 5-7 Hz appears after onset. Measured as in AF analysis: each beat's
    average QRS-T is cancelled, and the band power of what remains is compared."""
    sim = run("afib", 70.0)
    fs = 250.0
    ecg = np.nan_to_num(sim.waves["ECG_II"].astype(np.float64))
    peaks = r_peaks(ecg, fs)

    def f_band_power(t0: float, t1: float) -> float:
        chosen = [p for p in peaks if t0 * fs + 75 <= p <= t1 * fs - 125]
        beats = np.array([ecg[p - 75 : p + 125] for p in chosen])
        residual = (beats - np.median(beats, axis=0)).ravel()
        freqs, power = welch(residual, fs=fs, nperseg=200)
        return float(power[(freqs >= 5) & (freqs <= 7)].sum())

    assert f_band_power(35, 70) > 4 * f_band_power(0, 29)
