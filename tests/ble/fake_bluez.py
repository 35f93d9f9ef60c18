"""A fake bluetoothd (``org.bluez``) on a private D-Bus, so that bleak's unmodified BlueZ
backend scans, connects, reads, writes and receives notifications with no radio.

Adopted from the research prototype (ble.md §2.2) and extended with the BlueZ behaviours the
drivers must survive: link loss, connect errors (``InProgress``, aborted connections),
duplicated notifications after a reconnect (bleak#2002), and a device that stays connected
but stops sending. It runs on its own loop and bus connection (:mod:`tests.ble.bluez_thread`),
as bluetoothd runs in its own process.
"""

# No `from __future__ import annotations`: dbus-fast reads a method's `-> None` as "no
# reply" only when it is the real None, not the string "None".

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from dbus_fast import BusType, DBusError, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import (
    DBusBool,
    DBusBytes,
    DBusDict,
    DBusInt16,
    DBusObjectPath,
    DBusSignature,
    DBusStr,
    DBusUInt16,
)
from dbus_fast.constants import PropertyAccess
from dbus_fast.service import ServiceInterface, dbus_method, dbus_property

from drivers.ble.profile import full_uuid

READ = PropertyAccess.READ
ADAPTER = "/org/bluez/hci0"
DBusStrings = Annotated[list[str], DBusSignature("as")]
DBusObjectPaths = Annotated[list[str], DBusSignature("ao")]
DBusManufacturer = Annotated[dict[int, Variant], DBusSignature("a{qv}")]


class Adapter1(ServiceInterface):
    def __init__(self, fake: "FakeBlueZ") -> None:
        super().__init__("org.bluez.Adapter1")
        self.fake = fake
        self.discovering = False
        self.start_calls = 0

    @dbus_property(access=READ)
    def Address(self) -> DBusStr:
        return "00:11:22:33:44:55"

    @dbus_property(access=READ)
    def AddressType(self) -> DBusStr:
        return "public"

    @dbus_property(access=READ)
    def Name(self) -> DBusStr:
        return "fake-hci0"

    @dbus_property(access=READ)
    def Alias(self) -> DBusStr:
        return "fake-hci0"

    @dbus_property(access=READ)
    def Powered(self) -> DBusBool:
        return True

    @dbus_property(access=READ)
    def Discovering(self) -> DBusBool:
        return self.discovering

    @dbus_property(access=READ)
    def Roles(self) -> DBusStrings:
        return ["central", "peripheral"]

    @dbus_property(access=READ)
    def UUIDs(self) -> DBusStrings:
        return []

    @dbus_method()
    def SetDiscoveryFilter(self, flt: DBusDict) -> None:
        pass

    @dbus_method()
    def StartDiscovery(self) -> None:
        self.start_calls += 1
        if self.fake.fail_next_discoveries > 0:
            self.fake.fail_next_discoveries -= 1
            raise DBusError("org.bluez.Error.InProgress", "Operation already in progress")
        if self.discovering:
            raise DBusError("org.bluez.Error.InProgress", "Operation already in progress")
        self.discovering = True
        self.emit_properties_changed({"Discovering": True})
        self.fake.start_advertising()

    @dbus_method()
    def StopDiscovery(self) -> None:
        if not self.discovering:
            raise DBusError("org.bluez.Error.Failed", "No discovery started")
        self.discovering = False
        self.emit_properties_changed({"Discovering": False})
        self.fake.stop_advertising()

    @dbus_method()
    def RemoveDevice(self, path: DBusObjectPath) -> None:
        self.fake.remove_device(path)

    @dbus_method()
    def GetDiscoveryFilters(self) -> DBusStrings:
        return ["UUIDs", "RSSI", "Transport", "DuplicateData"]


@dataclass
class CharSpec:
    uuid: str
    flags: list[str]
    value: bytes = b""
    # The peripheral's answer to a write (a control point), called on the fake's loop.
    on_write: Callable[["Char1", bytes], None] | None = None


@dataclass
class ServiceSpec:
    uuid: str
    chars: list[CharSpec] = field(default_factory=list)


