"""Pairs wearables to beds and keeps the allow-listed ones connected (the panel's model).

Commands come from the GUI thread and never wait on Bluetooth: attaching starts a driver
whose supervisor connects in the background; detaching asks it to stop and returns.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

from app.signals.stream import DeviceStream
from app.station import Station
from app.wearables.allow_list import AllowList, Paired
from app.wearables.model import WearableError, WearableRow
from drivers.ble.catalog import kind_of, profiles_for, supported
from drivers.ble.central import BleCentral
from drivers.ble.driver import BleDriver, Wearable
from drivers.ble.scanner import Advert
from drivers.ble.supervisor import SupervisorConfig

log = logging.getLogger(__name__)


class WearableManager:
    def __init__(
        self,
        station: Station,
        allow_list: AllowList,
        central: BleCentral,
        config: SupervisorConfig | None = None,
    ) -> None:
        self._station = station
        self._allow = allow_list
        self._central = central
        self._config = config
        self._streams: dict[str, DeviceStream] = {}  # address -> its stream on a bed

    def start(self) -> None:
        """Start Bluetooth and connect every paired device that has a bed."""
        self._central.start()
        for paired in self._allow.entries():
            if paired.bed is not None and paired.bed in self.beds():
                self._attach(paired.wearable, paired.bed)

    def stop(self, timeout: float = 5.0) -> bool:
        """After the station stopped its devices: the scan and the Bluetooth loop."""
        stopped = self._central.stop(timeout)
        self._allow.close()
        return stopped

    # -- WearableControl -----------------------------------------------------------------

    @property
    def bluetooth_error(self) -> str | None:
        return self._central.error

    @property
    def allow_list_error(self) -> str | None:
        return self._allow.error

    def beds(self) -> list[str]:
        return [bed.label for bed in self._station.ward.beds if not bed.subject]

    def rows(self) -> list[WearableRow]:
        heard = {a.address: a for a in self._central.adverts()}
        now = self._central.clock()
        rows = [self._row(p.wearable, heard.get(p.wearable.address), p, now)
                for p in self._allow.entries()]  # fmt: skip
        paired = {r.address for r in rows}
        for advert in heard.values():  # strongest first, as the scanner lists them
            if advert.address not in paired:
                wearable = Wearable(advert.address, advert.name, advert.service_uuids)
                rows.append(self._row(wearable, advert, None, now))
        return rows

    def pair(self, address: str, bed: str) -> None:
        address = address.upper()
        advert = next((a for a in self._central.adverts() if a.address == address), None)
        if advert is None:
            raise WearableError(f"{address} is not advertising: switch it on and bring it near")
        if not supported(advert.service_uuids, advert.name):
            raise WearableError(f"{advert.name or address} offers nothing Vigil can use")
        self._check_bed(bed)
        if self._allow.get(address) is not None:
            raise WearableError(f"{advert.name or address} is already paired")
        wearable = Wearable(address, advert.name, advert.service_uuids)
        self._save(lambda: self._allow.add(wearable, bed))
        self._attach(wearable, bed)

    def assign(self, address: str, bed: str | None) -> None:
        paired = self._paired(address)
        if bed is not None:
            self._check_bed(bed)
        self._save(lambda: self._allow.assign(paired.wearable.address, bed))
        self._detach(paired.wearable.address)
        if bed is not None:
            self._attach(paired.wearable, bed)

    def forget(self, address: str) -> None:
        paired = self._paired(address)
        self._detach(paired.wearable.address)
        self._save(lambda: self._allow.remove(paired.wearable.address))

    # -- inside ----------------------------------------------------------------------------

    def _row(
        self, wearable: Wearable, advert: Advert | None, paired: Paired | None, now: float
    ) -> WearableRow:
        stream = self._streams.get(wearable.address)
        status = stream.status if stream is not None else None
        return WearableRow(
            address=wearable.address,
            name=wearable.name,
            kind=kind_of(wearable.name, wearable.service_uuids),
            supported=supported(wearable.service_uuids, wearable.name),
            rssi=advert.rssi if advert is not None else None,
            seen_ago=max(0.0, now - advert.seen_at) if advert is not None else None,
            paired=paired is not None,
            bed=paired.bed if paired is not None else None,
            state=status.state if status is not None else None,
            status=status.message if status is not None else "",
        )

    def _attach(self, wearable: Wearable, bed: str) -> None:
        profiles = profiles_for(wearable.name, wearable.service_uuids)
        driver = BleDriver(self._central, wearable, profiles, self._config)
        self._streams[wearable.address] = self._station.attach(bed, driver)

    def _detach(self, address: str) -> None:
        stream = self._streams.pop(address, None)
        if stream is not None:
            self._station.detach(stream, timeout=0.0)  # it disconnects in the background

    def _paired(self, address: str) -> Paired:
        paired = self._allow.get(address)
        if paired is None:
            raise WearableError(f"{address} is not paired")
        return paired

    def _check_bed(self, bed: str) -> None:
        if bed not in self.beds():
            raise WearableError(f"there is no bed {bed!r} to assign to")

    @staticmethod
    def _save(change: Callable[[], object]) -> None:
        """Apply a change to the allow-list; a record that refuses it is the user's error."""
        try:
            change()
        except sqlite3.Error as exc:
            log.exception("the allow-list could not be saved")
            raise WearableError(f"the allow-list could not be saved: {exc}") from exc
