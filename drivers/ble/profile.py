"""What every wearable profile provides: its numbers and channels, the characteristics to
subscribe to, and how one notification becomes readings, samples and conditions.

A profile is pure: it turns bytes into driver outputs and knows nothing of bleak, so each is
tested with byte vectors. The supervisor owns the connection and calls it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from drivers.base import ChannelSpec, DeviceCondition, NumericSpec, Reading, SampleBlock
from drivers.ble.gatt import full_uuid

__all__ = ["full_uuid"]  # the 128-bit form profiles and the fake BlueZ name things by

T = TypeVar("T")
ANSWER_WITHIN = 10.0  # s for a control point to answer a command


async def command(gatt: Gatt, uuid: str, data: bytes, answer: asyncio.Future[T], what: str) -> T:
    """Write a control-point command and wait for the indication that answers it (the
    profile's notification handler resolves ``answer``); ProfileError when none comes."""
    await gatt.write(uuid, data)
    try:
        return await asyncio.wait_for(answer, ANSWER_WITHIN)
    except TimeoutError:
        raise ProfileError(f"{what} was not answered within {ANSWER_WITHIN:.0f} s") from None


@dataclass(frozen=True, slots=True)
class Subscription:
    """A characteristic to subscribe to after connecting."""

    uuid: str  # 128-bit, lower case
    # Seconds between notifications of a healthy stream; the watchdog reconnects after a few
    # missed. None: the device sends when it has measured (a cuff, a thermometer).
    period: float | None


@dataclass(slots=True)
class Output:
    """What one notification becomes."""

    readings: list[Reading] = field(default_factory=list)
    samples: list[tuple[str, SampleBlock, float]] = field(default_factory=list)
    conditions: list[DeviceCondition] = field(default_factory=list)


class Gatt(Protocol):
    """The connection as a profile sees it while preparing the stream."""

    async def read(self, uuid: str) -> bytes: ...

    async def write(self, uuid: str, data: bytes) -> None: ...

    def has(self, uuid: str) -> bool: ...


class ProfileError(RuntimeError):
    """The device refused or cannot do what the profile needs (clear text for the screen)."""


class Profile(Protocol):
    @property
    def service_uuid(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def numerics(self) -> tuple[NumericSpec, ...]: ...

    @property
    def channels(self) -> tuple[ChannelSpec, ...]: ...

    @property
    def subscriptions(self) -> tuple[Subscription, ...]: ...

    @property
    def required(self) -> bool:
        """Whether the device is useless without it (a missing battery service is not)."""

    async def prepare(self, gatt: Gatt, now: float) -> Output:
        """After subscribing: reads and control-point writes (start the ECG stream)."""

    def on_notify(self, uuid: str, data: bytes, now: float) -> Output:
        """One notification or indication; raises ValueError on malformed data."""

    def reset(self) -> None:
        """The link was lost: forget per-connection state (clocks, pending commands)."""
