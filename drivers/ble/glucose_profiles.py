"""Glucose meters (0x1808, stored records fetched through the Record Access Control Point)
and continuous glucose monitors (0x181F, a record every few minutes)."""

from __future__ import annotations

import asyncio
import logging

from drivers.base import ColourRole, NumericSpec, Quality
from drivers.ble import gatt, racp
from drivers.ble.profile import Gatt, Output, ProfileError, Subscription, command, full_uuid
from drivers.ble.readings import measured_at, reading, set_flags

log = logging.getLogger(__name__)

MG_DL = "mg/dL"
MMOL_TO_MG_DL = 18.016  # glucose, 180.16 g/mol
GLU = NumericSpec("GLU", "Glucose", MG_DL, "mg/dL", ColourRole.DEVICE, stale_after=8 * 3600.0)
GLU_CGM = NumericSpec("GLU", "Glucose (CGM)", MG_DL, "mg/dL", ColourRole.DEVICE, 15 * 60.0)
RACP = full_uuid("2A52")
NO_RECORDS = 0x06  # a meter with nothing new is not an error


class GlucoseProfile:
    """Asks for the records newer than the last one it has, and reports each."""

    service_uuid = full_uuid("1808")
    name = "glucose"
    numerics = (GLU,)
    channels = ()
    subscriptions = (
        Subscription(full_uuid("2A18"), period=None),
        Subscription(RACP, period=None),
    )
    required = True

    def __init__(self) -> None:
        self._last_sequence: int | None = None  # across connections, so nothing repeats
        self._answer: asyncio.Future[racp.RacpResponse] | None = None

    async def prepare(self, gatt: Gatt, now: float) -> Output:
        self._answer = asyncio.get_running_loop().create_future()
        after = self._last_sequence
        request = racp.report_all_records() if after is None else racp.report_records_from(
            (after + 1) & 0xFFFF)  # fmt: skip
        answer = await command(gatt, RACP, request, self._answer, "the glucose record request")
        if not answer.succeeded and answer.response_code != NO_RECORDS:
            raise ProfileError(f"the glucose meter refused the record request: {answer.response}")
        return Output()

    def on_notify(self, uuid: str, data: bytes, now: float) -> Output:
        if uuid == RACP:
            answer = racp.decode_response(data)
            if self._answer is not None and not self._answer.done():
                self._answer.set_result(answer)
            return Output()
        fields = gatt.decode(uuid, data)
        sequence = fields["sequence_number"]
        if isinstance(sequence, int):
            self._last_sequence = sequence
        when, note = measured_at(fields.get("base_time"), now)
        offset = fields.get("time_offset")
        if isinstance(offset, int) and when != now:
            when += offset * 60.0
        scale = MMOL_TO_MG_DL if fields.get("glucose_unit") == "mmol/L" else 1.0
        status = sorted(set_flags(fields.get("sensor_status")))
        message = ", ".join([s.replace("_", " ") for s in status] + ([note] if note else []))
        quality = Quality.QUESTIONABLE if message else Quality.VALID
        return Output([reading(fields, "glucose", "GLU", MG_DL, when, scale=scale,
                               quality=quality, message=message)])  # fmt: skip

    def reset(self) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.cancel()
        self._answer = None


class CgmProfile:
    """Every record of a notification, oldest first, stamped back from the newest."""

    service_uuid = full_uuid("181F")
    name = "CGM"
    numerics = (GLU_CGM,)
    channels = ()
    subscriptions = (Subscription(full_uuid("2AA7"), period=None),)
    required = True

    async def prepare(self, gatt: Gatt, now: float) -> Output:
        return Output()

    def on_notify(self, uuid: str, data: bytes, now: float) -> Output:
        records = gatt.decode(uuid, data)["records"]
        if not isinstance(records, list) or not records:
            raise ValueError("a CGM notification without records")
        offsets = [r.get("time_offset") for r in records if isinstance(r, dict)]
        newest = max((o for o in offsets if isinstance(o, int)), default=0)
        out = Output()
        for record in records:
            if not isinstance(record, dict):
                continue
            offset = record.get("time_offset")
            when = now - (newest - offset) * 60.0 if isinstance(offset, int) else now
            doubtful = any(record.get(k) for k in ("warning_octet", "cal_temp_octet",
                                                   "status_octet"))  # fmt: skip
            quality = Quality.QUESTIONABLE if doubtful else Quality.VALID
            note = "sensor annunciation" if doubtful else ""
            out.readings.append(reading(record, "glucose", "GLU", MG_DL, when, quality=quality,
                                        message=note))  # fmt: skip
        return out

    def reset(self) -> None:
        return None
