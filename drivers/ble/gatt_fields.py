"""How decoded values go into the dicts :func:`drivers.ble.gatt.decode` returns: one scheme for
every measured number, named flag sets, and named codes."""

from __future__ import annotations

from collections.abc import Mapping

from drivers.ble.numbers import MedFloat, Reader

Fields = dict[str, object]


def measured(key: str, number: MedFloat | None) -> Fields:
    """``key`` (float or None), ``key_decimals`` (int or None) and ``key_reason`` (str or None).

    A number the device sent: value and precision, reason None. A special value (NaN, NRes, …):
    value None, its name as the reason. A field the flags say is absent: all three None.
    """
    if number is None:
        return {key: None, f"{key}_decimals": None, f"{key}_reason": None}
    decimals = None if number.special is not None else number.decimals
    return {key: number.value, f"{key}_decimals": decimals, f"{key}_reason": number.special}


def sfloat_if(reader: Reader, present: int, field: str) -> MedFloat | None:
    """The next SFLOAT when its flag bit is set, else None (nothing is read)."""
    return reader.sfloat(field) if present else None


def flag_names(value: int, names: Mapping[int, str]) -> frozenset[str]:
    """The names of the set bits (bit number → name); bits without a name are RFU, ignored."""
    return frozenset(name for bit, name in names.items() if value >> bit & 1)


def code_name(code: int, names: Mapping[int, str]) -> str:
    """The name of an enumerated code, or ``"reserved (N)"`` for one the spec leaves open."""
    return names.get(code, f"reserved ({code})")
