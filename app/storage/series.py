"""Numeric readings written as rows of ``readings``, each naming its series by number.

A series is one parameter of one device on one bed in one unit. Their numbers are cached;
numbers made inside a transaction join the cache only once it commits, so a rolled-back
write never leaves the cache pointing at a series that does not exist.
"""

from __future__ import annotations

import sqlite3

from app.storage.rows import Row
from app.storage.schema import QUALITIES

SeriesKey = tuple[str, str, str, str]  # bed, device, code, unit
_QUALITY_IDS = {name: i for i, name in enumerate(QUALITIES)}


class SeriesWriter:
    def __init__(self) -> None:
        self._ids: dict[SeriesKey, int] = {}
        self._pending: dict[SeriesKey, int] = {}

    def insert(self, conn: sqlite3.Connection, rows: list[Row]) -> None:
        """Write numeric rows (``rows.NumericRows`` dicts) inside the caller's transaction.
        One value per series per instant: a second reading at the same time replaces it."""
        values = [
            (self._id(conn, (r["bed"], r["device"], r["code"], r["unit"])), r["t"], r["value"],
             _QUALITY_IDS[r["quality"]], r["message"] or None)
            for r in rows
        ]  # fmt: skip
        conn.executemany("INSERT OR REPLACE INTO readings VALUES (?, ?, ?, ?, ?)", values)

    def committed(self, ok: bool) -> None:
        """After the transaction: keep the numbers it made, or forget them."""
        if ok:
            self._ids.update(self._pending)
        self._pending.clear()

    def _id(self, conn: sqlite3.Connection, key: SeriesKey) -> int:
        found = self._ids.get(key) or self._pending.get(key)
        if found is not None:
            return found
        conn.execute(
            "INSERT OR IGNORE INTO series (bed, device, code, unit) VALUES (?, ?, ?, ?)", key
        )
        row = conn.execute(
            "SELECT id FROM series WHERE bed = ? AND device = ? AND code = ? AND unit = ?", key
        ).fetchone()
        self._pending[key] = int(row[0])
        return self._pending[key]
