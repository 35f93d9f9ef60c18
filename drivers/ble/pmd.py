"""Polar Measurement Data (PMD): the Polar H10's ECG stream.

Protocol (Polar BLE SDK): enable indications on the control point and notifications on the data
characteristic, then write :func:`start_ecg` to the control point. The sensor indicates a
response (``F0 op type status more params…``, :func:`parse_control_point`), may later indicate
``01 <types…>`` when it stops a stream on its own (:class:`MeasurementStopped`), and notifies
data frames: ``type, uint64 timestamp, frame type, samples…`` (:func:`decode_frame`).

Frame timestamps are ns since 2000-01-01T00:00:00Z of the *last* sample of the frame, on the
sensor's own clock (which resets to 2019-01-01 when the H10 powers down); :class:`EcgSampleClock`
spreads them over the samples, :func:`polar_to_unix` converts them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from drivers.ble.numbers import Reader

SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
CONTROL_POINT_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

POLAR_EPOCH_UNIX_S = 946_684_800  # 2000-01-01T00:00:00Z
NS = 1_000_000_000


class MeasurementType(enum.IntEnum):
    ECG = 0
    PPG = 1
    ACC = 2
    PPI = 3
    GYRO = 5
    MAGNETOMETER = 6
    SKIN_TEMP = 7
    SDK_MODE = 9
    LOCATION = 10
    PRESSURE = 11
    TEMPERATURE = 12
    OFFLINE_RECORDING = 13
    OFFLINE_HR = 14


class OpCode(enum.IntEnum):
    GET_MEASUREMENT_SETTINGS = 0x01
    REQUEST_MEASUREMENT_START = 0x02
    STOP_MEASUREMENT = 0x03


STATUS_TEXT = (
    "success",
    "invalid op code",
    "invalid measurement type",
    "not supported",
    "invalid length",
    "invalid parameter",
    "already in state",
    "invalid resolution",
    "invalid sample rate",
    "invalid range",
    "invalid MTU",
    "invalid number of channels",
    "invalid state",
    "device in charger",
    "disk full",
)
RESPONSE = 0xF0
ONLINE_MEASUREMENT_STOPPED = 0x01
_TYPE_MASK = 0x3F  # the top bits of a type byte mark offline recording
_SAMPLE_RATE, _RESOLUTION = 0x00, 0x01
NAME_CP, NAME_DATA = "PMD control point", "PMD data"


def type_name(code: int) -> str:
    try:
        return MeasurementType(code & _TYPE_MASK).name
    except ValueError:
        return f"unknown type {code & _TYPE_MASK}"


def _setting(kind: int, value: int) -> bytes:
    """One settings TLV: type, count 1, uint16 value."""
    if not 0 <= value <= 0xFFFF:
        raise ValueError(f"PMD setting {kind}: {value} is not a uint16")
    return bytes([kind, 1]) + value.to_bytes(2, "little")


def get_settings(measurement: MeasurementType = MeasurementType.ECG) -> bytes:
    return bytes([OpCode.GET_MEASUREMENT_SETTINGS, measurement])


def start_ecg(sample_rate: int = 130, resolution: int = 14) -> bytes:
    """``02 00 00 01 82 00 01 01 0E 00`` for the H10's only ECG setting (130 Hz, 14 bit)."""
    header = bytes([OpCode.REQUEST_MEASUREMENT_START, MeasurementType.ECG])
    return header + _setting(_SAMPLE_RATE, sample_rate) + _setting(_RESOLUTION, resolution)


def stop_ecg() -> bytes:
    return bytes([OpCode.STOP_MEASUREMENT, MeasurementType.ECG])


@dataclass(frozen=True, slots=True)
class ControlPointResponse:
    """The sensor's answer to a command written to the control point."""

    op_code: int
    measurement_type: int
    status: int
    more: bool = False  # further indications carry more parameters
    params: bytes = b""

    @property
    def ok(self) -> bool:
        return self.status == 0

    @property
    def status_text(self) -> str:
        if self.status < len(STATUS_TEXT):
            return STATUS_TEXT[self.status]
        return f"unknown status {self.status}"


