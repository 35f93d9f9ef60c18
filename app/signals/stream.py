"""A device attached to a bed: the sink its driver writes into, and what views read from.

Waveforms land in ring buffers, marks (beat labels) in a store of the last minute per channel,
numerics in a store of latest readings; status changes, technical conditions and annotations go
on the station's bus for the model owner to apply.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from app.bus import EventBus, StationEvent
from app.signals.marks import MarkStore
from app.signals.numerics import NumericStore
from app.signals.ring_buffer import RingBuffer
from app.signals.tap import SampleTap
from drivers.base import (
    DeviceCondition,
    DeviceDescription,
    DeviceEvent,
    Driver,
    DriverStatus,
    Mark,
    NibpControl,
    Reading,
    SampleBlock,
)

HISTORY_SECONDS = 60.0  # enough for the widest sweep at the slowest speed
CONDITION_CHANGES_KEPT = 64  # per code: a consumer far behind the driver can still ask


class DeviceStream:
    def __init__(
        self,
        bed_label: str,
        driver: Driver,
        bus: EventBus,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bed_label = bed_label
        self._clock = clock
        self.driver = driver
        self.description: DeviceDescription = driver.describe()
        self.serial = self.description.info.serial
        self._bus = bus
        self.buffers: dict[str, RingBuffer] = {
            spec.key: RingBuffer(spec.sample_rate, HISTORY_SECONDS)
            for spec in self.description.channels
        }
        self._marks = {spec.key: MarkStore(HISTORY_SECONDS) for spec in self.description.channels}
        self.numerics = NumericStore(clock)
        self._lock = threading.Lock()
        self._status = driver.status
        self._status_received_at = clock()
        self._last_data_at: float | None = None  # station time the last block or reading came
        self._conditions: dict[str, DeviceCondition] = {}
        self._condition_changes: dict[str, deque[DeviceCondition]] = {}
        self._last_events: dict[str, DeviceEvent] = {}  # by kind, e.g. the NIBP cycle
        self._unknown_channel_samples = 0
        self._taps: dict[str, tuple[SampleTap, ...]] = {}
        self._unknown_channel_marks = 0
        self._reading_taps: tuple[queue.SimpleQueue[tuple[Reading, ...]], ...] = ()

    # -- SampleSink, called on the driver's thread ---------------------------------------------

    def write_samples(self, channel: str, samples: SampleBlock, t_first: float) -> None:
        buffer = self.buffers.get(channel)
        if buffer is None:  # a driver bug; counted as dropped so it shows in the statistics
            with self._lock:
                self._unknown_channel_samples += len(samples)
            return
        buffer.write(samples, t_first)
        for tap in self._taps.get(channel, ()):
            tap.put(samples, t_first)
        self._mark_data()

    def add_tap(self, channel: str, tap: SampleTap) -> None:
        """Copy every later block of ``channel`` into ``tap`` (e.g. for analysis)."""
        if channel not in self.buffers:
            raise KeyError(f"{self.serial} has no channel {channel!r}")
        # Replaced whole, never mutated: the driver thread iterates without a lock.
        self._taps = {**self._taps, channel: (*self._taps.get(channel, ()), tap)}

    def add_reading_tap(self, tap: queue.SimpleQueue[tuple[Reading, ...]]) -> None:
        """Copy every later set of readings into ``tap`` (e.g. RR intervals for analysis)."""
        self._reading_taps = (*self._reading_taps, tap)  # replaced whole, as the sample taps

    def write_marks(self, channel: str, marks: Sequence[Mark]) -> None:
        store = self._marks.get(channel)
        if store is None:  # a driver bug, counted like samples for an unknown channel
            with self._lock:
                self._unknown_channel_marks += len(marks)
            return
        store.add(marks)

    def write_readings(self, readings: Sequence[Reading]) -> None:
        self.numerics.put_many(readings)
        self._bus.put_readings(self.bed_label, self.serial, readings)
        for tap in self._reading_taps:
            tap.put(tuple(readings))
        if not self.description.channels:  # a numerics-only device: readings are its data
            self._mark_data()

    def _mark_data(self) -> None:
        now = self._clock()
        with self._lock:
            self._last_data_at = now

    def write_status(self, status: DriverStatus) -> None:
        with self._lock:
            self._status = status
            self._status_received_at = self._clock()
        self._bus.put(StationEvent(self.bed_label, self.serial, status))

    def write_condition(self, condition: DeviceCondition) -> None:
        with self._lock:
            self._conditions[condition.code] = condition
            changes = self._condition_changes.setdefault(
                condition.code, deque(maxlen=CONDITION_CHANGES_KEPT)
            )
            changes.append(condition)
        self._bus.put(StationEvent(self.bed_label, self.serial, condition))

    def write_event(self, event: DeviceEvent) -> None:
        with self._lock:
            self._last_events[event.kind] = event
        self._bus.put(StationEvent(self.bed_label, self.serial, event))

    # -- readers, any thread -------------------------------------------------------------------

    @property
    def status(self) -> DriverStatus:
        with self._lock:
            return self._status

    def data_age(self, now: float) -> float:
        """Seconds since data last arrived, or since the status last changed if later: a
        device that reconnects is not silent for having been silent while it was away."""
        with self._lock:
            since = self._status_received_at
            if self._last_data_at is not None:
                since = max(since, self._last_data_at)
        return max(0.0, now - since)

    def newest_sample_time(self) -> float | None:
        """Device time of the newest waveform sample received, None before the first."""
        ends = [t for t in (b.t_end for b in self.buffers.values()) if t is not None]
        return max(ends) if ends else None

    def marks(self, channel: str, t_from: float, t_to: float) -> list[Mark]:
        """The marks of a channel with ``t_from <= timestamp < t_to`` (the last minute is
        kept), oldest first."""
        store = self._marks.get(channel)
        return store.between(t_from, t_to) if store is not None else []

    @property
    def marks_dropped(self) -> int:
        """Marks lost inside the station: for an unknown channel, or beyond a full store."""
        with self._lock:
            unknown = self._unknown_channel_marks
        return unknown + sum(store.overflow for store in self._marks.values())

    def last_event(self, kind: str) -> DeviceEvent | None:
        with self._lock:
            return self._last_events.get(kind)

    def condition_active_at(self, code: str, t: float) -> bool:
        """Whether condition ``code`` was active at device time ``t``: for a consumer that
        runs behind the driver (headless analysis), which must not see the future."""
        with self._lock:
            changes = list(self._condition_changes.get(code, ()))
        active = False
        for change in changes:
            if change.timestamp > t:
                break
            active = change.active
        return active

    @property
    def active_conditions(self) -> list[DeviceCondition]:
        with self._lock:
            return [c for c in self._conditions.values() if c.active]

    @property
    def simulated(self) -> bool:
        return self.description.info.simulated

    @property
    def samples_received(self) -> int:
        return sum(b.stats.received for b in self.buffers.values())

    @property
    def samples_dropped(self) -> int:
        """Samples lost inside the station: blocks too big for a buffer, unknown channels."""
        dropped = sum(b.stats.overflow for b in self.buffers.values())
        with self._lock:
            return dropped + self._unknown_channel_samples

    @property
    def samples_missing(self) -> int:
        """Samples the device never delivered (dropouts), shown as gaps."""
        return sum(b.stats.gap_samples for b in self.buffers.values())

    @property
    def clock_slips(self) -> int:
        """Blocks whose timestamps went backwards: the device's clock is not to be trusted."""
        return sum(b.stats.clock_slips for b in self.buffers.values())

    def can_start_nibp(self) -> bool:
        return isinstance(self.driver, NibpControl)

    def request_nibp(self) -> None:
        if not isinstance(self.driver, NibpControl):
            raise TypeError(f"device {self.serial} has no NIBP cuff")
        self.driver.request_nibp()

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self.driver.start(self)

    def stop(self, timeout: float = 2.0) -> bool:
        """Idempotent; ``stop(0)`` only asks the driver to stop."""
        return self.driver.stop(timeout)
