"""A scripted WearableControl for GUI tests: rows the test sets, commands it records."""

from __future__ import annotations

import dataclasses

from app.wearables.model import WearableError, WearableRow
from drivers.base import DriverState


def row(
    address: str,
    name: str = "",
    *,
    kind: str = "heart rate",
    supported: bool = True,
    rssi: int | None = -60,
    seen_ago: float | None = 1.0,
    paired: bool = False,
    bed: str | None = None,
    state: DriverState | None = None,
    status: str = "",
) -> WearableRow:
    return WearableRow(address, name, kind, supported, rssi, seen_ago, paired, bed, state, status)


# A small ward's wearables, as the manager would list them (paired first, then by RSSI).
POLAR = row("A0:9E:1A:00:00:10", "Polar H10 8C4D2E21", kind="heart rate, Polar ECG",
            rssi=-58, seen_ago=0.4, paired=True, bed="Bed 01",
            state=DriverState.CONNECTED, status="streaming ECG at 130 Hz")  # fmt: skip
OXIMETER = row("00:A0:50:12:34:56", "Nonin 3230", kind="SpO2, pulse rate",
               rssi=-71, seen_ago=2.0, paired=True, bed="Bed 02",
               state=DriverState.CONNECTING, status="connecting (attempt 2 of 5)")  # fmt: skip
CUFF = row("EC:21:E5:00:41:7B", "A&D UA-651BLE", kind="blood pressure",
           rssi=-84, seen_ago=35.0, paired=True, bed="Bed 03",
           state=DriverState.DISCONNECTED,
           status="waiting for the cuff to advertise (it does after a measurement)")  # fmt: skip
THERMOMETER = row("D4:36:39:AA:01:02", "TEMP-TH1", kind="temperature", rssi=-66,
                  seen_ago=1.0)  # fmt: skip
UNSUPPORTED = row("F0:99:B6:3C:00:01", "Galaxy Buds2", kind="not supported", supported=False,
                  rssi=-49, seen_ago=0.2)  # fmt: skip
BEDS = ["Bed 01", "Bed 02", "Bed 03", "Bed 04"]


class FakeWearables:
    """Implements :class:`app.wearables.model.WearableControl` without Bluetooth.

    Commands are recorded in ``calls``; set ``fail_with`` to make the next command raise
    :class:`WearableError` with that message.
    """

    def __init__(self, rows: list[WearableRow] | None = None) -> None:
        self.bluetooth_error: str | None = None
        self.allow_list_error: str | None = None
        self.current = list(rows or [])
        self.bed_labels = list(BEDS)
        self.calls: list[tuple[str, str, str | None]] = []
        self.fail_with: str | None = None
        self.rows_read = 0

    def rows(self) -> list[WearableRow]:
        self.rows_read += 1
        return list(self.current)

    def beds(self) -> list[str]:
        return list(self.bed_labels)

    def pair(self, address: str, bed: str) -> None:
        self._command("pair", address, bed)
        self._update(address, True, bed, DriverState.CONNECTING)

    def assign(self, address: str, bed: str | None) -> None:
        self._command("assign", address, bed)
        self._update(address, True, bed, DriverState.CONNECTING if bed is not None else None)

    def forget(self, address: str) -> None:
        self._command("forget", address, None)
        self._update(address, False, None, None)

    def _command(self, name: str, address: str, bed: str | None) -> None:
        self.calls.append((name, address, bed))
        if self.fail_with is not None:
            message, self.fail_with = self.fail_with, None
            raise WearableError(message)

    def _update(
        self, address: str, paired: bool, bed: str | None, state: DriverState | None
    ) -> None:
        self.current = [
            dataclasses.replace(r, paired=paired, bed=bed, state=state, status="")
            if r.address == address
            else r
            for r in self.current
        ]