@dataclass(frozen=True, slots=True)
class MeasurementStopped:
    """The sensor ended these streams on its own (e.g. strap off): restart them."""

    measurement_types: tuple[int, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(type_name(code) for code in self.measurement_types)


def parse_control_point(data: bytes) -> ControlPointResponse | MeasurementStopped:
    """An indication from the control point; ValueError when it is neither kind."""
    reader = Reader(data, NAME_CP)
    kind = reader.u8("response code")
    if kind == ONLINE_MEASUREMENT_STOPPED:
        return MeasurementStopped(tuple(code & _TYPE_MASK for code in reader.rest()))
    if kind != RESPONSE:
        raise reader.error(f"first byte 0x{kind:02X} is neither a response (0xF0) nor 0x01")
    op_code = reader.u8("op code")
    measurement = reader.u8("measurement type")
    status = reader.u8("status")
    # As the SDK: only a success carries the "more" byte and parameters.
    more = bool(reader.u8("more")) if status == 0 and reader.remaining else False
    params = reader.rest() if status == 0 else b""
    return ControlPointResponse(op_code, measurement & _TYPE_MASK, status, more, params)


def parse_features(data: bytes) -> frozenset[str]:
    """The measurement types a sensor offers, from a read of the control point.

    Byte 0 is a header; bit n of the following bytes (little-endian) is measurement type n.
    """
    reader = Reader(data, NAME_CP + " features")
    reader.u8("header")
    mask = reader.uint(1, "features")
    if reader.remaining:
        mask |= reader.u8("more features") << 8
    return frozenset(kind.name for kind in MeasurementType if mask >> kind & 1)


@dataclass(frozen=True, slots=True)
class EcgFrame:
    timestamp_ns: int  # of the last sample, ns since 2000-01-01 on the sensor clock
    samples_uv: tuple[int, ...]
    frame_type: int = 0


def decode_frame(data: bytes, name: str = NAME_DATA) -> EcgFrame:
    """An uncompressed type-0 ECG frame (the H10's): µV as int24. ValueError for anything else."""
    reader = Reader(data, name)
    measurement = reader.u8("measurement type") & _TYPE_MASK
    timestamp = reader.uint(8, "timestamp")
    frame_type = reader.u8("frame type")
    if measurement != MeasurementType.ECG:
        raise reader.error(f"{type_name(measurement)} frames are not supported, only ECG")
    if frame_type & 0x80:
        raise reader.error("compressed (delta) ECG frames are not supported")
    if frame_type != 0:
        raise reader.error(f"ECG frame type {frame_type} is not supported, only type 0")
    payload = reader.rest()
    if not payload or len(payload) % 3:
        raise reader.error(f"ECG payload of {len(payload)} bytes is not whole int24 samples")
    samples = tuple(
        int.from_bytes(payload[i : i + 3], "little", signed=True) for i in range(0, len(payload), 3)
    )
    return EcgFrame(timestamp, samples, frame_type)


def frame_fields(data: bytes, name: str) -> dict[str, object]:
    """:func:`decode_frame` as the dict :func:`drivers.ble.gatt.decode` returns."""
    frame = decode_frame(data, name)
    return {
        "measurement_type": MeasurementType.ECG.name,
        "timestamp_ns": frame.timestamp_ns,
        "frame_type": frame.frame_type,
        "samples_uv": list(frame.samples_uv),
    }


def polar_to_unix(polar_ns: int) -> float:
    """Sensor time (ns since 2000-01-01 UTC) as Unix seconds."""
    return (polar_ns + POLAR_EPOCH_UNIX_S * NS) / NS


class EcgSampleClock:
    """Per-sample timestamps for the consecutive frames of one stream (Polar SDK algorithm).

    The first frame spreads its samples back from its timestamp at the nominal rate; later frames
    spread them evenly between the previous frame's timestamp and their own, so the sensor's real
    rate (±2 % of nominal) is followed. Unlike the SDK, a frame that is not after the previous
    one (a duplicate, a clock reset) or whose spacing is off the nominal by more than
    ``tolerance`` (frames lost in between) starts afresh like a first frame, so that a gap shows
    as a gap instead of stretching the samples over it.
    """

    def __init__(self, sample_rate: float = 130.0, tolerance: float = 0.25) -> None:
        if not sample_rate > 0 or not 0 < tolerance < 1:
            raise ValueError(
                f"need sample_rate > 0 and 0 < tolerance < 1, not {sample_rate}, {tolerance}"
            )
        self._nominal = NS / sample_rate
        self._tolerance = tolerance
        self._previous: int | None = None

    def reset(self) -> None:
        """Forget the previous frame (a new stream, a reconnect)."""
        self._previous = None

    def timestamps(self, last_sample_ns: int, count: int) -> list[int]:
        """The time of each of ``count`` samples, ns on the sensor clock; the last is exact."""
        if count < 1:
            raise ValueError(f"a frame has at least one sample, not {count}")
        previous, self._previous = self._previous, last_sample_ns
        start, step = last_sample_ns - self._nominal * (count - 1), self._nominal
        if previous is not None and last_sample_ns > previous:
            delta = (last_sample_ns - previous) / count
            if abs(delta - self._nominal) <= self._tolerance * self._nominal:
                start, step = previous + delta, delta
        return [round(start + step * k) for k in range(count - 1)] + [last_sample_ns]
