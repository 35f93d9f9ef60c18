"""The allow-list of paired wearables, kept in the record (table ``wearables``, m005).

Only devices on it are connected automatically, at start-up and after every loss. When the
record cannot be opened the list lives in memory for the session, and says why.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from sqlite_utils import Database

from app.storage.schema import SchemaError, open_database
from drivers.ble.driver import Wearable


@dataclass(frozen=True, slots=True)
class Paired:
    wearable: Wearable
    bed: str | None
    paired_at: float


class AllowList:
    def __init__(self, path: Path | None) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, Paired] = {}
        self.error: str | None = None
        self._db: Database | None = None
        if path is None:
            self.error = "no record: the allow-list lasts only this session"
            return
        try:
            self._db = open_database(str(path))
            rows = list(self._db.execute("SELECT address, name, services, bed, paired_at "
                                         "FROM wearables"))  # fmt: skip
        except (OSError, sqlite3.Error, SchemaError) as exc:
            self._db = None
            self.error = f"allow-list not saved ({exc}): it lasts only this session"
            return
        for address, name, services, bed, paired_at in rows:
            wearable = Wearable(address, name, tuple(json.loads(services)))
            self._entries[address] = Paired(wearable, bed, paired_at)

    def entries(self) -> list[Paired]:
        with self._lock:
            return sorted(self._entries.values(), key=lambda p: (p.bed or "~", p.wearable.name))

    def get(self, address: str) -> Paired | None:
        with self._lock:
            return self._entries.get(address.upper())

    def add(self, wearable: Wearable, bed: str | None) -> Paired:
        paired = Paired(wearable, bed, time.time())
        self._save(paired)
        return paired

    def assign(self, address: str, bed: str | None) -> Paired:
        found = self.get(address)
        if found is None:
            raise KeyError(f"{address} is not paired")
        paired = replace(found, bed=bed)
        self._save(paired)
        return paired

    def remove(self, address: str) -> None:
        address = address.upper()
        with self._lock:
            if self._db is not None:
                with self._db.conn:
                    self._db.execute("DELETE FROM wearables WHERE address = ?", [address])
            self._entries.pop(address, None)

    def _save(self, paired: Paired) -> None:
        """Written before it counts: a pairing the record did not take raises (sqlite3.Error)."""
        w = paired.wearable
        with self._lock:
            if self._db is not None:
                with self._db.conn:
                    self._db.execute(
                        "INSERT OR REPLACE INTO wearables VALUES (?, ?, ?, ?, ?)",
                        [w.address, w.name, json.dumps(list(w.service_uuids)), paired.bed,
                         paired.paired_at],
                    )  # fmt: skip
            self._entries[w.address] = paired

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