class Device1(ServiceInterface):
    def __init__(self, fake: "FakeBlueZ", address: str, name: str, uuids: list[str]) -> None:
        super().__init__("org.bluez.Device1")
        self.fake = fake
        self.path = f"{ADAPTER}/dev_{address.replace(':', '_').upper()}"
        self.address = address.upper()
        self.name_ = name
        self.uuids = [full_uuid(u) for u in uuids]
        self.rssi = -60
        self.connected = False
        self.resolved = False
        self.services: list[ServiceSpec] = []
        self.exported: list[str] = []
        self.advertising = True
        # Connect errors to inject: (D-Bus error name, message), consumed one per attempt.
        self.connect_errors: list[tuple[str, str]] = []
        self.connects = 0  # successful connects
        self.disconnects = 0  # Disconnect calls from the central
        self.connect_delay = 0.05

    @dbus_property(access=READ)
    def Address(self) -> DBusStr:
        return self.address

    @dbus_property(access=READ)
    def AddressType(self) -> DBusStr:
        return "random"

    @dbus_property(access=READ)
    def Name(self) -> DBusStr:
        return self.name_

    @dbus_property(access=READ)
    def Alias(self) -> DBusStr:
        return self.name_

    @dbus_property(access=READ)
    def Adapter(self) -> DBusObjectPath:
        return ADAPTER

    @dbus_property(access=READ)
    def Paired(self) -> DBusBool:
        return False

    @dbus_property(access=READ)
    def Bonded(self) -> DBusBool:
        return False

    @dbus_property(access=READ)
    def Trusted(self) -> DBusBool:
        return False

    @dbus_property(access=READ)
    def Blocked(self) -> DBusBool:
        return False

    @dbus_property(access=READ)
    def LegacyPairing(self) -> DBusBool:
        return False

    @dbus_property(access=READ)
    def Connected(self) -> DBusBool:
        return self.connected

    @dbus_property(access=READ)
    def ServicesResolved(self) -> DBusBool:
        return self.resolved

    @dbus_property(access=READ)
    def RSSI(self) -> DBusInt16:
        return self.rssi

    @dbus_property(access=READ)
    def UUIDs(self) -> DBusStrings:
        return self.uuids

    @dbus_property(access=READ)
    def ManufacturerData(self) -> DBusManufacturer:
        return {}

    @dbus_property(access=READ)
    def ServiceData(self) -> DBusDict:
        return {}

    @dbus_method()
    async def Connect(self) -> None:
        if self.connected:
            raise DBusError("org.bluez.Error.AlreadyConnected", "Already Connected")
        if self.connect_errors:
            name, text = self.connect_errors.pop(0)
            if text == "le-connection-abort-by-local":
                # BlueZ 5.62+ toggles Connected, and bleak waits for that before retrying.
                self.emit_properties_changed({"Connected": True})
                self.emit_properties_changed({"Connected": False})
            raise DBusError(name, text)
        await asyncio.sleep(self.connect_delay)
        self.connected = True
        self.connects += 1
        self.emit_properties_changed({"Connected": True})
        self.fake.export_gatt(self)  # as BlueZ: the objects appear after discovery
        await asyncio.sleep(0.02)
        self.resolved = True
        self.emit_properties_changed({"ServicesResolved": True})

    @dbus_method()
    def Disconnect(self) -> None:
        self.disconnects += 1
        if self.connected:
            self.fake.drop_link(self.address)

    @dbus_method()
    def Pair(self) -> None:
        raise DBusError("org.bluez.Error.NotSupported", "fake")


class Service1(ServiceInterface):
    def __init__(self, uuid: str, device_path: str) -> None:
        super().__init__("org.bluez.GattService1")
        self.uuid = full_uuid(uuid)
        self.device_path = device_path

    @dbus_property(access=READ)
    def UUID(self) -> DBusStr:
        return self.uuid

    @dbus_property(access=READ)
    def Primary(self) -> DBusBool:
        return True

    @dbus_property(access=READ)
    def Device(self) -> DBusObjectPath:
        return self.device_path

    @dbus_property(access=READ)
    def Includes(self) -> DBusObjectPaths:
        return []


class Char1(ServiceInterface):
    def __init__(self, spec: CharSpec, service_path: str, device: Device1) -> None:
        super().__init__("org.bluez.GattCharacteristic1")
        self.uuid = full_uuid(spec.uuid)
        self.service_path = service_path
        self.flags = list(spec.flags)
        self.value = spec.value
        self.device = device
        self.notifying = False
        self.writes: list[bytes] = []
        self.on_write = spec.on_write

    @dbus_property(access=READ)
    def UUID(self) -> DBusStr:
        return self.uuid

    @dbus_property(access=READ)
    def Service(self) -> DBusObjectPath:
        return self.service_path

    @dbus_property(access=READ)
    def Flags(self) -> DBusStrings:
        return self.flags

    @dbus_property(access=READ)
    def Value(self) -> DBusBytes:
        return self.value

    @dbus_property(access=READ)
    def Notifying(self) -> DBusBool:
        return self.notifying

    @dbus_property(access=READ)
    def MTU(self) -> DBusUInt16:
        return 247

    @dbus_method()
    def ReadValue(self, options: DBusDict) -> DBusBytes:
        if "read" not in self.flags:
            raise DBusError("org.bluez.Error.NotPermitted", "Read not permitted")
        return self.value

    @dbus_method()
    def WriteValue(self, value: DBusBytes, options: DBusDict) -> None:
        self.writes.append(bytes(value))
        if self.on_write is not None:
            self.on_write(self, bytes(value))

    @dbus_method()
    def StartNotify(self) -> None:
        if not self.notifying:
            self.notifying = True
            self.emit_properties_changed({"Notifying": True})

    @dbus_method()
    def StopNotify(self) -> None:
        self.notifying = False
        self.emit_properties_changed({"Notifying": False})
        self.device.fake.stale[(self.device.address, self.uuid)] = 0

    def notify(self, data: bytes, copies: int = 1) -> None:
        """The peripheral sends a notification (BlueZ: PropertiesChanged on Value)."""
        self.value = bytes(data)
        if self.notifying:
            for _ in range(copies):
                self.emit_properties_changed({"Value": self.value})


