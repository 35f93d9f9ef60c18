"""The one small driver protocol that every device kind implements.

A driver describes what it measures, then pushes into a :class:`SampleSink`: waveform blocks,
numeric readings (value, unit, timestamp, quality), its connection status, technical conditions
such as a lead coming off, annotations, and marks (labels at instants of a waveform, such as
beat labels). Drivers know nothing of Qt or of ``app``; the station implements the sink
(dependency inversion), so the same driver runs under the GUI and headless.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

SampleBlock = npt.NDArray[np.float32]


class Quality(enum.Enum):
    """How far a reading can be trusted."""

    VALID = "valid"
    QUESTIONABLE = "questionable"  # measured, but the device doubts it (weak signal, motion)
    INVALID = "invalid"  # the device tried and could not measure (no pulse, failed cuff)
    UNAVAILABLE = "unavailable"  # nothing to measure with (probe off, lead off, not connected)


class ColourRole(enum.Enum):
    """Which parameter family a channel belongs to; the view maps it to a colour."""

    ECG = "ecg"
    PLETH = "pleth"
    RESP = "resp"
    NIBP = "nibp"
    TEMP = "temp"
    DEVICE = "device"


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """Metadata of one waveform channel."""

    key: str  # stable within the device, e.g. "ECG_II"
    label: str  # shown on screen, e.g. "II"
    unit: str  # UCUM, e.g. "mV"
    sample_rate: float  # Hz
    gain: float  # ADC counts per unit (the WFDB convention); used to store samples as int16
    colour_role: ColourRole
    display_range: tuple[float, float]  # nominal physical range, for scaling a trace


@dataclass(frozen=True, slots=True)
class NumericSpec:
    """Metadata of one numeric parameter."""

    code: str  # "HR", "SPO2", "NIBP_SYS", ...
    label: str  # "HR", "SpO2", ...
    unit: str  # UCUM: "/min", "%", "mm[Hg]", "Cel"
    display_unit: str  # what a clinician reads: "bpm", "%", "mmHg", "°C"
    colour_role: ColourRole
    stale_after: float  # seconds without a new value before the value is shown as stale
    decimals: int = 0


@dataclass(frozen=True, slots=True)
class Reading:
    """One numeric measurement. ``value`` is None when there is nothing to show."""

    code: str
    value: float | None
    unit: str
    timestamp: float  # seconds since the epoch, when it was measured
    quality: Quality
    message: str = ""  # why a value is missing or doubtful, in words


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    kind: str  # "simulator", "replay", "ble", ...
    manufacturer: str
    model: str
    serial: str
    simulated: bool  # the UI marks every simulated device as SIMULATED


@dataclass(frozen=True, slots=True)
class DeviceDescription:
    info: DeviceInfo
    channels: tuple[ChannelSpec, ...]
    numerics: tuple[NumericSpec, ...]
    # How far behind real time a display should sweep so that blocks arrive before the sweep
    # reaches them; a device that sends large, late packets needs more.
    display_latency: float
    # False for a device that sends only when it has measured (a BP cuff, a thermometer): its
    # silence between measurements is not a fault.
    continuous: bool = True


class DriverState(enum.Enum):
    STOPPED = "stopped"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class DriverStatus:
    state: DriverState
    timestamp: float
    message: str = ""


@dataclass(frozen=True, slots=True)
class DeviceCondition:
    """A technical condition the device reports, e.g. ``ECG_LEAD_OFF`` becoming active."""

    code: str
    active: bool
    timestamp: float
    message: str


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """An annotation from the device: a scenario timeline step, an NIBP cycle starting, ..."""

    kind: str  # "scenario", "nibp", ...
    name: str
    timestamp: float


@dataclass(frozen=True, slots=True)
class Mark:
    """A label at one instant of a waveform channel: a beat symbol, a rhythm change, ...

    Marks come from the device (a replayed record's reference annotations) or from analysis;
    views draw them at their time on the channel's trace.
    """

    timestamp: float  # seconds since the epoch, the time of the sample it marks
    label: str  # e.g. "N", "V", "(AFIB"


# Annotations of kind "nibp": a cuff measurement starting and ending.
NIBP_STARTED = "NIBP measurement started"
NIBP_DONE = "NIBP measurement done"


class SampleSink(Protocol):
    """Where a driver delivers. Called from the driver's own thread; must not block for long."""

    def write_samples(self, channel: str, samples: SampleBlock, t_first: float) -> None:
        """A block of consecutive samples; ``t_first`` is the time of the first one."""

    def write_readings(self, readings: Sequence[Reading]) -> None:
        """Readings measured together (one NIBP cycle, one second's numerics) in one call, so
        that nobody sees half of a set."""

    def write_status(self, status: DriverStatus) -> None: ...

    def write_condition(self, condition: DeviceCondition) -> None: ...

    def write_event(self, event: DeviceEvent) -> None: ...

    def write_marks(self, channel: str, marks: Sequence[Mark]) -> None:
        """Marks on one waveform channel, in time order, written when their samples are."""


class Driver(Protocol):
    """What every device kind implements."""

    @property
    def kind(self) -> str: ...

    @property
    def status(self) -> DriverStatus: ...

    def describe(self) -> DeviceDescription: ...

    def start(self, sink: SampleSink) -> None:
        """Begin delivering to ``sink`` from the driver's own thread or loop."""

    def stop(self, timeout: float = 2.0) -> bool:
        """Stop and release the device; True when everything ended within ``timeout``.

        Idempotent: ``stop(0)`` only asks, a later ``stop(t)`` waits, so a station can ask
        every device first and then wait for them together.
        """


@runtime_checkable
class NibpControl(Protocol):
    """Capability: a device with a cuff that can start a measurement on demand."""

    def request_nibp(self) -> None: ...
