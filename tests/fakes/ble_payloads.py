"""Encoders for Bluetooth LE characteristic values: what fake peripherals send and what the
parser tests round-trip. Written from the specs (see shared/docs/ble.md §3–4), independently of
the decoders in ``drivers.ble``."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

SFLOAT_NAN = bytes([0xFF, 0x07])
_SFLOAT_RESERVED = range(0x07FE, 0x0803)  # NaN, NRes, ±INF, reserved with exponent 0


def _mantissa(value: float, exponent: int, bits: int) -> int:
    mantissa = round(Decimal(repr(value)).scaleb(-exponent))
    limit = 1 << (bits - 1)
    if not -limit <= mantissa < limit:
        raise ValueError(f"{value} does not fit a {bits}-bit mantissa at exponent {exponent}")
    return mantissa & ((1 << bits) - 1)


def sfloat(value: float, exponent: int = 0) -> bytes:
    """SFLOAT (medfloat16) of ``value`` at ``exponent``, little-endian: sfloat(98) = 62 00,
    sfloat(2.0, -1) = 14 F0. ValueError when the mantissa does not fit."""
    if not -8 <= exponent <= 7:
        raise ValueError(f"SFLOAT exponent {exponent} is outside -8..7")
    raw = (exponent & 0xF) << 12 | _mantissa(value, exponent, 12)
    if raw in _SFLOAT_RESERVED:
        raise ValueError(f"{value} at exponent {exponent} would encode a special value")
    return raw.to_bytes(2, "little")


def float32(value: float, exponent: int = 0) -> bytes:
    """FLOAT (medfloat32), as :func:`sfloat` with an 8-bit exponent and a 24-bit mantissa."""
    return ((exponent & 0xFF) << 24 | _mantissa(value, exponent, 24)).to_bytes(4, "little")


def _sfloat_or_nan(value: float | None) -> bytes:
    if value is None:
        return SFLOAT_NAN
    return sfloat(value, 0 if float(value).is_integer() else -1)


def heart_rate_measurement(
    bpm: int,
    *,
    contact: bool | None = True,
    energy_kj: int | None = None,
    rr_s: Sequence[float] = (),
) -> bytes:
    """0x2A37; RR intervals rounded to 1/1024 s."""
    wide = bpm > 0xFF
    flags = wide | (0 if contact is None else 0b100 | contact << 1)
    body = bpm.to_bytes(2 if wide else 1, "little")
    if energy_kj is not None:
        flags |= 0x08
        body += energy_kj.to_bytes(2, "little")
    if rr_s:
        flags |= 0x10
        body += b"".join(round(rr * 1024).to_bytes(2, "little") for rr in rr_s)
    return bytes([flags]) + body


def plx_continuous(spo2: float | None, pulse: float | None) -> bytes:
    """0x2A5F with only the normal SpO2/PR pair; None is sent as NaN."""
    return b"\x00" + _sfloat_or_nan(spo2) + _sfloat_or_nan(pulse)


def blood_pressure(
    sys: float, dia: float, mean: float, *, pulse: float | None = None, kpa: bool = False
) -> bytes:
    """0x2A35 without time stamp, user or status."""
    flags = int(kpa) | (0x04 if pulse is not None else 0)
    body = b"".join(_sfloat_or_nan(value) for value in (sys, dia, mean))
    if pulse is not None:
        body += _sfloat_or_nan(pulse)
    return bytes([flags]) + body


def temperature(celsius: float) -> bytes:
    """0x2A1C in °C with two decimals, no time stamp or type."""
    return b"\x00" + float32(celsius, -2)


def weight_kg(kg: float) -> bytes:
    """0x2A9D in kg, resolution 0.005 kg."""
    return b"\x00" + round(Decimal(repr(kg)) * 200).to_bytes(2, "little")


def battery(level: int) -> bytes:
    """0x2A19."""
    return bytes([level])


def pmd_ecg_frame(samples_uv: Sequence[int], last_sample_ns: int) -> bytes:
    """A Polar PMD ECG data frame, type 0: int24 µV samples, last sample at ``last_sample_ns``
    (ns since 2000-01-01)."""
    samples = b"".join(uv.to_bytes(3, "little", signed=True) for uv in samples_uv)
    return b"\x00" + last_sample_ns.to_bytes(8, "little") + b"\x00" + samples


def pmd_cp_response(op: int, mtype: int, status: int, params: bytes = b"") -> bytes:
    """A PMD control point indication: F0, op, type, status, more = 0, params."""
    return bytes([0xF0, op, mtype, status, 0]) + params
