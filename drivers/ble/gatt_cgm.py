"""Decoder for the CGM Measurement (0x2AA7): one or more size-prefixed records a notification.

A record carries an E2E-CRC exactly when its Size is two more than its flags need. A record whose
CRC does not match raises ValueError for the whole notification: the bytes are corrupt, a
glucose value from them must never be shown as valid, and a corrupt Size would make the
records after it unreliable too. So ``crc_valid`` is True (checked) or None (no CRC sent).
The keys are documented in :mod:`drivers.ble.gatt`.
"""

from __future__ import annotations

from drivers.ble.gatt_fields import Fields, measured, sfloat_if
from drivers.ble.numbers import Reader, crc16_mcrf4xx

MIN_RECORD = 6  # size, flags, glucose, time offset
# Flag bit → key of a Sensor Status Annunciation octet, in the order they appear on the wire
# (bit 5 first, as Nordic's library reads them; the spec's naming of partial sets is unclear).
ANNUNCIATION_OCTETS = ((0x20, "warning_octet"), (0x40, "cal_temp_octet"), (0x80, "status_octet"))


def record_size(flags: int) -> int:
    """The bytes a record with these flags needs, without an E2E-CRC."""
    octets = sum(1 for bit, _ in ANNUNCIATION_OCTETS if flags & bit)
    return MIN_RECORD + octets + 2 * bool(flags & 0x01) + 2 * bool(flags & 0x02)


def _record(raw: bytes, name: str) -> Fields:
    reader = Reader(raw, name)
    size = reader.u8("Size")
    flags = reader.u8("Flags")
    base = record_size(flags)
    if size not in (base, base + 2):
        raise reader.error(
            f"Size {size} does not fit flags 0x{flags:02X}: "
            f"{base} bytes, or {base + 2} with E2E-CRC"
        )
    out = measured("glucose", reader.sfloat("CGM Glucose Concentration"))
    out["unit"] = "mg/dL"
    out["time_offset"] = reader.u16("Time Offset")
    for bit, key in ANNUNCIATION_OCTETS:
        out[key] = reader.u8(key) if flags & bit else None
    out |= measured("trend", sfloat_if(reader, flags & 0x01, "CGM Trend Information"))
    out |= measured("quality", sfloat_if(reader, flags & 0x02, "CGM Quality"))
    out["crc_valid"] = None
    if size == base + 2:
        received, computed = reader.u16("E2E-CRC"), crc16_mcrf4xx(raw[:base])
        if received != computed:
            raise reader.error(
                f"E2E-CRC mismatch: received 0x{received:04X}, computed 0x{computed:04X}"
            )
        out["crc_valid"] = True
    return out


def cgm_measurement(data: bytes, name: str) -> Fields:
    reader = Reader(data, name)
    if not reader.remaining:
        raise reader.error("no record in the notification")
    records: list[Fields] = []
    while reader.remaining:
        index = len(records) + 1
        size = data[reader.offset]
        if size < MIN_RECORD:
            raise reader.error(f"record {index}: Size {size} is below the minimum {MIN_RECORD}")
        records.append(_record(reader.take(size, f"record {index}"), f"{name} record {index}"))
    return {"records": records}
