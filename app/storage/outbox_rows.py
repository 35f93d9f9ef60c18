"""What the EHR sync will send, decided as the record is written: rows of the outbox.

The rows go into the record in the same transaction as the data they come from, so nothing
is lost while the EHR is down or the station restarts. Only what belongs to an admitted
patient is queued (there is no chart to put the rest in); the record keeps everything.

- Vital signs: the number the bed shows (Vigil's analysis first, as the trends), VALID and
  finite only, one per parameter per ``vitals_every``; every NIBP measurement (one panel of
  systolic, diastolic and mean) and every temperature reading.
- NEWS2: each complete score, when a nurse enters observations or the total changes.
- Alarms: the lifecycle of every bed alarm (start, escalation, priority change, end).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from app.alarms.log import LogEntry
from app.scores.news2 import News2Result
from app.storage.rows import Row, alarm_row
from drivers.base import Quality, Reading

BLOOD_PRESSURE = frozenset({"NIBP_SYS", "NIBP_DIA", "NIBP_MEAN"})
ALARM_EVENTS = frozenset({"start", "escalate", "priority", "condition_end", "end"})


@dataclass(frozen=True, slots=True)
class SyncPolicy:
    vitals_every: float = 60.0  # s between queued readings of one parameter of a bed
    every_measurement: frozenset[str] = frozenset({"TEMP"})  # queued whenever measured
    # The vital signs a chart holds (signal-quality indices, battery and PVC counts stay in
    # the station's record).
    charted: frozenset[str] = frozenset({"HR", "PR", "SPO2", "RR", "TEMP"})


@dataclass
class OutboxRows:
    policy: SyncPolicy = field(default_factory=SyncPolicy)
    _mrn: dict[str, str] = field(default_factory=dict)  # bed -> MRN of its patient
    _last_vital: dict[tuple[str, str], float] = field(default_factory=dict)
    _last_news2: dict[str, tuple[float | None, int | None]] = field(default_factory=dict)

    def admitted(self, bed: str, mrn: str) -> None:
        self._mrn[bed] = mrn

    def discharged(self, bed: str) -> None:
        self._mrn.pop(bed, None)
        self._last_news2.pop(bed, None)

    def readings(self, bed: str, device: str, shown: list[Reading], now: float) -> list[Row]:
        """Rows for readings of one delivery that the bed shows."""
        mrn = self._mrn.get(bed)
        valid = [r for r in shown if r.quality is Quality.VALID and _finite(r.value)]
        if mrn is None or not valid:
            return []
        base = {"bed": bed, "mrn": mrn, "device": device}
        out = []
        pressure = [r for r in valid if r.code in BLOOD_PRESSURE]
        if pressure:
            t = max(r.timestamp for r in pressure)
            payload = base | {"t": t, "readings": [_reading(r) for r in pressure]}
            out.append(_row("blood_pressure", bed, payload, now))
        for reading in valid:
            if reading.code in self.policy.charted and self._due(bed, reading):
                out.append(_row("vital", bed, base | _reading(reading), now))
        return out

    def _due(self, bed: str, reading: Reading) -> bool:
        if reading.code in self.policy.every_measurement:
            return True
        key = (bed, reading.code)
        last = self._last_vital.get(key)
        if last is not None and reading.timestamp - last < self.policy.vitals_every:
            return False
        self._last_vital[key] = reading.timestamp
        return True

    def news2(self, bed: str, result: News2Result, entered_at: float | None, t: float,
              now: float) -> list[Row]:  # fmt: skip
        """A row for a complete score that is new: a new nurse entry or a new total."""
        mrn = self._mrn.get(bed)
        if mrn is None or result.total is None:
            return []
        key = (entered_at, result.total)
        if self._last_news2.get(bed) == key:
            return []
        self._last_news2[bed] = key
        payload = {"bed": bed, "mrn": mrn, "t": t, "result": asdict(result)}
        return [_row("news2", bed, payload, now)]

    def alarm(self, entry: LogEntry, now: float) -> list[Row]:
        mrn = self._mrn.get(entry.bed)
        if mrn is None or entry.event not in ALARM_EVENTS:
            return []
        return [_row("alarm", entry.bed, {"mrn": mrn} | alarm_row(entry), now)]


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _reading(reading: Reading) -> dict[str, Any]:
    return {"code": reading.code, "value": reading.value, "unit": reading.unit,
            "t": reading.timestamp, "quality": reading.quality.value}  # fmt: skip


def _row(kind: str, bed: str, payload: dict[str, Any], now: float) -> Row:
    return {"created": now, "kind": kind, "bed": bed,
            "payload": json.dumps(payload, separators=(",", ":"))}  # fmt: skip
