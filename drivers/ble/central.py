"""The Bluetooth LE central of the station: the shared loop and the one scanner.

Every wearable driver runs its supervisor on this loop and connects through this scanner.
Starting it never raises: a machine without Bluetooth (no adapter, no BlueZ, no system bus)
gets :attr:`BleCentral.error` in words, which the station shows, and runs on without it.
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from collections.abc import Callable

from drivers.ble.loop import BleLoop, BleLoopError
from drivers.ble.scanner import Advert, ScannerError, SharedScanner

log = logging.getLogger(__name__)

START_TIMEOUT = 10.0  # s for BlueZ to answer the first scan


class BleCentral:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.loop = BleLoop()
        self.scanner = SharedScanner(clock)
        self.error: str | None = None

    def start(self) -> bool:
        """Start the loop and the scan; False (with :attr:`error`) when Bluetooth is absent."""
        self.loop.start()
        try:
            self.loop.submit(self.scanner.start()).result(START_TIMEOUT)
        except (ScannerError, BleLoopError) as exc:
            self.error = str(exc)
        except concurrent.futures.TimeoutError:
            self.error = f"Bluetooth did not answer within {START_TIMEOUT:.0f} s"
        except (OSError, KeyError, ValueError) as exc:
            # dbus-fast raises these when there is no system bus or no adapter object.
            self.error = f"Bluetooth unavailable: {exc}"
        else:
            self.error = None
            return True
        log.error("%s", self.error)
        return False

    @property
    def available(self) -> bool:
        return self.error is None and self.loop.running

    def adverts(self) -> list[Advert]:
        """Devices heard recently, strongest first (any thread)."""
        return self.scanner.snapshot()

    def stop(self, timeout: float = 5.0) -> bool:
        if not self.loop.running:
            return self.loop.stop(timeout)
        try:
            self.loop.submit(self.scanner.stop()).result(timeout / 2)
        except (concurrent.futures.TimeoutError, BleLoopError, OSError) as exc:
            log.warning("Bluetooth scan did not stop: %s", exc)
        return self.loop.stop(timeout / 2)
