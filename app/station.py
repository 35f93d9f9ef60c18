"""The station engine: a ward, the devices attached to its beds, and the event bus.

It runs the same under the GUI and headless (``main.py simulate``). The owner of the models
(the GUI thread, or the headless runner) calls :meth:`Station.poll` to apply what drivers put
on the bus; nothing here waits on a view.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from app.bus import EventBus, StationEvent
from app.model.events import Emitter
from app.model.ward import Ward
from app.signals.stream import DeviceStream
from drivers.base import Driver

log = logging.getLogger(__name__)


class Station:
    def __init__(self, ward: Ward, clock: Callable[[], float] = time.time) -> None:
        self.ward = ward
        self.clock = clock
        self.bus = EventBus()
        self.events: Emitter[StationEvent] = Emitter()
        self._devices: list[DeviceStream] = []
        self._running = False
        # A device attached or detached while the station runs (wearables come and go).
        self.attached: Emitter[DeviceStream] = Emitter()
        self.detached: Emitter[DeviceStream] = Emitter()

    def attach(self, bed_label: str, driver: Driver) -> DeviceStream:
        stream = DeviceStream(bed_label, driver, self.bus, self.clock)
        self.ward.bed(bed_label).attach(stream)
        self._devices.append(stream)
        self.attached.emit(stream)  # taps (analysis, record) go on before data flows
        if self._running:
            stream.start()
        return stream

    def detach(self, stream: DeviceStream, timeout: float = 3.0) -> bool:
        """Stop a device and take it off its bed (a wearable moved or forgotten); True when
        it stopped within ``timeout``. Its bed's views and the alarm engine drop it."""
        stopped = stream.stop(timeout)
        if stream in self._devices:
            self._devices.remove(stream)
            bed = self.ward.bed(stream.bed_label)
            if stream in bed.devices:
                bed.detach(stream)
        self.detached.emit(stream)
        return stopped

    @property
    def devices(self) -> tuple[DeviceStream, ...]:
        return tuple(self._devices)

    def start(self) -> None:
        self._running = True
        for device in self._devices:
            device.start()

    def stop(self, timeout: float = 3.0) -> list[str]:
        """Stop every device; returns the serials of those that did not stop in time."""
        self._running = False
        for device in self._devices:  # ask them all first, so they stop together
            device.stop(0.0)
        deadline = time.monotonic() + timeout
        stuck = [
            d.serial for d in self._devices if not d.stop(max(0.0, deadline - time.monotonic()))
        ]
        for serial in stuck:
            log.error("device %s did not stop within %.1f s", serial, timeout)
        return stuck

    def poll(self) -> list[StationEvent]:
        """Hand what drivers reported since the last poll to the station's subscribers.

        Called every frame by the GUI and often by the headless runner, so the queue stays
        short whoever listens (today the runner; the alarm engine and storage next)."""
        drained = self.bus.drain()
        for event in drained:
            self.events.emit(event)
        return drained

    @property
    def samples_received(self) -> int:
        return sum(d.samples_received for d in self._devices)

    @property
    def samples_dropped(self) -> int:
        return sum(d.samples_dropped for d in self._devices)

    @property
    def samples_missing(self) -> int:
        return sum(d.samples_missing for d in self._devices)

    @property
    def clock_slips(self) -> int:
        return sum(d.clock_slips for d in self._devices)
