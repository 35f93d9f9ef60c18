"""The analysis service on a real station: Vigil's numbers win, events reach the bus."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from app.analysis.ecg_analyzer import EcgAnalyzer
from app.analysis.rhythm import RhythmEvent
from app.analysis.service import AnalysisService
from app.model.ward import DERIVED_KIND, Ward
from app.presentation import present_bed_numerics
from app.station import Station
from drivers.base import DeviceEvent, DriverState, DriverStatus
from tests.fakes.fake_driver import FakeDriver
from tests.unit.sim_helpers import run


class BrokenAnalyzer(EcgAnalyzer):
    def feed(self, chunk: npt.ArrayLike) -> list[RhythmEvent]:
        raise RuntimeError("boom")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def station() -> tuple[Station, FakeDriver, AnalysisService, Clock]:
    clock = Clock()
    ward = Ward("Test ward", ["Bed 01"])
    station = Station(ward, clock)
    driver = FakeDriver()
    station.attach("Bed 01", driver)
    service = AnalysisService(station)
    service.attach()
    station.start()
    return station, driver, service, clock


def play(
    driver: FakeDriver, service: AnalysisService, clock: Clock, scenario: str, seconds: float
) -> None:
    """Deliver a simulated ECG and pleth second by second and step the service."""
    sim = run(scenario, seconds)
    ecg, pleth = sim.waves["ECG_II"], sim.waves["PLETH"]
    t0 = clock.now
    for second in range(int(seconds)):
        driver.push_samples("ECG_II", ecg[second * 250 : (second + 1) * 250], t0 + second)
        driver.push_samples("PLETH", pleth[second * 125 : (second + 1) * 125], t0 + second)
        clock.now = t0 + second + 1
        service.step()


def test_the_bed_shows_the_heart_rate_vigil_computed(
    station: tuple[Station, FakeDriver, AnalysisService, Clock],
) -> None:
    st, driver, service, clock = station
    driver.push_readings()  # the monitor sends no HR of its own here; Vigil's must appear
    play(driver, service, clock, "tachycardia", 60)
    bed = st.ward.bed("Bed 01")
    found = bed.find_numeric("HR")
    assert found is not None
    source, _spec = found
    assert source.description.info.kind == DERIVED_KIND
    shown = present_bed_numerics(bed, ["HR", "PR"], clock.now)
    hr = float(shown["HR"].value)
    assert 100 < hr < 200
    assert shown["HR"].note in ("tachy", "regular")
    assert abs(float(shown["PR"].value) - hr) <= 5


def test_rhythm_events_go_on_the_bus_with_station_times(
    station: tuple[Station, FakeDriver, AnalysisService, Clock],
) -> None:
    st, driver, service, clock = station
    start = clock.now
    play(driver, service, clock, "asystole", 40)
    events = [e.payload for e in st.poll() if isinstance(e.payload, DeviceEvent)]
    rhythm = [(e.timestamp - start, e.name) for e in events if e.kind == "rhythm"]
    names = [name for _, name in rhythm]
    assert names[0] == "SINUS"
    assert "ASYSTOLE" in names
    asystole_at = next(t for t, name in rhythm if name == "ASYSTOLE")
    assert 30.0 < asystole_at < 35.0


def test_a_failing_analysis_shows_on_its_bed_and_stops_only_there(
    station: tuple[Station, FakeDriver, AnalysisService, Clock],
) -> None:
    st, driver, service, clock = station
    bed = service.bed("Bed 01")
    assert bed is not None

    bed.ecg_analyzer = BrokenAnalyzer(250.0)
    driver.push_samples("ECG_II", np.zeros(250, np.float32), clock.now)
    service.step()
    statuses = [e.payload for e in st.poll() if isinstance(e.payload, DriverStatus)]
    assert any(s.state is DriverState.FAILED and "boom" in s.message for s in statuses)
    assert service.failed_beds == frozenset({"Bed 01"})


def test_the_pvc_count_goes_with_the_rhythm_under_hr(
    station: tuple[Station, FakeDriver, AnalysisService, Clock],
) -> None:
    st, driver, service, clock = station
    play(driver, service, clock, "bigeminy", 60)
    note = present_bed_numerics(st.ward.bed("Bed 01"), ["HR"], clock.now)["HR"].note
    rhythm, _, pvcs = note.partition(" · ")
    assert rhythm == "bigeminy"
    assert pvcs.startswith("PVC ")
    assert int(pvcs.removeprefix("PVC ").removesuffix("/min")) >= 5
