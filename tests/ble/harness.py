"""A station with wearables on the fake BlueZ: start, wait for what should happen, stop."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from app.bus import FeedItem, ReadingSet, Subscription
from app.model.ward import Ward
from app.signals.stream import DeviceStream
from app.station import Station
from drivers.base import DeviceCondition, Reading
from drivers.ble.catalog import profiles_for
from drivers.ble.central import BleCentral
from drivers.ble.driver import BleDriver, Wearable
from drivers.ble.profile import full_uuid
from drivers.ble.supervisor import DeviceSupervisor, SupervisorConfig
from tests.ble.bluez_thread import FakeBlueZThread
from tests.ble.fake_bluez import ServiceSpec

# Short enough that a test sees a stall and a reconnect within seconds.
FAST = SupervisorConfig(advert_wait=2.0, min_stall=1.5, backoff_first=0.2, backoff_cap=1.0)


def wait_until(what: Callable[[], bool], within: float = 10.0, text: str = "") -> None:
    deadline = time.monotonic() + within
    while not what():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {text or what}")
        time.sleep(0.02)


@contextmanager
def running_central() -> Iterator[BleCentral]:
    central = BleCentral()
    try:
        central.start()
        yield central
    finally:
        assert central.stop(5.0), "the Bluetooth loop did not stop"


def add_wearable(
    bluez: FakeBlueZThread, address: str, name: str, services: list[ServiceSpec]
) -> Wearable:
    bluez.call(lambda: bluez.fake.add_device(address, name, services))
    return Wearable(address, name, tuple(full_uuid(s.uuid) for s in services))


@dataclass
class BleBed:
    station: Station
    driver: BleDriver
    stream: DeviceStream
    feed: Subscription  # everything the bed's devices put on the station bus

    @property
    def supervisor(self) -> DeviceSupervisor:
        supervisor = self.driver.supervisor
        if supervisor is None:
            raise AssertionError("the driver has no supervisor (not started?)")
        return supervisor


@contextmanager
def bed_with(
    central: BleCentral, wearable: Wearable, config: SupervisorConfig = FAST
) -> Iterator[BleBed]:
    station = Station(Ward("Clinic", ["Bed 01"]))
    driver = BleDriver(central, wearable, profiles_for(wearable.name, wearable.service_uuids),
                       config)  # fmt: skip
    stream = station.attach("Bed 01", driver)
    feed = station.bus.subscribe()
    station.start()
    try:
        yield BleBed(station, driver, stream, feed)
    finally:
        assert not station.stop(5.0), "the wearable did not stop"


def readings_of(items: list[FeedItem], code: str) -> list[Reading]:
    return [
        r
        for item in items
        if isinstance(item.payload, ReadingSet)
        for r in item.payload.readings
        if r.code == code
    ]


def conditions_of(items: list[FeedItem], code: str) -> list[DeviceCondition]:
    return [
        item.payload
        for item in items
        if isinstance(item.payload, DeviceCondition) and item.payload.code == code
    ]


def value(stream: DeviceStream, code: str) -> float | None:
    latest = stream.numerics.latest(code)
    return latest.reading.value if latest is not None else None
