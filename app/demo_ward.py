"""The built-in simulated ward: simulated monitors on every bed, with fictitious patients.

The default mix puts normal beds next to deteriorating ones, so the demo shows what a central
station is for. Every name here is invented; none belongs to a real person.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from app.alarms.engine import AlarmEngine
from app.model.patient import Patient, PatientCategory, Sex
from app.model.ward import Ward
from app.station import Station
from drivers.sim import BedSimulator, SimulatedMonitor, get_scenario
from drivers.sim.host import SimulationHost
from drivers.sim.vitals import NIBP_DEFAULT_INTERVAL

DEMO_MIX = (
    "normal",
    "afib",
    "pvc",
    "desaturation",
    "normal",
    "tachycardia",
    "sepsis",
    "vt",
    "bigeminy",
    "hypotension",
    "lead-off",
    "bradycardia",
    "probe-off",
    "dropout",
    "trigeminy",
    "low-battery",
)
# In the demo mix the sepsis bed runs its 4-hour deterioration in 4 minutes, with an NIBP
# cycle short enough to watch the pressure fall.
DEMO_SEPSIS_COMPRESSION = 60.0
DEMO_SEPSIS_NIBP_INTERVAL = 120.0
MAX_BEDS = 64

_FAMILY = (
    "Abernethy", "Blackwood", "Castellano", "Delacroix", "Eastwood", "Fairweather", "Galloway",
    "Hargreaves", "Ingleby", "Jessop", "Kilbride", "Lindqvist", "Merriweather", "Northcott",
    "Oyelaran", "Pemberton", "Quennell", "Rosewarne", "Silvermoon", "Thistlewood", "Umberfield",
    "Vasquez-Hale", "Whitlock", "Yardley", "Zelenko",
)  # fmt: skip
_GIVEN = {
    Sex.FEMALE: ("Ada", "Beatrix", "Clio", "Delphine", "Esme", "Freya", "Greta", "Hedda", "Iris"),
    Sex.MALE: ("Anselm", "Bruno", "Cyril", "Dorian", "Emrys", "Felix", "Gideon", "Hugo", "Ivo"),
}


@dataclass(frozen=True, slots=True)
class SimConfig:
    beds: int = 8
    scenario: str | None = None  # None: the demo mix
    seed: int = 1
    ecg_rate: int = 250
    speed: float | None = 1.0  # None: as fast as possible
    duration: float | None = None  # seconds of signal per bed; None: until stopped
    compress: float = 1.0
    nibp_interval: float = NIBP_DEFAULT_INTERVAL


def bed_labels(n: int) -> list[str]:
    return [f"Bed {i + 1:02d}" for i in range(n)]


def bed_seed(seed: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def scenario_for_bed(config: SimConfig, index: int) -> str:
    return config.scenario or DEMO_MIX[index % len(DEMO_MIX)]


def fictitious_patient(rng: np.random.Generator, today: dt.date) -> Patient:
    sex = Sex.FEMALE if rng.random() < 0.5 else Sex.MALE
    born = today - dt.timedelta(days=int(rng.integers(25 * 365, 90 * 365)))
    return Patient(
        family_name=str(rng.choice(_FAMILY)),
        given_name=str(rng.choice(_GIVEN[sex])),
        mrn=f"DEMO{int(rng.integers(0, 10**6)):06d}",
        date_of_birth=born,
        sex=sex,
        category=PatientCategory.ADULT,
    )


def build_simulated_station(
    config: SimConfig, *, epoch: float | None = None, today: dt.date | None = None
) -> Station:
    """A station whose every bed has a simulated monitor and an admitted fictitious patient.

    ``epoch`` gives all monitors one time origin (the headless runner needs it); without it
    each monitor starts its clock when it starts.
    """
    if not 1 <= config.beds <= MAX_BEDS:
        raise ValueError(f"beds must be between 1 and {MAX_BEDS}, got {config.beds}")
    labels = bed_labels(config.beds)
    station = Station(Ward("Simulated ward", labels))
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, 0xBED]))
    today = today or dt.date.today()
    host = SimulationHost("simulated-ward")  # one thread paces every simulated monitor
    for index, label in enumerate(labels):
        name = scenario_for_bed(config, index)
        scenario = get_scenario(name)
        compress, nibp_interval = config.compress, config.nibp_interval
        if config.scenario is None and name == "sepsis":
            compress *= DEMO_SEPSIS_COMPRESSION
            nibp_interval = DEMO_SEPSIS_NIBP_INTERVAL
        if compress != 1.0:
            scenario = scenario.compressed(compress)
        simulator = BedSimulator(
            scenario,
            bed_seed(config.seed, index),
            ecg_rate=config.ecg_rate,
            nibp_interval=nibp_interval,
        )
        driver = SimulatedMonitor(
            simulator,
            speed=config.speed,
            duration=config.duration,
            epoch=epoch,
            label=label,
            host=host,
        )
        station.attach(label, driver)
        station.ward.admit(label, _unique_patient(station.ward, rng, today))
    return station


DEMO_OBSERVER = "demo ward (simulated)"


def enter_demo_observations(engine: AlarmEngine, station: Station, at: float) -> None:
    """The nurse's part of NEWS2 for each simulated patient (alert, on air, scale 1), so the
    demo shows complete scores; entered in the demo's name, and logged like any entry."""
    for bed in station.ward.beds:
        if bed.patient is not None:
            engine.set_observation(bed.label, "A", False, 1, DEMO_OBSERVER, at=at)


def _unique_patient(ward: Ward, rng: np.random.Generator, today: dt.date) -> Patient:
    while True:
        patient = fictitious_patient(rng, today)
        if ward.bed_of_mrn(patient.mrn) is None:
            return patient
