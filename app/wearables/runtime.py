"""Bluetooth wearables for a running station (``--ble``): the manager, and a technical alarm
when Bluetooth is asked for but cannot be used."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.station import Station
from app.wearables.allow_list import AllowList
from app.wearables.manager import WearableManager
from drivers.ble.central import BleCentral

UNAVAILABLE = "BLUETOOTH_UNAVAILABLE"


def start_wearables(
    station: Station, record: Path | None, raise_technical: Callable[[str, str], None]
) -> WearableManager:
    """Start Bluetooth and connect the paired devices; a machine without Bluetooth gets the
    technical alarm (with the reason) and the station runs on without wearables."""
    manager = WearableManager(station, AllowList(record), BleCentral())
    manager.start()
    if manager.bluetooth_error is not None:
        raise_technical(UNAVAILABLE, f"BLUETOOTH UNAVAILABLE: {manager.bluetooth_error}")
    return manager
