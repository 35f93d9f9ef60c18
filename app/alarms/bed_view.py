"""The alarm engine's own picture of each bed, built only from what it received in time order.

The engine reads no view state and no store that drivers may have written past the moment it
judges: every reading, status, condition and analysis event reaches it through its
subscription to the station bus, stamped with its time, and is applied when the engine's
clock passes that time. Headless at full speed (beds run ahead of one another) that keeps
alarm times exact; live, the clock is the wall clock and nothing waits.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from app.bus import FeedItem, ReadingSet
from drivers.base import (
    DeviceCondition,
    DeviceDescription,
    DeviceEvent,
    DriverState,
    DriverStatus,
    Quality,
    Reading,
)

EVENTS_KEPT = 32  # ectopy events per bed: far more than arrive between two ticks


DEFAULT_STALE_AFTER = 10.0  # s, for a reading the device did not describe


@dataclass(slots=True)
class DeviceView:
    serial: str
    description: DeviceDescription
    derived: bool  # Vigil's own analysis of the bed's waves
    status: DriverStatus
    conditions: dict[str, DeviceCondition] = field(default_factory=dict)
    readings: dict[str, Reading] = field(default_factory=dict)
    newest_reading: float | None = None  # device time of the newest reading
    stale_limits: dict[str, float] = field(default_factory=dict)
    # When silence is timed from (with the newest data): the device's first status, or when
    # it last connected or lost its connection. Changes while it is away (retrying, waiting
    # for an advertisement) do not restart it, so a device that keeps retrying reaches NO DATA.
    quiet_from: float = 0.0

    def __post_init__(self) -> None:
        self.stale_limits = {n.code: n.stale_after for n in self.description.numerics}
        self.quiet_from = self.status.timestamp

    def stale_after(self, code: str) -> float:
        return self.stale_limits.get(code, DEFAULT_STALE_AFTER)

    @property
    def has_waveforms(self) -> bool:
        return bool(self.description.channels)

    @property
    def connected(self) -> bool:
        return self.status.state is DriverState.CONNECTED


@dataclass(frozen=True, slots=True)
class Value:
    """A current, trustworthy reading, or why there is none."""

    value: float | None
    timestamp: float
    quality: Quality
    device: str


@dataclass(slots=True)
class BedView:
    label: str
    devices: dict[str, DeviceView] = field(default_factory=dict)
    ordered: list[DeviceView] = field(default_factory=list)  # Vigil's analysis first
    rhythm: str = "LEARNING"
    rhythm_since: float = 0.0
    ectopy: deque[tuple[float, str]] = field(default_factory=lambda: deque(maxlen=EVENTS_KEPT))

    def add_device(self, device: DeviceView) -> None:
        self.devices[device.serial] = device
        self._reorder()

    def remove_device(self, serial: str) -> None:
        """A device taken off the bed: its values and conditions no longer count."""
        self.devices.pop(serial, None)
        self._reorder()

    def _reorder(self) -> None:
        self.ordered = sorted(self.devices.values(), key=lambda d: not d.derived)

    def apply(self, item: FeedItem) -> None:
        device = self.devices.get(item.device)
        if device is None:
            return  # a device attached after the engine last looked; picked up next tick
        payload = item.payload
        if isinstance(payload, ReadingSet):
            for reading in payload.readings:
                device.readings[reading.code] = reading
            newest = device.newest_reading
            device.newest_reading = (
                payload.timestamp if newest is None else max(newest, payload.timestamp)
            )
        elif isinstance(payload, DriverStatus):
            # Into or out of CONNECTED (or stopped) restarts the silence; retry churn does not.
            changed = (payload.state is DriverState.CONNECTED) != device.connected
            if changed or payload.state is DriverState.STOPPED:
                device.quiet_from = payload.timestamp
            device.status = payload
        elif isinstance(payload, DeviceCondition):
            device.conditions[payload.code] = payload
        elif isinstance(payload, DeviceEvent) and device.derived:
            if payload.kind == "rhythm":
                self.rhythm, self.rhythm_since = payload.name, payload.timestamp
            elif payload.kind == "ectopy":
                self.ectopy.append((payload.timestamp, payload.name))

    def value(self, code: str, now: float) -> Value | None:
        """The freshest reading of ``code`` from the device that measures it (Vigil's own
        analysis first), or None when no device reports it; a value older than its
        parameter's limit counts as no value."""
        for device in self.ordered:
            reading = device.readings.get(code)
            if reading is None:
                continue
            if now - reading.timestamp > device.stale_after(code) or not device.connected:
                return Value(None, reading.timestamp, Quality.UNAVAILABLE, device.serial)
            return Value(reading.value, reading.timestamp, reading.quality, device.serial)
        return None

    def measures(self, code: str) -> bool:
        return any(
            any(n.code == code for n in d.description.numerics) for d in self.devices.values()
        )
