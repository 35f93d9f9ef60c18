"""The number formats of Bluetooth SIG health characteristics, and a bounds-checked reader.

* SFLOAT (medfloat16) and FLOAT (medfloat32), IEEE 11073-20601: mantissa·10^exponent. The
  exponent is kept as ``decimals`` because it is the device's precision (2 vs 2.0 vs 2.00),
  and the reserved codes (NaN, NRes, ±INF, reserved) decode to *no value* with a reason,
  never to a number.
* Date Time (7 bytes), where year, month or day 0 means "not known".
* CRC-16/MCRF4XX, the CGM end-to-end CRC.
* :class:`Reader`, a little-endian cursor whose ValueError names the characteristic, the field,
  and how many bytes were needed and present.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# The reserved codes with exponent 0 (the full 16-/32-bit values), by name.
SFLOAT_SPECIALS = {
    0x07FF: "NaN",
    0x0800: "NRes",
    0x07FE: "+INF",
    0x0802: "-INF",
    0x0801: "reserved",
}
FLOAT_SPECIALS = {
    0x007FFFFF: "NaN",
    0x00800000: "NRes",
    0x007FFFFE: "+INF",
    0x00800002: "-INF",
    0x00800001: "reserved",
}


@dataclass(frozen=True, slots=True)
class MedFloat:
    """A decoded SFLOAT/FLOAT: mantissa·10^exponent, or no value and the reason why."""

    mantissa: int
    exponent: int
    special: str | None = None  # "NaN", "NRes", "+INF", "-INF" or "reserved"

    @property
    def value(self) -> float | None:
        """The number, correctly rounded (int/int division, not a float power); None if special."""
        if self.special is not None:
            return None
        scale = int(10 ** abs(self.exponent))
        return float(self.mantissa * scale) if self.exponent >= 0 else self.mantissa / scale

    @property
    def decimals(self) -> int:
        """Digits after the decimal point that the device meant: its precision."""
        return 0 if self.special is not None else max(0, -self.exponent)

    def scaled(self, power: int) -> MedFloat:
        """The same measurement times 10^power (a unit change); a special stays special."""
        if self.special is not None:
            return self
        return MedFloat(self.mantissa, self.exponent + power)


def _signed(raw: int, bits: int) -> int:
    return raw - (1 << bits) if raw & (1 << (bits - 1)) else raw


def decode_sfloat(raw: int) -> MedFloat:
    """A 16-bit SFLOAT as an unsigned integer (already assembled little-endian)."""
    return MedFloat(_signed(raw & 0x0FFF, 12), _signed(raw >> 12, 4), SFLOAT_SPECIALS.get(raw))


def decode_float(raw: int) -> MedFloat:
    """A 32-bit FLOAT as an unsigned integer (already assembled little-endian)."""
    return MedFloat(_signed(raw & 0xFFFFFF, 24), _signed(raw >> 24, 8), FLOAT_SPECIALS.get(raw))


@dataclass(frozen=True, slots=True)
class DateTime:
    """The SIG Date Time. ``None`` for a year, month or day the device does not know (0)."""

    year: int | None
    month: int | None
    day: int | None
    hours: int
    minutes: int
    seconds: int

    @staticmethod
    def decode(raw: bytes) -> DateTime:
        """Seven bytes; ValueError for a field out of range or a date that does not exist."""
        year = raw[0] | raw[1] << 8
        month, day, hours, minutes, seconds = raw[2:7]
        for name, value, top in (
            ("month", month, 12),
            ("day", day, 31),
            ("hours", hours, 23),
            ("minutes", minutes, 59),
            ("seconds", seconds, 59),
        ):
            if value > top:
                raise ValueError(f"{name} {value} out of range 0–{top}")
        stamp = DateTime(year or None, month or None, day or None, hours, minutes, seconds)
        if month and day:
            try:  # an unknown year as 2000, a leap year, so that 29 February passes
                dt.date(year or 2000, month, day)
            except ValueError as err:
                raise ValueError(f"no such date {stamp}") from err
        return stamp

    def to_datetime(self) -> dt.datetime | None:
        """The device's local time (naive), or None when any part of the date is unknown."""
        if self.year is None or self.month is None or self.day is None:
            return None
        return dt.datetime(self.year, self.month, self.day, self.hours, self.minutes, self.seconds)

    def __str__(self) -> str:
        return (
            f"{self.year or 0:04d}-{self.month or 0:02d}-{self.day or 0:02d} "
            f"{self.hours:02d}:{self.minutes:02d}:{self.seconds:02d}"
        )


def crc16_mcrf4xx(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/MCRF4XX: poly 0x1021 reflected (0x8408), seed 0xFFFF, no final XOR."""
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


class Reader:
    """Reads little-endian fields in order; a short payload raises a ValueError that says
    which characteristic and field, and how many bytes were needed and present."""

    def __init__(self, data: bytes, characteristic: str) -> None:
        self._data = bytes(data)
        self._offset = 0
        self.characteristic = characteristic

    @property
    def offset(self) -> int:
        return self._offset

    @property
    def remaining(self) -> int:
        return len(self._data) - self._offset

    def error(self, message: str) -> ValueError:
        """A ValueError prefixed with the characteristic, for checks done by the caller."""
        return ValueError(f"{self.characteristic}: {message}")

    def take(self, size: int, field: str) -> bytes:
        if self.remaining < size:
            raise self.error(
                f"field {field!r} at byte {self._offset} needs {size} byte(s), "
                f"{self.remaining} present (payload is {len(self._data)} bytes)"
            )
        chunk = self._data[self._offset : self._offset + size]
        self._offset += size
        return chunk

    def rest(self) -> bytes:
        return self.take(self.remaining, "rest")

    def uint(self, size: int, field: str) -> int:
        return int.from_bytes(self.take(size, field), "little")

    def sint(self, size: int, field: str) -> int:
        return int.from_bytes(self.take(size, field), "little", signed=True)

    def u8(self, field: str) -> int:
        return self.uint(1, field)

    def u16(self, field: str) -> int:
        return self.uint(2, field)

    def sfloat(self, field: str) -> MedFloat:
        return decode_sfloat(self.u16(field))

    def float32(self, field: str) -> MedFloat:
        return decode_float(self.uint(4, field))

    def date_time(self, field: str) -> DateTime:
        raw = self.take(7, field)
        try:
            return DateTime.decode(raw)
        except ValueError as err:
            raise self.error(f"field {field!r}: {err}") from err
