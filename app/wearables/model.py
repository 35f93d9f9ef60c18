"""What the device panel shows and asks for (Qt-free): one row per wearable, heard or paired.

The panel reads :meth:`WearableControl.rows` on its own timer and calls the commands; the
manager does the Bluetooth work off the GUI thread and never blocks the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from drivers.base import DriverState


@dataclass(frozen=True, slots=True)
class WearableRow:
    address: str  # "A0:9E:1A:00:00:10"
    name: str  # as advertised, "" when it has none
    kind: str  # what Vigil takes from it, e.g. "heart rate, Polar ECG"; "not supported"
    supported: bool  # whether pairing it gives the station anything
    rssi: int | None  # dBm of the last advertisement, None when not heard recently
    seen_ago: float | None  # s since the last advertisement, None when never heard
    paired: bool  # on the allow-list: connected automatically
    bed: str | None  # the bed it feeds, None when paired but not assigned
    state: DriverState | None  # of its driver while assigned, None otherwise
    status: str  # the driver's message ("waiting for the device to advertise", ...)


class WearableError(RuntimeError):
    """A command that cannot be done (unknown device, unknown bed, Bluetooth off)."""


class WearableControl(Protocol):
    @property
    def bluetooth_error(self) -> str | None:
        """Why Bluetooth is unavailable (no adapter, no BlueZ), or None when it works."""

    @property
    def allow_list_error(self) -> str | None:
        """Why the allow-list cannot be saved (it then lasts only this session), or None."""

    def rows(self) -> list[WearableRow]:
        """Paired devices first (by bed, then name), then the others heard, strongest first."""

    def beds(self) -> list[str]:
        """Bed labels a wearable can be assigned to."""

    def pair(self, address: str, bed: str) -> None:
        """Put a heard device on the allow-list and connect it to ``bed``; WearableError."""

    def assign(self, address: str, bed: str | None) -> None:
        """Move a paired device to another bed (None: keep it paired, connect it nowhere)."""

    def forget(self, address: str) -> None:
        """Disconnect it, take it off its bed and off the allow-list."""
