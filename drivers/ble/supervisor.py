"""Keeps one wearable connected and streaming, for as long as it is wanted.

The state machine of ble.md §6.2: wait for an advertisement → connect (one at a time, scan
paused, bleak-retry-connector's retries) → subscribe and prepare each profile → stream, with a
data watchdog per continuous characteristic → on any loss, release the link, say why, back off
with jitter and start again. Every change reaches the sink as a status or a condition, so the
station shows a lost or silent sensor; nothing is dropped without a trace.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError
from bleak_retry_connector import BleakClientWithServiceCache, establish_connection

from drivers.base import DeviceCondition, DriverState, DriverStatus, SampleSink
from drivers.ble.backoff import Backoff
from drivers.ble.dedup import NotificationDeduplicator
from drivers.ble.profile import Output, Profile, ProfileError, Subscription
from drivers.ble.scanner import SharedScanner

log = logging.getLogger(__name__)

# Conditions this driver reports (drivers.base.DeviceCondition codes).
NO_DATA = "BLE_NO_DATA"
BAD_DATA = "BLE_BAD_DATA"
LINK_ERRORS = (BleakError, TimeoutError, OSError, EOFError)
LINK_LOST = "link lost"
EPISODIC_PAUSE = 2.0  # s before a device that hung up after measuring is looked for again


@dataclass(frozen=True, slots=True)
class SupervisorConfig:
    advert_wait: float = 10.0  # s per wait for an advertisement before saying so again
    connect_attempts: int = 4  # bleak-retry-connector's max_attempts per cycle
    stall_periods: float = 5.0  # missed periods before a stream counts as stalled
    min_stall: float = 5.0  # s: never call a stream stalled sooner
    release_timeout: float = 3.0  # s for stop_notify and disconnect on the way out
    backoff_first: float = 1.0
    backoff_cap: float = 30.0


class _Link:
    """The connection as profiles see it (the :class:`Gatt` protocol)."""

    def __init__(self, client: BleakClient) -> None:
        self.client = client

    async def read(self, uuid: str) -> bytes:
        return bytes(await self.client.read_gatt_char(uuid))

    async def write(self, uuid: str, data: bytes) -> None:
        await self.client.write_gatt_char(uuid, data, response=True)

    def has(self, uuid: str) -> bool:
        return self.client.services.get_characteristic(uuid) is not None

    def can_notify(self, uuid: str) -> bool:
        char = self.client.services.get_characteristic(uuid)
        return char is not None and bool({"notify", "indicate"} & set(char.properties))


class DeviceSupervisor:
    def __init__(
        self,
        address: str,
        name: str,
        profiles: Sequence[Profile],
        scanner: SharedScanner,
        sink: SampleSink,
        *,
        config: SupervisorConfig | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.address = address.upper()
        self.name = name
        self._profiles = tuple(profiles)
        self._scanner = scanner
        self._sink = sink
        self._config = config or SupervisorConfig()
        self._clock = clock
        self._backoff = Backoff(self._config.backoff_first, self._config.backoff_cap)
        self._dedup = NotificationDeduplicator()
        self._owner: dict[str, Profile] = {}  # characteristic UUID -> the profile it feeds
        self._last_data: dict[str, float] = {}  # characteristic UUID -> monotonic time
        self._lost: asyncio.Event | None = None
        self._conditions: dict[str, bool] = {}
        self.connections = 0  # successful connects, for the panel and the tests
        self.status = DriverStatus(DriverState.STOPPED, clock())

    # -- the cycle ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Until cancelled; cancelling releases the link and reports STOPPED."""
        try:
            while True:
                try:
                    reason, streamed = await self._cycle()
                except Exception as exc:
                    # A fault of ours or an error type bleak did not document: shown as
                    # FAILED on the bed, and the device is tried again.
                    log.exception("Bluetooth supervisor of %s failed", self.address)
                    delay = self._backoff.next_delay()
                    self._set_status(DriverState.FAILED, f"{exc}; retrying in {delay:.0f} s")
                    await asyncio.sleep(delay)
                    continue
                if not self.continuous and reason == LINK_LOST:
                    # A cuff or a thermometer hangs up once it has sent its records.
                    self._backoff.streamed(float("inf"))
                    self._set_status(DriverState.DISCONNECTED, "idle until the next measurement")
                    await asyncio.sleep(EPISODIC_PAUSE)
                    continue
                self._backoff.streamed(streamed)
                delay = self._backoff.next_delay()
                self._set_status(DriverState.DISCONNECTED, f"{reason}; retrying in {delay:.0f} s")
                await asyncio.sleep(delay)
        finally:
            self._set_status(DriverState.STOPPED, "")

    async def _cycle(self) -> tuple[str, float]:
        """One connect-stream-release round: why it ended, and for how long it streamed."""
        device = await self._await_advert()
        client: BleakClient | None = None
        started: float | None = None
        try:
            self._lost = asyncio.Event()
            async with self._scanner.connecting():
                self._set_status(DriverState.CONNECTING, "connecting")
                client = await establish_connection(
                    BleakClientWithServiceCache,
                    device,
                    self.name or self.address,
                    disconnected_callback=self._disconnected,
                    max_attempts=self._config.connect_attempts,
                    ble_device_callback=lambda: self._scanner.latest(self.address) or device,
                )
            self.connections += 1
            await self._subscribe(client)
            self._set_status(DriverState.CONNECTED, "")
            started = time.monotonic()
            reason = await self._watch()
        except ProfileError as exc:
            reason = str(exc)
        except LINK_ERRORS as exc:
            reason = _describe(exc)
        finally:
            await self._release(client)
        streamed = time.monotonic() - started if started is not None else 0.0
        log.info("%s (%s): %s", self.name, self.address, reason)
        return reason, streamed

    async def _await_advert(self) -> BLEDevice:
        since = self._clock() - 5.0  # an advertisement seen just now will do
        waited = 0.0
        while True:
            message = "waiting for the device to advertise"
            if waited:
                message += f" (not heard for {waited:.0f} s)"
            self._set_status(DriverState.CONNECTING, message)
            device = await self._scanner.wait_for(self.address, since, self._config.advert_wait)
            if device is not None:
                return device
            waited += self._config.advert_wait

    async def _subscribe(self, client: BleakClient) -> None:
        link = _Link(client)
        self._owner.clear()
        self._last_data.clear()
        self._dedup.reset()
        now = time.monotonic()
        for profile in self._profiles:
            profile.reset()
            present = [s for s in profile.subscriptions if link.has(s.uuid)]
            if not present:
                if profile.required:
                    raise ProfileError(f"{self.name} offers no {profile.name} data")
                continue
            for sub in present:
                self._owner[sub.uuid] = profile
                if not link.can_notify(sub.uuid):
                    continue  # read in prepare (a battery level without notifications)
                if sub.period is not None:
                    self._last_data[sub.uuid] = now
                await client.start_notify(sub.uuid, self._notified)
            self._emit(await profile.prepare(link, self._clock()))

    async def _watch(self) -> str:
        """Until the link drops or a continuous stream stalls; returns why."""
        lost = self._lost
        if lost is None:
            raise RuntimeError("watch without a connection")
        periods = {s.uuid: s.period for p in self._profiles for s in p.subscriptions}
        while True:
            try:
                await asyncio.wait_for(lost.wait(), 0.5)
            except TimeoutError:
                pass
            else:
                return LINK_LOST
            now = time.monotonic()
            for uuid, last in self._last_data.items():
                period = periods.get(uuid)
                if period is None:
                    continue
                limit = max(self._config.min_stall, self._config.stall_periods * period)
                if now - last > limit:
                    text = f"{self.name}: no data for {now - last:.0f} s, reconnecting"
                    self._condition(NO_DATA, True, text)
                    return f"no data for {now - last:.0f} s"

    async def _release(self, client: BleakClient | None) -> None:
        """Stop notifications (so BlueZ does not duplicate them next time) and disconnect."""
        for profile in self._profiles:
            profile.reset()
        if client is None:
            return
        timeout = self._config.release_timeout
        if client.is_connected:
            for uuid in self._notifying(client):
                try:
                    await asyncio.wait_for(client.stop_notify(uuid), timeout)
                except (*LINK_ERRORS, KeyError) as exc:
                    log.debug("stop_notify %s on %s: %s", uuid, self.address, exc)
        try:
            await asyncio.wait_for(client.disconnect(), timeout)
        except LINK_ERRORS as exc:
            log.warning("%s (%s) did not disconnect cleanly: %s", self.name, self.address, exc)

    def _notifying(self, client: BleakClient) -> list[str]:
        link = _Link(client)
        return [uuid for uuid in self._owner if link.can_notify(uuid)]

    # -- callbacks on the loop ---------------------------------------------------------------

    def _disconnected(self, _client: BleakClient) -> None:
        if self._lost is not None:
            self._lost.set()

    def _notified(self, char: BleakGATTCharacteristic, data: bytearray) -> None:
        uuid = char.uuid.lower()
        payload = bytes(data)
        now = self._clock()
        if not self._dedup.is_new(uuid, payload, now):
            return
        profile = self._owner.get(uuid)
        if profile is None:
            return
        if uuid in self._last_data:
            self._last_data[uuid] = time.monotonic()
            self._condition(NO_DATA, False, "")
        try:
            output = profile.on_notify(uuid, payload, now)
        except ValueError as exc:
            # Shown, never silently dropped: a device sending garbage must be seen.
            self._condition(BAD_DATA, True, f"{self.name}: unreadable {profile.name} data: {exc}")
            log.warning("%s: bad %s notification %s: %s", self.address, uuid, payload.hex(), exc)
            return
        except Exception as exc:
            log.exception("%s: %s notification %s not handled", self.address, uuid, payload.hex())
            self._condition(BAD_DATA, True, f"{self.name}: {profile.name} data not handled: {exc}")
            return
        self._condition(BAD_DATA, False, "")
        self._emit(output)

    # -- to the sink -------------------------------------------------------------------------

    def _emit(self, output: Output) -> None:
        for channel, samples, t_first in output.samples:
            self._sink.write_samples(channel, samples, t_first)
        if output.readings:
            self._sink.write_readings(output.readings)
        for condition in output.conditions:
            self._condition(condition.code, condition.active, condition.message)

    def _condition(self, code: str, active: bool, message: str) -> None:
        if self._conditions.get(code, False) == active:
            return
        self._conditions[code] = active
        self._sink.write_condition(DeviceCondition(code, active, self._clock(), message))

    def _set_status(self, state: DriverState, message: str) -> None:
        if self.status.state is state and self.status.message == message:
            return
        self.status = DriverStatus(state, self._clock(), message)
        self._sink.write_status(self.status)

    @property
    def continuous(self) -> bool:
        """Whether any of its streams is expected to flow all the time."""
        return any(s.period is not None for s in self.subscriptions)

    @property
    def dropped_duplicates(self) -> int:
        return self._dedup.dropped

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        return tuple(s for p in self._profiles for s in p.subscriptions)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"connection failed: {text}" if not isinstance(exc, TimeoutError) else "timed out"
