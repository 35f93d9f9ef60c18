"""The station's event bus: driver threads put, the owner of the models drains.

Status changes, technical conditions and annotations cross from driver threads to the GUI
thread (or the headless runner) only through this queue. It is unbounded on purpose: these
events are few, and dropping one could hide a lost connection or a lead coming off.

Other threads that must see every event subscribe (the alarm engine): each subscription is
a queue of its own, fed with everything the main queue gets plus every set of readings, so
no consumer waits on another and none can miss a value between two of its ticks.
"""

from __future__ import annotations

import queue
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from drivers.base import DeviceCondition, DeviceEvent, DriverStatus, Reading

Payload = DriverStatus | DeviceCondition | DeviceEvent


@dataclass(frozen=True, slots=True)
class StationEvent:
    bed: str
    device: str  # the device's serial number
    payload: Payload

    @property
    def timestamp(self) -> float:
        return self.payload.timestamp


@dataclass(frozen=True, slots=True)
class ReadingSet:
    """Readings a device delivered together (subscribers only: the views read the stores)."""

    readings: tuple[Reading, ...]
    timestamp: float  # the newest reading's


@dataclass(frozen=True, slots=True)
class FeedItem:
    """What a subscriber receives: any event on the bus, or a set of readings."""

    bed: str
    device: str
    payload: Payload | ReadingSet
    timestamp: float  # the payload's, kept: subscribers sort by it every tick


class Subscription:
    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[FeedItem] = queue.SimpleQueue()

    def put(self, item: FeedItem) -> None:
        self._queue.put(item)

    def drain(self) -> list[FeedItem]:
        return _drain(self._queue)


class EventBus:
    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[StationEvent] = queue.SimpleQueue()
        self._subscriptions: tuple[Subscription, ...] = ()

    def subscribe(self) -> Subscription:
        """A queue of every later event and reading set; subscribe before devices start."""
        subscription = Subscription()
        # Replaced whole, never mutated: driver threads iterate without a lock.
        self._subscriptions = (*self._subscriptions, subscription)
        return subscription

    def put(self, event: StationEvent) -> None:
        self._queue.put(event)
        for subscription in self._subscriptions:
            subscription.put(FeedItem(event.bed, event.device, event.payload, event.timestamp))

    def put_readings(self, bed: str, device: str, readings: Sequence[Reading]) -> None:
        """Readings for subscribers, one item per measurement time: a batch that spans a
        stretch of signal reaches them as the values it held moment by moment."""
        if not readings or not self._subscriptions:
            return
        by_time: dict[float, list[Reading]] = {}
        for reading in readings:
            by_time.setdefault(reading.timestamp, []).append(reading)
        for stamp in sorted(by_time):
            item = FeedItem(bed, device, ReadingSet(tuple(by_time[stamp]), stamp), stamp)
            for subscription in self._subscriptions:
                subscription.put(item)

    def drain(self) -> list[StationEvent]:
        return _drain(self._queue)


T = TypeVar("T")


def _drain(source: queue.SimpleQueue[T]) -> list[T]:
    out: list[T] = []
    while True:
        try:
            out.append(source.get_nowait())
        except queue.Empty:
            return out
