"""The one long-lived scanner: what is advertising, and a lock that serialises connects.

A second scanner in the same process gets ``org.bluez.Error.InProgress`` and connecting while
scanning makes BlueZ fail or time out (ble.md §6.1.2-3), so every connect goes through
:meth:`SharedScanner.connecting`, which pauses the scan for the connect and resumes it after.
All methods but :meth:`snapshot` run on the Bluetooth loop.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError

log = logging.getLogger(__name__)

START_ATTEMPTS = 5
FORGET_AFTER = 120.0  # s without an advertisement before a device leaves the list


@dataclass(frozen=True, slots=True)
class Advert:
    """The latest advertisement of one device."""

    address: str
    name: str
    rssi: int
    service_uuids: tuple[str, ...]  # 128-bit, lower case
    seen_at: float  # wall-clock seconds


class ScannerError(RuntimeError):
    """Scanning could not start (no adapter, BlueZ not running, discovery stuck)."""


class SharedScanner:
    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        on_advert: Callable[[Advert], None] | None = None,
    ) -> None:
        self._clock = clock
        self._on_advert = on_advert
        self._scanner: BleakScanner | None = None
        self._adverts: dict[str, Advert] = {}
        self._devices: dict[str, BLEDevice] = {}
        self._lock = threading.Lock()  # guards _adverts for readers on other threads
        self._connect_lock: asyncio.Lock | None = None
        self._fresh: asyncio.Event | None = None  # made on the loop, in start()
        self._scanning = False
        self._wanted = False  # started by the owner (a pause resumes only then)
        self.error: str | None = None

    # -- scanning ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start scanning, retrying ``InProgress`` with a short backoff; raises ScannerError."""
        self._connect_lock = self._connect_lock or asyncio.Lock()
        self._fresh = self._fresh or asyncio.Event()
        self._wanted = True
        await self._start_scanning()

    async def _start_scanning(self) -> None:
        if self._scanning:
            return
        last: Exception | None = None
        for attempt in range(START_ATTEMPTS):
            scanner = BleakScanner(detection_callback=self._detected)
            try:
                await scanner.start()
            except (BleakError, OSError, TimeoutError) as exc:
                last = exc
                log.warning("Bluetooth scan did not start (attempt %d): %s", attempt + 1, exc)
                await asyncio.sleep(0.5 + random.random() * 0.5)
                continue
            self._scanner, self._scanning, self.error = scanner, True, None
            return
        self.error = f"Bluetooth scanning failed: {last}"
        raise ScannerError(self.error) from last

    async def _stop_scanning(self) -> None:
        scanner, self._scanner, self._scanning = self._scanner, None, False
        if scanner is None:
            return
        try:
            await scanner.stop()
        except (BleakError, OSError, TimeoutError) as exc:
            # The adapter may be gone; the next start reports that. Not fatal to a stop.
            log.warning("Bluetooth scan did not stop cleanly: %s", exc)

    async def stop(self) -> None:
        self._wanted = False
        await self._stop_scanning()

    def _detected(self, device: BLEDevice, adv: AdvertisementData) -> None:
        advert = Advert(
            address=device.address.upper(),
            name=adv.local_name or device.name or "",
            rssi=adv.rssi,
            service_uuids=tuple(u.lower() for u in adv.service_uuids),
            seen_at=self._clock(),
        )
        self._devices[advert.address] = device
        with self._lock:
            self._adverts[advert.address] = advert
        if self._fresh is not None:
            self._fresh.set()
        if self._on_advert is not None:
            self._on_advert(advert)

    # -- what is around ----------------------------------------------------------------------

    def snapshot(self) -> list[Advert]:
        """Devices heard in the last ``FORGET_AFTER`` s, strongest first (any thread)."""
        now = self._clock()
        with self._lock:
            adverts = [a for a in self._adverts.values() if now - a.seen_at <= FORGET_AFTER]
        return sorted(adverts, key=lambda a: -a.rssi)

    def latest(self, address: str) -> BLEDevice | None:
        return self._devices.get(address.upper())

    def seen_since(self, address: str, since: float) -> BLEDevice | None:
        """The device, if it advertised at or after ``since`` (wall clock)."""
        with self._lock:
            advert = self._adverts.get(address.upper())
        if advert is None or advert.seen_at < since:
            return None
        return self._devices.get(advert.address)

    async def wait_for(self, address: str, since: float, patience: float) -> BLEDevice | None:
        """Wait up to ``patience`` s for an advertisement of ``address`` at or after ``since``."""
        deadline = asyncio.get_running_loop().time() + patience
        while True:
            found = self.seen_since(address, since)
            if found is not None:
                return found
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0 or self._fresh is None:
                return None
            self._fresh.clear()
            try:
                await asyncio.wait_for(self._fresh.wait(), remaining)
            except TimeoutError:
                return None

    # -- connects ----------------------------------------------------------------------------

    @asynccontextmanager
    async def connecting(self) -> AsyncIterator[None]:
        """One connect at a time, with the scan paused (resumed after, if it was wanted)."""
        if self._connect_lock is None:
            self._connect_lock = asyncio.Lock()
        async with self._connect_lock:
            await self._stop_scanning()
            try:
                yield
            finally:
                if self._wanted:
                    try:
                        await self._start_scanning()
                    except ScannerError:
                        log.exception("Bluetooth scanning did not resume after a connect")
