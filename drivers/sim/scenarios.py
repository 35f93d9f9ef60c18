"""The scenario catalogue: every timeline the simulator can play, with its onset times.

Times are seconds from the start of the run. Unless a scenario says otherwise its condition
starts at ``ONSET`` (30 s), so that a bed shows the patient's normal state first; the moment a
condition starts is announced as an event named ``"<scenario> onset"``. ``BASE`` stands for the
patient's own baseline value (each simulated patient has slightly different normal values).
"""

from __future__ import annotations

from drivers.sim.timeline import BASE, Ectopy, Rhythm, Scenario, ramp, step

ONSET = 30.0
SEPSIS_HOURS = 4.0


def _onset_end(name: str, end: float) -> tuple[tuple[float, str], ...]:
    return ((ONSET, f"{name} onset"), (end, f"{name} end"))


_CATALOGUE: tuple[Scenario, ...] = (
    Scenario(
        "normal",
        "Normal sinus rhythm with physiological heart-rate variability throughout.",
        {},
    ),
    Scenario(
        "tachycardia",
        "Sinus tachycardia: from 30 s the rate climbs from baseline to 150/min over 20 s.",
        {"hr": ramp((ONSET, BASE), (ONSET + 20, 150.0)), "rr": ramp((ONSET, BASE), (60, 22.0))},
        ((ONSET, "tachycardia onset"),),
    ),
    Scenario(
        "bradycardia",
        "Sinus bradycardia: from 30 s the rate falls from baseline to 38/min over 15 s.",
        {"hr": ramp((ONSET, BASE), (ONSET + 15, 38.0))},
        ((ONSET, "bradycardia onset"),),
    ),
    Scenario(
        "afib",
        "Atrial fibrillation from 30 s: no P waves, f-waves at 5-7 Hz, irregularly irregular "
        "ventricular response around 115/min.",
        {"rhythm": step((ONSET, Rhythm.AFIB)), "hr": step((ONSET, 115.0))},
        ((ONSET, "afib onset"),),
    ),
    Scenario(
        "pvc",
        "Premature ventricular contractions from 30 s: about 8 PVCs per minute, some couplets.",
        {"ectopy": step((ONSET, Ectopy.RANDOM)), "pvc_per_min": step((ONSET, 8.0))},
        ((ONSET, "pvc onset"),),
    ),
    Scenario(
        "bigeminy",
        "Ventricular bigeminy from 30 s: every second beat is a PVC.",
        {"ectopy": step((ONSET, Ectopy.BIGEMINY))},
        ((ONSET, "bigeminy onset"),),
    ),
    Scenario(
        "trigeminy",
        "Ventricular trigeminy from 30 s: every third beat is a PVC.",
        {"ectopy": step((ONSET, Ectopy.TRIGEMINY))},
        ((ONSET, "trigeminy onset"),),
    ),
    Scenario(
        "vt",
        "A 20-s run of monomorphic ventricular tachycardia at 170/min from 30 s to 50 s, with "
        "weak pulses and falling pressure, then sinus rhythm at 95/min.",
        {
            "rhythm": step((ONSET, Rhythm.VT), (ONSET + 20, Rhythm.SINUS)),
            "hr": step((ONSET, 170.0), (ONSET + 20, 95.0)),
            "sbp": ramp((ONSET, BASE), (ONSET + 15, 85.0), (ONSET + 60, BASE)),
            "dbp": ramp((ONSET, BASE), (ONSET + 15, 55.0), (ONSET + 60, BASE)),
        },
        _onset_end("vt", ONSET + 20),
    ),
    Scenario(
        "vf",
        "Ventricular fibrillation from 30 s: no organised QRS, no pulse; breathing stops "
        "within 40 s.",
        {"rhythm": step((ONSET, Rhythm.VF)), "rr": ramp((ONSET + 10, BASE), (ONSET + 40, 0.0))},
        ((ONSET, "vf onset"),),
    ),
    Scenario(
        "asystole",
        "Asystole from 30 s: no QRS, no pulse; breathing stops within 40 s.",
        {
            "rhythm": step((ONSET, Rhythm.ASYSTOLE)),
            "rr": ramp((ONSET + 10, BASE), (ONSET + 40, 0.0)),
        },
        ((ONSET, "asystole onset"),),
    ),
    Scenario(
        "desaturation",
        "SpO2 falls from baseline to 82 % between 30 s and 90 s, holds, and recovers from "
        "150 s to baseline by 210 s; the heart rate rises a little.",
        {
            "spo2": ramp((ONSET, BASE), (90, 82.0), (150, 82.0), (210, BASE)),
            "hr": ramp((ONSET, BASE), (90, 105.0), (150, 105.0), (210, BASE)),
            "perfusion": ramp((ONSET, BASE), (90, 0.7), (150, 0.7), (210, BASE)),
        },
        ((ONSET, "desaturation onset"), (150.0, "desaturation end")),
    ),
    Scenario(
        "hypotension",
        "Blood pressure falls from baseline to 78/42 mmHg between 30 s and 120 s with a "
        "compensatory tachycardia; on-demand NIBP measurements start at 60 s and 120 s.",
        {
            "sbp": ramp((ONSET, BASE), (120, 78.0)),
            "dbp": ramp((ONSET, BASE), (120, 42.0)),
            "hr": ramp((ONSET, BASE), (120, 112.0)),
            "perfusion": ramp((ONSET, BASE), (120, 0.45)),
        },
        ((ONSET, "hypotension onset"),),
        nibp_requests=(60.0, 120.0),
    ),
    Scenario(
        "sepsis",
        f"Sepsis-like deterioration over {SEPSIS_HOURS:g} h from 60 s: heart rate to 128/min, "
        "breathing to 28/min, temperature to 39.3 °C, pressure to 86/48 mmHg, SpO2 to 91 %. "
        "Compress the timeline (--compress) to watch it in minutes.",
        {
            name: ramp((60.0, BASE), (60.0 + SEPSIS_HOURS * 3600, target))
            for name, target in (
                ("hr", 128.0),
                ("rr", 28.0),
                ("temp", 39.3),
                ("sbp", 86.0),
                ("dbp", 48.0),
                ("spo2", 91.0),
                ("perfusion", 0.5),
            )
        },
        ((60.0, "sepsis onset"),),
    ),
    Scenario(
        "lead-off",
        "The ECG leads come off from 30 s to 50 s (ECG and impedance respiration lost).",
        {"leads_off": step((ONSET, True), (ONSET + 20, False))},
        _onset_end("lead-off", ONSET + 20),
    ),
    Scenario(
        "probe-off",
        "The SpO2 probe comes off from 30 s to 50 s (pleth, SpO2 and pulse rate lost).",
        {"probe_off": step((ONSET, True), (ONSET + 20, False))},
        _onset_end("probe-off", ONSET + 20),
    ),
    Scenario(
        "low-battery",
        "The monitor's battery drains from 26 % to 20 % (low) at 30 s, 10 % at 90 s and holds "
        "at 3 % from 160 s.",
        {"battery": ramp((0.0, 26.0), (ONSET, 20.0), (90.0, 10.0), (160.0, 3.0))},
        ((ONSET, "low-battery onset"), (90.0, "low-battery critical")),
    ),
    Scenario(
        "dropout",
        "The monitor's connection drops from 30 s to 38 s, and again from 90 s to 125 s.",
        {"connected": step((ONSET, False), (38.0, True), (90.0, False), (125.0, True))},
        (
            (ONSET, "dropout onset"),
            (38.0, "dropout end"),
            (90.0, "dropout onset"),
            (125.0, "dropout end"),
        ),
    ),
)

SCENARIOS: dict[str, Scenario] = {s.name: s for s in _CATALOGUE}
SCENARIO_NAMES: tuple[str, ...] = tuple(SCENARIOS)


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(
            f"unknown scenario {name!r}; choose from: {', '.join(SCENARIO_NAMES)}"
        ) from None
