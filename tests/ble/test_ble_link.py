"""Scan, connect and notifications into a bed, through bleak's real BlueZ D-Bus code."""

from __future__ import annotations

from drivers.base import DriverState
from drivers.ble.profile import full_uuid
from tests.ble import devices
from tests.ble.bluez_thread import FakeBlueZThread
from tests.ble.harness import (
    add_wearable,
    bed_with,
    readings_of,
    running_central,
    value,
    wait_until,
)
from tests.fakes import ble_payloads


def test_the_scanner_lists_devices_with_name_rssi_and_services(bluez: FakeBlueZThread) -> None:
    add_wearable(bluez, devices.HR_STRAP, "HRM-Pro 1234", devices.heart_rate_strap())
    add_wearable(bluez, devices.OXIMETER, "Nonin 3150", devices.pulse_oximeter())
    with running_central() as central:
        assert central.available, central.error
        wait_until(lambda: len(central.adverts()) == 2, text="two devices heard")
        found = {a.address: a for a in central.adverts()}
    strap = found[devices.HR_STRAP]
    assert strap.name == "HRM-Pro 1234"
    assert strap.rssi == -60
    assert full_uuid("180d") in strap.service_uuids
    assert full_uuid("1822") in found[devices.OXIMETER].service_uuids


def test_heart_rate_and_rr_intervals_reach_the_bed(bluez: FakeBlueZThread) -> None:
    wearable = add_wearable(bluez, devices.HR_STRAP, "HRM-Pro 1234", devices.heart_rate_strap())
    with running_central() as central, bed_with(central, wearable) as bed:
        stream = bed.stream
        wait_until(lambda: stream.status.state is DriverState.CONNECTED, text="connected")
        wait_until(lambda: value(stream, "BATTERY") == 87.0, text="battery read at connect")
        payload = ble_payloads.heart_rate_measurement(72, rr_s=[0.8330078125, 0.8349609375])
        bluez.call(lambda: bluez.fake.notify(devices.HR_STRAP, "2a37", payload))
        wait_until(lambda: value(stream, "HR") == 72.0, text="HR 72 on the bed")
        intervals = readings_of(bed.feed.drain(), "RRI")
        assert [r.value for r in intervals] == [0.8330078125, 0.8349609375]
        # Stamped at the beat that ends each interval: the later one last.
        assert intervals[1].timestamp - intervals[0].timestamp == 0.8349609375
    assert stream.status.state is DriverState.STOPPED
    strap = bluez.call(lambda: bluez.fake.devices[devices.HR_STRAP])
    assert not strap.connected, "stopping the station disconnects the strap"
    assert strap.disconnects == 1


def test_a_pulse_oximeter_fills_spo2_and_pulse_rate(bluez: FakeBlueZThread) -> None:
    wearable = add_wearable(bluez, devices.OXIMETER, "Nonin 3150", devices.pulse_oximeter())
    with running_central() as central, bed_with(central, wearable) as bed:
        wait_until(lambda: bed.stream.status.state is DriverState.CONNECTED, text="connected")
        payload = ble_payloads.plx_continuous(97, 64)
        bluez.call(lambda: bluez.fake.notify(devices.OXIMETER, "2a5f", payload))
        wait_until(lambda: value(bed.stream, "SPO2") == 97.0, text="SpO2 on the bed")
        assert value(bed.stream, "PR") == 64.0
        no_spo2 = ble_payloads.plx_continuous(None, 64)
        bluez.call(lambda: bluez.fake.notify(devices.OXIMETER, "2a5f", no_spo2))
        wait_until(lambda: value(bed.stream, "SPO2") is None, text="NaN SpO2 shows no value")
        latest = bed.stream.numerics.latest("SPO2")
        assert latest is not None
        assert latest.reading.message == "device sent NaN"
