"""The outbox table as the sync sees it: what is pending, and what became of each row.

A row is pending while ``sent_at`` and ``dead_at`` are NULL. The sync marks it sent, or
failed (``attempts`` + 1, ``next_attempt`` after an exponential backoff with full jitter, the
error kept), or dead (a permanent rejection: ``dead_at`` and the server's message), and an
operator may requeue a dead row. The recorder adds rows from its own connection at the same
time, so this connection waits for the write lock (``busy_timeout``) instead of failing.

The sync never creates or migrates the record: a path that is not a record (or one from
before the outbox had its delivery columns, migration m004) is refused with a message.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.sync.errors import ConfigError
from app.sync.running import open_on_record

BACKOFF_BASE = 1.0  # s: the first retry waits up to this long
BACKOFF_CAP = 300.0  # s: no wait is longer than 5 min, so a recovered EHR is found soon
BUSY_TIMEOUT = 10.0  # s: how long to wait for the recorder's write lock
COLUMNS = frozenset(
    {
        "id",
        "created",
        "kind",
        "payload",
        "sent_at",
        "bed",
        "attempts",
        "next_attempt",
        "last_error",
        "dead_at",
    }
)
_PENDING = "sent_at IS NULL AND dead_at IS NULL"
_ROW = "id, created, kind, payload, bed, attempts, last_error"


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    created: float
    kind: str
    payload: dict[str, Any]
    bed: str
    attempts: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A row the EHR refused, with its message, for the operator's list."""

    id: int
    created: float
    kind: str
    bed: str
    dead_at: float
    error: str
    attempts: int
    payload: dict[str, Any]


def backoff_delay(
    attempt: int, rng: random.Random, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP
) -> float:
    """Seconds to wait before try ``attempt + 1``: uniform in [0, min(cap, base·2^(n-1))].
    Full jitter spreads the retries of many rows (and stations) instead of synchronising
    them on the EHR the moment it is back."""
    return rng.uniform(0.0, min(cap, base * 2.0 ** min(max(attempt, 1) - 1, 30)))


class Outbox:
    """The sync's own connection to the record; its methods may be called from any thread."""

    def __init__(self, conn: sqlite3.Connection, rng: random.Random | None = None) -> None:
        self._conn = conn
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        found = {row[1] for row in conn.execute("PRAGMA table_info(outbox)")}
        if missing := COLUMNS - found:
            raise ConfigError(
                "the record's outbox lacks "
                + ", ".join(sorted(missing))
                + " (a record from before migration m004): open it with the station first"
            )

    @classmethod
    def open(
        cls, path: str | Path, busy_timeout: float = BUSY_TIMEOUT, rng: random.Random | None = None
    ) -> Outbox:
        return open_on_record(path, busy_timeout, lambda conn: cls(conn, rng))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def pending(self, now: float, limit: int, *, respect_schedule: bool = True) -> list[OutboxRow]:
        """Up to ``limit`` pending rows in id order (the order they were recorded); with
        ``respect_schedule``, only those whose retry time has come."""
        due = " AND (next_attempt IS NULL OR next_attempt <= ?)" if respect_schedule else ""
        args: tuple[Any, ...] = (now, limit) if respect_schedule else (limit,)
        rows = self._read(
            f"SELECT {_ROW} FROM outbox WHERE {_PENDING}{due} ORDER BY id LIMIT ?", args
        )
        return [OutboxRow(r[0], r[1], r[2], _payload(r[3]), r[4] or "", r[5], r[6]) for r in rows]

    def mark_sent(self, ids: Iterable[int], now: float) -> None:
        self._write(
            "UPDATE outbox SET sent_at = ?, last_error = NULL WHERE id = ?", [(now, i) for i in ids]
        )

    def mark_failed(
        self, rows: Sequence[OutboxRow], now: float, error: str, min_delay: float = 0.0
    ) -> None:
        """A transient failure: each row's next try after its own backoff (at least
        ``min_delay``, e.g. the server's Retry-After)."""
        updates = [
            (now + max(min_delay, backoff_delay(r.attempts + 1, self._rng)), error[:1000], r.id)
            for r in rows
        ]
        self._write(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt = ?, "
            "last_error = ? WHERE id = ?",
            updates,
        )

    def mark_dead(self, ids: Iterable[int], now: float, error: str) -> None:
        self._write(
            "UPDATE outbox SET attempts = attempts + 1, dead_at = ?, last_error = ? WHERE id = ?",
            [(now, error[:1000], i) for i in ids],
        )

    def requeue(self, row_id: int) -> bool:
        """Send a dead letter again (after the cause was fixed); False if it is not one."""
        with self._lock:
            done = self._conn.execute(
                "UPDATE outbox SET dead_at = NULL, attempts = 0, next_attempt = NULL, "
                "last_error = NULL WHERE id = ? AND dead_at IS NOT NULL",
                (row_id,),
            )
            return done.rowcount == 1

    def backlog(self) -> dict[str, int]:
        """Pending rows per bed ("" for station-wide rows)."""
        found = self._read(
            f"SELECT COALESCE(bed, ''), COUNT(*) FROM outbox WHERE {_PENDING} GROUP BY 1", ()
        )
        return {str(bed): int(n) for bed, n in found}

    def dead_counts(self) -> dict[str, int]:
        found = self._read(
            "SELECT COALESCE(bed, ''), COUNT(*) FROM outbox WHERE dead_at IS NOT NULL GROUP BY 1",
            (),
        )
        return {str(bed): int(n) for bed, n in found}

    def dead_letters(self, limit: int = 500) -> list[DeadLetter]:
        """The newest dead letters first."""
        found = self._read(
            "SELECT id, created, kind, COALESCE(bed, ''), dead_at, COALESCE(last_error, ''), "
            "attempts, payload FROM outbox WHERE dead_at IS NOT NULL "
            "ORDER BY dead_at DESC, id DESC LIMIT ?",
            (limit,),
        )
        return [DeadLetter(r[0], r[1], r[2], r[3], r[4], r[5], r[6], _payload(r[7])) for r in found]

    def last_sent(self) -> dict[str, float]:
        """The time of each bed's latest delivery (at start-up: the state before a restart)."""
        found = self._read(
            "SELECT COALESCE(bed, ''), MAX(sent_at) FROM outbox "
            "WHERE sent_at IS NOT NULL GROUP BY 1",
            (),
        )
        return {str(bed): float(t) for bed, t in found}

    def query(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """A read of the record's other tables (patients, devices) on this connection."""
        return self._read(sql, args)

    def _read(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def _write(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        with self._lock:
            # One short transaction: the recorder waits for it at most a few milliseconds.
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(sql, rows)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")


def _payload(text: str) -> dict[str, Any]:
    try:
        found = json.loads(text)
    except ValueError:
        return {"_unreadable": text[:200]}
    return found if isinstance(found, dict) else {"_unreadable": text[:200]}
