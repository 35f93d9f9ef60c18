"""The BLE integration tier: bleak's real BlueZ D-Bus code against a fake ``org.bluez``."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.ble.bluez_thread import FakeBlueZThread, PrivateBus


@pytest.fixture(scope="session")
def private_system_bus() -> Iterator[str]:
    """A throw-away dbus-daemon that bleak takes for the system bus."""
    bus = PrivateBus()
    before = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")
    os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = bus.address
    yield bus.address
    if before is None:
        del os.environ["DBUS_SYSTEM_BUS_ADDRESS"]
    else:
        os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = before
    bus.close()


@pytest.fixture
def bluez(private_system_bus: str) -> Iterator[FakeBlueZThread]:
    """A fresh fake BlueZ for one test, on its own thread."""
    fake = FakeBlueZThread()
    yield fake
    fake.close()
