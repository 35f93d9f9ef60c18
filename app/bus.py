"""The station's event bus: driver threads put, the owner of the models drains.

Status changes, technical conditions and annotations cross from driver threads to the GUI
thread (or the headless runner) only through this queue. It is unbounded on purpose: these
events are few, and dropping one could hide a lost connection or a lead coming off.
"""

from __future__ import annotations

import queue
from dataclasses import dataclass

from drivers.base import DeviceCondition, DeviceEvent, DriverStatus

Payload = DriverStatus | DeviceCondition | DeviceEvent


@dataclass(frozen=True, slots=True)
class StationEvent:
    bed: str
    device: str  # the device's serial number
    payload: Payload

    @property
    def timestamp(self) -> float:
        return self.payload.timestamp


class EventBus:
    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[StationEvent] = queue.SimpleQueue()

    def put(self, event: StationEvent) -> None:
        self._queue.put(event)

    def drain(self) -> list[StationEvent]:
        out: list[StationEvent] = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out
