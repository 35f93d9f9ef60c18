"""Reading the record back, on a connection of the reader's own (never the writer's).

A strip is the samples of one channel between two times, with NaN where nothing was
recorded (a dropout stays a gap, as on the live screen); a trend is the per-minute
aggregates of one parameter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from app.storage.codec import decode_block
from app.storage.schema import MAX_BLOCK, open_database

FloatArray = npt.NDArray[np.float32]
TrendIndex = slice | npt.NDArray[np.integer[Any]] | npt.NDArray[np.bool_]


class RecordError(ValueError):
    """A request the record cannot answer (unknown bed, time outside it); says why."""


@dataclass(frozen=True, slots=True)
class Strip:
    bed: str
    channel: str
    t_start: float
    rate: float
    samples: FloatArray  # physical units; NaN where nothing was recorded


@dataclass(frozen=True, slots=True)
class Trend:
    """One parameter's per-minute aggregates, as arrays in minute order (a 24-h trend is
    1,440 minutes: arrays, not 1,440 objects)."""

    minute: npt.NDArray[np.int64]  # minutes since the epoch
    n: npt.NDArray[np.int64]
    median: npt.NDArray[np.float64]
    mean: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.minute.size)

    def take(self, index: TrendIndex) -> Trend:
        """The minutes at ``index`` (a slice, indices or a mask)."""
        return Trend(*(np.asarray(getattr(self, f))[index] for f in _TREND_FIELDS))

    @staticmethod
    def from_rows(rows: Sequence[Sequence[Any]]) -> Trend:
        table = np.array(rows, dtype=np.float64).reshape(-1, len(_TREND_FIELDS))
        whole = table[:, :2].astype(np.int64)
        return Trend(whole[:, 0], whole[:, 1], *(table[:, i].copy() for i in range(2, 6)))


_TREND_FIELDS = ("minute", "n", "median", "mean", "low", "high")


class RecordReader:
    def __init__(self, path: Path) -> None:
        if not path.exists():
            raise RecordError(f"no record at {path}")
        self._db = open_database(str(path), readonly=True)

    def close(self) -> None:
        self._db.conn.close()

    def beds(self) -> list[str]:
        rows = self._db.execute("SELECT DISTINCT bed FROM waveforms ORDER BY bed").fetchall()
        return [r[0] for r in rows]

    def channels(self, bed: str) -> list[str]:
        rows = self._db.execute(
            "SELECT DISTINCT channel FROM waveforms WHERE bed = ? ORDER BY channel", [bed]
        ).fetchall()
        return [r[0] for r in rows]

    def span(self, bed: str) -> tuple[float, float]:
        """First and last recorded times of a bed's waveforms."""
        row = self._db.execute(
            "SELECT MIN(t_start), MAX(t_start + n / rate) FROM waveforms WHERE bed = ?", [bed]
        ).fetchone()
        if row is None or row[0] is None:
            raise RecordError(f"no waveforms recorded for bed {bed!r}")
        return float(row[0]), float(row[1])

    def strip(self, bed: str, channel: str, t0: float, t1: float) -> Strip:
        """Samples of ``channel`` on ``bed`` with times in [t0, t1)."""
        if not (math.isfinite(t0) and math.isfinite(t1) and t1 > t0):
            raise RecordError("a strip needs a start before its end")
        rows = self._db.execute(
            "SELECT t_start, rate, gain, offset, n, data FROM waveforms "
            # No row is longer than MAX_BLOCK: the lower bound lets the index do the work.
            "WHERE bed = ? AND channel = ? AND t_start > ? AND t_start < ? "
            "AND t_start + n / rate > ? ORDER BY t_start",
            [bed, channel, t0 - MAX_BLOCK, t1, t0],
        ).fetchall()
        if not rows:
            raise RecordError(f"nothing recorded for {bed} {channel} in that time")
        rate = float(rows[0][1])
        out = np.full(round((t1 - t0) * rate), np.nan, dtype=np.float32)
        for t_start, _, gain, offset, n, data in rows:
            samples = decode_block(data, gain, offset)
            first = round((t_start - t0) * rate)
            lo, hi = max(first, 0), min(first + int(n), out.size)
            if hi > lo:
                out[lo:hi] = samples[lo - first : hi - first]
        return Strip(bed, channel, t0, rate, out)

    def trend(self, bed: str, code: str, t0: float, t1: float) -> Trend:
        rows = self._db.execute(
            "SELECT minute, n, median, mean, min, max FROM trends "
            "WHERE bed = ? AND code = ? AND minute >= ? AND minute < ? ORDER BY minute",
            [bed, code, math.floor(t0 / 60), math.ceil(t1 / 60)],
        ).fetchall()
        return Trend.from_rows(rows)

    def numerics_at(self, bed: str, t: float) -> dict[str, dict[str, Any]]:
        """The newest reading of each parameter of a bed at or before ``t``."""
        rows = self._db.execute(
            "SELECT code, value, unit, quality, t, device FROM numerics "
            "WHERE bed = ? AND t <= ? AND t > ? ORDER BY t",
            [bed, t, t - 3600.0],
        ).fetchall()
        return {r[0]: {"value": r[1], "unit": r[2], "quality": r[3], "t": r[4], "device": r[5]}
                for r in rows}  # fmt: skip

    def numerics(self, bed: str, t0: float, t1: float) -> list[dict[str, Any]]:
        """Every reading of a bed with its time in [t0, t1), in time order."""
        return list(self._db.query(
            "SELECT t, code, value, unit, quality, device, message FROM numerics "
            "WHERE bed = ? AND t >= ? AND t < ? ORDER BY t, code, device",
            [bed, t0, t1],
        ))  # fmt: skip

    def events(
        self, bed: str, t0: float, t1: float, kinds: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """A bed's events (rhythm, ectopy, device status, ...) with times in [t0, t1)."""
        query = "SELECT * FROM events WHERE bed = ? AND t >= ? AND t < ?"
        args: list[Any] = [bed, t0, t1]
        if kinds is not None:
            query += f" AND kind IN ({', '.join('?' * len(kinds))})"
            args += kinds
        return list(self._db.query(query + " ORDER BY t, id", args))

    def patient_at(self, bed: str, t: float) -> dict[str, Any] | None:
        """The patient admitted to a bed at ``t`` (the newest admission), or None."""
        rows = list(self._db.query(
            "SELECT p.* FROM admissions a JOIN patients p ON p.mrn = a.mrn "
            "WHERE a.bed = ? AND a.admitted_at <= ? "
            "AND (a.discharged_at IS NULL OR a.discharged_at > ?) "
            "ORDER BY a.admitted_at DESC, a.id DESC LIMIT 1",
            [bed, t, t],
        ))  # fmt: skip
        return rows[0] if rows else None

    def sources(self, bed: str, t0: float, t1: float) -> list[dict[str, Any]]:
        """The devices whose waveforms of a bed overlap [t0, t1)."""
        return list(self._db.query(
            "SELECT * FROM devices WHERE serial IN (SELECT DISTINCT device FROM waveforms "
            "WHERE bed = ? AND t_start < ? AND t_start + n / rate > ?) ORDER BY serial",
            [bed, t1, t0],
        ))  # fmt: skip

    def alarm_log(self, bed: str | None, t0: float, t1: float) -> list[dict[str, Any]]:
        query = "SELECT * FROM alarm_log WHERE t >= ? AND t < ?"
        args: list[Any] = [t0, t1]
        if bed is not None:
            query += " AND bed = ?"
            args.append(bed)
        return list(self._db.query(query + " ORDER BY t, id", args))
