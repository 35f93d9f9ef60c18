"""Pairing wearables to beds, the allow-list in the record, and a strap's RR intervals
becoming Vigil's HR and HRV: the station's side of the fake-BlueZ tier."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from app.analysis.service import AnalysisService
from app.model.ward import DERIVED_KIND, Ward
from app.station import Station
from app.wearables.allow_list import AllowList
from app.wearables.manager import WearableManager
from app.wearables.model import WearableError
from drivers.base import DriverState
from drivers.ble.central import BleCentral
from tests.ble import devices
from tests.ble.bluez_thread import FakeBlueZThread
from tests.ble.fake_bluez import CharSpec, ServiceSpec
from tests.ble.harness import FAST, add_wearable, value, wait_until
from tests.fakes import ble_payloads

BEDS = ["Bed 01", "Bed 02"]


@contextmanager
def station_with_wearables(record: Path) -> Iterator[tuple[Station, WearableManager]]:
    station = Station(Ward("Clinic", BEDS))
    manager = WearableManager(station, AllowList(record), BleCentral(), FAST)
    station.start()
    manager.start()
    try:
        yield station, manager
    finally:
        assert not station.stop(5.0)
        assert manager.stop(5.0)


def _notify_hr(bluez: FakeBlueZThread, payload: bytes) -> None:
    bluez.call(lambda: bluez.fake.notify(devices.HR_STRAP, "2a37", payload))


def _state_on(station: Station, bed: str, address: str) -> DriverState | None:
    found = [d for d in station.ward.bed(bed).devices if d.serial == address]
    return found[0].status.state if found else None


def test_a_paired_strap_is_remembered_and_reconnected_at_the_next_start(
    bluez: FakeBlueZThread, tmp_path: Path
) -> None:
    record = tmp_path / "record.db"
    add_wearable(bluez, devices.HR_STRAP, "HRM-Pro 1234", devices.heart_rate_strap())
    with station_with_wearables(record) as (station, manager):
        wait_until(lambda: any(r.address == devices.HR_STRAP for r in manager.rows()),
                   text="the strap is heard")  # fmt: skip
        row = next(r for r in manager.rows() if r.address == devices.HR_STRAP)
        assert (row.kind, row.supported, row.paired) == ("heart rate", True, False)
        manager.pair(devices.HR_STRAP, "Bed 02")
        wait_until(lambda: _state_on(station, "Bed 02", devices.HR_STRAP) is DriverState.CONNECTED,
                   text="connected on Bed 02")  # fmt: skip
        row = next(r for r in manager.rows() if r.address == devices.HR_STRAP)
        assert (row.paired, row.bed, row.state) == (True, "Bed 02", DriverState.CONNECTED)
    saved = sqlite3.connect(record).execute("SELECT address, bed FROM wearables").fetchall()
    assert saved == [(devices.HR_STRAP, "Bed 02")]
    with station_with_wearables(record) as (station, _manager):
        wait_until(lambda: _state_on(station, "Bed 02", devices.HR_STRAP) is DriverState.CONNECTED,
                   text="connected again without being asked")  # fmt: skip


def test_moving_and_forgetting_a_device(bluez: FakeBlueZThread, tmp_path: Path) -> None:
    add_wearable(bluez, devices.HR_STRAP, "HRM-Pro 1234", devices.heart_rate_strap())
    with station_with_wearables(tmp_path / "record.db") as (station, manager):
        wait_until(lambda: bool(manager.rows()), text="heard")
        manager.pair(devices.HR_STRAP, "Bed 01")
        wait_until(lambda: _state_on(station, "Bed 01", devices.HR_STRAP) is DriverState.CONNECTED,
                   text="connected on Bed 01")  # fmt: skip
        manager.assign(devices.HR_STRAP, "Bed 02")
        assert _state_on(station, "Bed 01", devices.HR_STRAP) is None
        wait_until(lambda: _state_on(station, "Bed 02", devices.HR_STRAP) is DriverState.CONNECTED,
                   text="connected on Bed 02")  # fmt: skip
        manager.forget(devices.HR_STRAP)
        assert _state_on(station, "Bed 02", devices.HR_STRAP) is None
        strap = bluez.call(lambda: bluez.fake.devices[devices.HR_STRAP])
        wait_until(lambda: not bluez.call(lambda: strap.connected), text="disconnected")
        row = next(r for r in manager.rows() if r.address == devices.HR_STRAP)
        assert not row.paired
        with pytest.raises(WearableError, match="not paired"):
            manager.assign(devices.HR_STRAP, "Bed 01")


def test_what_cannot_be_paired_says_why(bluez: FakeBlueZThread, tmp_path: Path) -> None:
    add_wearable(bluez, "C0:FF:EE:00:00:99", "Kettle", [ServiceSpec("fff0", [CharSpec("fff1",
                 ["read"])])])  # fmt: skip
    add_wearable(bluez, devices.HR_STRAP, "HRM-Pro 1234", devices.heart_rate_strap())
    with station_with_wearables(tmp_path / "record.db") as (_station, manager):
        wait_until(lambda: len(manager.rows()) == 2, text="both heard")
        kettle = next(r for r in manager.rows() if r.name == "Kettle")
        assert (kettle.kind, kettle.supported) == ("not supported", False)
        with pytest.raises(WearableError, match="nothing Vigil can use"):
            manager.pair("C0:FF:EE:00:00:99", "Bed 01")
        with pytest.raises(WearableError, match="no bed"):
            manager.pair(devices.HR_STRAP, "Bed 09")
        with pytest.raises(WearableError, match="not advertising"):
            manager.pair("C0:FF:EE:00:00:42", "Bed 01")


def test_strap_rr_intervals_become_vigils_heart_rate_and_hrv(
    bluez: FakeBlueZThread, tmp_path: Path
) -> None:
    add_wearable(bluez, devices.HR_STRAP, "HRM-Pro 1234", devices.heart_rate_strap())
    with station_with_wearables(tmp_path / "record.db") as (station, manager):
        analysis = AnalysisService(station)
        analysis.attach()
        analysis.start()
        try:
            wait_until(lambda: bool(manager.rows()), text="heard")
            manager.pair(devices.HR_STRAP, "Bed 01")
            bed = station.ward.bed("Bed 01")
            wait_until(lambda: _state_on(station, "Bed 01", devices.HR_STRAP)
                       is DriverState.CONNECTED, text="connected")  # fmt: skip
            derived = next(d for d in bed.devices if d.description.info.kind == DERIVED_KIND)
            # 40 beats alternating 0.80 / 0.75 s (77.4 /min), two a notification.
            intervals = [0.75 if k % 2 else 0.80 for k in range(40)]
            for k in range(0, 40, 2):
                _notify_hr(
                    bluez, ble_payloads.heart_rate_measurement(99, rr_s=intervals[k : k + 2])
                )
                time.sleep(0.15)  # identical payloads closer than 0.1 s are one notification
            wait_until(lambda: value(derived, "HRV_RMSSD") is not None, text="HRV published")
            hr = value(derived, "HR")
            found = bed.find_numeric("HR")
            rmssd = value(derived, "HRV_RMSSD")
        finally:
            assert analysis.stop(5.0)
    assert hr is not None
    assert abs(hr - 60 / 0.775) <= 1.0, "Vigil's rate from the intervals, not the strap's 99"
    assert found is not None
    assert found[0] is derived, "the bed shows Vigil's HR first"
    # Successive differences are all ±50 ms (1/1024-s rounding aside): RMSSD ≈ 50 ms.
    assert rmssd is not None
    assert abs(rmssd - 50.0) < 2.0
