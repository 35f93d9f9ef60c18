"""A Bluetooth LE wearable as a station driver (the one :class:`drivers.base.Driver` protocol).

What it measures comes from its profiles, chosen from the services it advertised when it was
paired; its supervisor runs on the central's loop and writes into the bed's sink.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from drivers.base import DeviceDescription, DeviceInfo, DriverState, DriverStatus, SampleSink
from drivers.ble.central import BleCentral
from drivers.ble.loop import BleLoopError
from drivers.ble.profile import Profile
from drivers.ble.supervisor import DeviceSupervisor, SupervisorConfig

log = logging.getLogger(__name__)

KIND = "ble"


@dataclass(frozen=True, slots=True)
class Wearable:
    """A paired device: what the allow-list stores about it."""

    address: str  # upper case, "A0:9E:1A:00:00:01"
    name: str
    service_uuids: tuple[str, ...]  # as advertised when paired, 128-bit lower case


class BleDriver:
    def __init__(
        self,
        central: BleCentral,
        wearable: Wearable,
        profiles: Sequence[Profile],
        config: SupervisorConfig | None = None,
    ) -> None:
        self._central = central
        self.wearable = wearable
        self._profiles = tuple(profiles)
        self._config = config
        self._supervisor: DeviceSupervisor | None = None
        self._task: asyncio.Task[None] | None = None
        self._halting: concurrent.futures.Future[None] | None = None
        self._status = DriverStatus(DriverState.STOPPED, central.clock())

    @property
    def kind(self) -> str:
        return KIND

    @property
    def status(self) -> DriverStatus:
        supervisor = self._supervisor
        return supervisor.status if supervisor is not None else self._status

    @property
    def supervisor(self) -> DeviceSupervisor | None:
        return self._supervisor

    def describe(self) -> DeviceDescription:
        info = DeviceInfo(KIND, _maker(self.wearable.name), self.wearable.name or "BLE device",
                          self.wearable.address, simulated=False)  # fmt: skip
        channels = tuple(c for p in self._profiles for c in p.channels)
        numerics = tuple(n for p in self._profiles for n in p.numerics)
        continuous = any(s.period is not None for p in self._profiles for s in p.subscriptions)
        # ECG frames come 0.56 s apart and late: the sweep runs a little behind.
        latency = 1.2 if channels else 0.5
        return DeviceDescription(info, channels, numerics, latency, continuous=continuous)

    def start(self, sink: SampleSink) -> None:
        if self._task is not None:
            return
        if not self._central.available:
            self._status = DriverStatus(
                DriverState.FAILED, self._central.clock(), self._central.error or "no Bluetooth"
            )
            sink.write_status(self._status)
            return
        w = self.wearable
        self._supervisor = DeviceSupervisor(
            w.address, w.name, self._profiles, self._central.scanner, sink,
            config=self._config, clock=self._central.clock,
        )  # fmt: skip
        try:
            self._task = self._central.loop.submit(_spawn(self._supervisor)).result()
        except BleLoopError as exc:
            self._status = DriverStatus(DriverState.FAILED, self._central.clock(), str(exc))
            self._supervisor = None
            sink.write_status(self._status)

    def stop(self, timeout: float = 2.0) -> bool:
        """Cancel the supervisor; its clean-up stops notifications and disconnects."""
        task = self._task
        if task is None:
            return True
        if self._halting is None:
            try:
                self._halting = self._central.loop.submit(_halt(task))
            except BleLoopError:
                return task.done()  # the loop is gone, and the task with it
        if timeout <= 0:
            return self._halting.done()
        try:
            self._halting.result(timeout)
        except concurrent.futures.TimeoutError:
            return False
        except Exception:
            log.exception("Bluetooth device %s failed while stopping", self.wearable.address)
        return True


async def _spawn(supervisor: DeviceSupervisor) -> asyncio.Task[None]:
    return asyncio.get_running_loop().create_task(
        supervisor.run(), name=f"ble-{supervisor.address}"
    )


async def _halt(task: asyncio.Task[None]) -> None:
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():  # we were cancelled ourselves, not just the task
            raise


def _maker(name: str) -> str:
    """The manufacturer, where the advertised name gives it away."""
    first = name.split(" ", 1)[0] if name else ""
    return first if first in {"Polar", "Garmin", "Wahoo", "Nonin", "Omron", "Withings"} else ""
