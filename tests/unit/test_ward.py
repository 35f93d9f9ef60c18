"""Ward, beds and admission rules; the station engine's device plumbing."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from app.model.patient import Patient, PatientCategory, Sex
from app.model.ward import Admission, Bed, Ward
from app.station import Station
from drivers.base import DriverState, Quality, Reading
from tests.fakes.fake_driver import FakeDriver


def patient(mrn: str = "A12345") -> Patient:
    return Patient("Doe", "Jo", mrn, dt.date(1970, 1, 1), Sex.UNKNOWN, PatientCategory.ADULT)


def test_admit_and_discharge_notify_subscribers() -> None:
    ward = Ward("W", ["Bed 01", "Bed 02"])
    seen: list[str] = []
    admitted: list[Admission] = []
    ward.bed("Bed 01").patient_changed.connect(lambda bed: seen.append(bed.label))
    ward.admitted.connect(admitted.append)
    ward.admit("Bed 01", patient())
    assert ward.bed("Bed 01").patient == patient()
    assert admitted == [Admission("Bed 01", patient())]
    assert ward.discharge("Bed 01") == patient()
    assert ward.bed("Bed 01").patient is None
    assert seen == ["Bed 01", "Bed 01"]


def test_an_occupied_bed_or_an_mrn_admitted_elsewhere_is_refused() -> None:
    ward = Ward("W", ["Bed 01", "Bed 02"])
    ward.admit("Bed 01", patient("A12345"))
    with pytest.raises(ValueError, match="occupied"):
        ward.admit("Bed 01", patient("B12345"))
    with pytest.raises(ValueError, match="already admitted in Bed 01"):
        ward.admit("Bed 02", patient("A12345"))
    with pytest.raises(ValueError, match="no patient"):
        ward.discharge("Bed 02")
    assert ward.bed_of_mrn("A12345") == "Bed 01"


def test_unknown_beds_and_duplicate_labels_are_errors() -> None:
    with pytest.raises(ValueError, match="unique"):
        Ward("W", ["Bed 01", "Bed 01"])
    with pytest.raises(KeyError, match="no bed 'Bed 09'"):
        Ward("W", ["Bed 01"]).bed("Bed 09")


def test_a_bed_holds_several_devices_and_the_first_is_its_monitor() -> None:
    station = Station(Ward("W", ["Bed 01"]))
    first = station.attach("Bed 01", FakeDriver("A"))
    second = station.attach("Bed 01", FakeDriver("B"))
    bed: Bed = station.ward.bed("Bed 01")
    assert bed.devices == (first, second)
    assert bed.monitor is first


def test_driver_data_reaches_buffers_numerics_and_the_bus() -> None:
    station = Station(Ward("W", ["Bed 01"]))
    driver = FakeDriver()
    stream = station.attach("Bed 01", driver)
    station.start()
    driver.push_samples("ECG_II", np.ones(50), 100.0)
    driver.push_samples("NOT_A_CHANNEL", np.ones(7), 100.0)
    driver.push_readings(Reading("HR", 72.0, "/min", 100.2, Quality.VALID))
    driver.push_condition("ECG_LEAD_OFF", True, 100.3)
    events = station.poll()
    assert [type(e.payload).__name__ for e in events] == ["DriverStatus", "DeviceCondition"]
    assert stream.status.state is DriverState.CONNECTED
    hr = stream.numerics.latest("HR")
    assert hr is not None
    assert hr.reading == Reading("HR", 72.0, "/min", 100.2, Quality.VALID)
    assert [c.code for c in stream.active_conditions] == ["ECG_LEAD_OFF"]
    assert station.samples_received == 50
    assert station.samples_dropped == 7  # samples for a channel the device never described
    assert station.stop() == []
    assert driver.stopped


def test_nibp_requests_go_only_to_devices_with_a_cuff() -> None:
    station = Station(Ward("W", ["Bed 01"]))
    stream = station.attach("Bed 01", FakeDriver())
    assert not stream.can_start_nibp()
    with pytest.raises(TypeError, match="no NIBP cuff"):
        stream.request_nibp()