class FakeBlueZ:
    """The fake daemon. Every method runs on the fake's own loop."""

    def __init__(self) -> None:
        self.bus: MessageBus | None = None
        self.adapter = Adapter1(self)
        self.devices: dict[str, Device1] = {}
        self.chars: dict[tuple[str, str], Char1] = {}
        self.fail_next_discoveries = 0
        # BlueZ's duplicate bug: on the n-th connection each notification arrives n times,
        # unless the central called StopNotify before the link went (ble.md §2.4).
        self.duplicate_after_reconnect = False
        # Subscriptions left behind by links that dropped while notifying, per characteristic.
        self.stale: dict[tuple[str, str], int] = {}
        self._adv_task: asyncio.Task[None] | None = None

    async def start(self) -> "FakeBlueZ":
        self.bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
        self.bus.export(ADAPTER, self.adapter)
        await self.bus.request_name("org.bluez")
        return self

    def close(self) -> None:
        self.stop_advertising()
        if self.bus is not None:
            self.bus.disconnect()

    def _bus(self) -> MessageBus:
        if self.bus is None:
            raise RuntimeError("the fake BlueZ is not started")
        return self.bus

    def add_device(self, address: str, name: str, services: list[ServiceSpec]) -> Device1:
        device = Device1(self, address, name, [s.uuid for s in services])
        device.services = services
        self.devices[device.address] = device
        self._bus().export(device.path, device)
        return device

    def export_gatt(self, device: Device1) -> None:
        handle = 0x000A
        for service in device.services:
            service_path = f"{device.path}/service{handle:04x}"
            self._bus().export(service_path, Service1(service.uuid, device.path))
            device.exported.append(service_path)
            handle += 1
            for spec in service.chars:
                path = f"{service_path}/char{handle:04x}"
                key = (device.address, full_uuid(spec.uuid))
                char = self.chars.get(key) or Char1(spec, service_path, device)
                self.chars[key] = char
                char.notifying = False
                self._bus().export(path, char)
                device.exported.append(path)
                handle += 3

    def char(self, address: str, uuid: str) -> Char1:
        return self.chars[(address.upper(), full_uuid(uuid))]

    def notify(self, address: str, uuid: str, data: bytes) -> None:
        key = (address.upper(), full_uuid(uuid))
        copies = 1 + self.stale.get(key, 0) if self.duplicate_after_reconnect else 1
        self.chars[key].notify(data, copies)

    def drop_link(self, address: str) -> None:
        """Link loss, as BlueZ reports it: ServicesResolved off, Connected off, objects gone."""
        device = self.devices[address.upper()]
        if not device.connected:
            raise DBusError("org.bluez.Error.NotConnected", "Not Connected")
        for char in self.chars.values():
            if char.device is device and char.notifying:
                key = (device.address, char.uuid)
                self.stale[key] = self.stale.get(key, 0) + 1
        device.resolved = False
        device.emit_properties_changed({"ServicesResolved": False})
        device.connected = False
        device.emit_properties_changed({"Connected": False})
        for path in reversed(device.exported):
            self._bus().unexport(path)
        device.exported.clear()

    def remove_device(self, path: str) -> None:
        for address, device in list(self.devices.items()):
            if device.path == path:
                del self.devices[address]
                self._bus().unexport(path)

    def start_advertising(self) -> None:
        if self._adv_task is None:
            self._adv_task = asyncio.get_running_loop().create_task(self._advertise())

    def stop_advertising(self) -> None:
        if self._adv_task is not None:
            self._adv_task.cancel()
            self._adv_task = None

    async def _advertise(self) -> None:
        # bleak reports a device only on a change while discovering: re-send its RSSI.
        while True:
            for device in list(self.devices.values()):
                if not device.connected and device.advertising:
                    device.emit_properties_changed({"RSSI": device.rssi})
            await asyncio.sleep(0.1)
