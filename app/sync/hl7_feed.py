"""The optional IHE PCD-01 feed: the outbox's vital signs and NIBP to a receiver over MLLP.

The FHIR sync owns the outbox's delivery columns (``sent_at``, ``attempts``, ...); the feed
keeps its own progress in ``hl7_outbox_state`` (one row per outbox row it has tried), which it
creates on its own connection if missing. The two are independent: either may be down, behind
or not configured at all.

Rows go in id order (the order they were recorded), one message per row, and the next one
only after the ACK of the last (PCD-01 original mode). An ``AA`` marks the row sent; an
``AE``/``AR`` dead-letters it with the receiver's text and the feed goes on with the next; a
transient failure (no ACK, time-out, refused connection, wrong control id) stops the pass, and
the row is retried after an exponential backoff with full jitter, capped (1 s doubling to
``max_backoff``). Later rows wait for it, so the receiver always gets them in order.

Exactly once is the receiver's part: a message whose ACK was lost is sent again, identical
(same MSH-10), and the receiver must de-duplicate by MSH-10; MLLP cannot do it.

Rows of other kinds (``news2``, ``alarm``) are not the feed's (see :mod:`app.sync.hl7_message`)
and never count in its backlog. A row that cannot become a message (an unknown parameter, no
value) is dead-lettered at once.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from app.periodic import PeriodicThread
from app.sync.errors import ConfigError, TransientError
from app.sync.hl7_message import HL7_KINDS, Demographics, Hl7BuildError, Hl7Config, build_message
from app.sync.mllp import AckRejectedError, MllpClient
from app.sync.outbox import BACKOFF_CAP, BUSY_TIMEOUT, backoff_delay
from app.sync.running import open_on_record

log = logging.getLogger(__name__)

PERIOD = 1.0  # s between passes: a new row leaves within about a second
ROWS_PER_PASS = 500  # a pass reads at most this many rows (stop requests are seen per row)
STATE_DDL = (
    "CREATE TABLE IF NOT EXISTS hl7_outbox_state (outbox_id INTEGER PRIMARY KEY, "
    "sent_at REAL, attempts INTEGER, next_attempt REAL, last_error TEXT, dead_at REAL)"
)
_KINDS = "(" + ", ".join(f"'{k}'" for k in HL7_KINDS) + ")"
_PENDING = (
    "FROM outbox o LEFT JOIN hl7_outbox_state s ON s.outbox_id = o.id WHERE o.id > ? "
    f"AND o.kind IN {_KINDS} AND s.sent_at IS NULL AND s.dead_at IS NULL"
)
_UPSERT = (
    "INSERT INTO hl7_outbox_state (outbox_id, sent_at, attempts, next_attempt, last_error, "
    "dead_at) VALUES (?, ?, 1, ?, ?, ?) ON CONFLICT (outbox_id) DO UPDATE SET "
    "sent_at = excluded.sent_at, attempts = attempts + 1, next_attempt = excluded.next_attempt, "
    "last_error = excluded.last_error, dead_at = excluded.dead_at"
)


@dataclass(frozen=True, slots=True)
class PendingRow:
    id: int
    created: float
    kind: str
    payload: str
    bed: str
    attempts: int
    next_attempt: float | None


@dataclass(frozen=True, slots=True)
class Hl7DeadLetter:
    id: int
    kind: str
    bed: str
    dead_at: float
    error: str


class FeedStore:
    """The feed's own connection to the record: the outbox read, its state table written."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()
        found = {row[1] for row in conn.execute("PRAGMA table_info(outbox)")}
        if missing := {"id", "created", "kind", "payload", "bed"} - found:
            raise ConfigError(f"the record has no outbox with {', '.join(sorted(missing))}")
        conn.execute(STATE_DDL)

    @classmethod
    def open(cls, path: str | Path, busy_timeout: float = BUSY_TIMEOUT) -> FeedStore:
        return open_on_record(path, busy_timeout, cls)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def pending(self, after: int, limit: int) -> list[PendingRow]:
        """Up to ``limit`` rows not yet sent nor dead, with ids above ``after``, in id order."""
        rows = self._read(
            "SELECT o.id, o.created, o.kind, o.payload, COALESCE(o.bed, ''), "
            f"COALESCE(s.attempts, 0), s.next_attempt {_PENDING} ORDER BY o.id LIMIT ?",
            (after, limit),
        )
        return [PendingRow(*r) for r in rows]

    def backlog(self, after: int) -> dict[str, int]:
        found = self._read(f"SELECT COALESCE(o.bed, ''), COUNT(*) {_PENDING} GROUP BY 1", (after,))
        return {str(bed): int(n) for bed, n in found}

    def demographics(self, mrn: str) -> Demographics | None:
        found = self._read(
            "SELECT family_name, given_name, date_of_birth, sex FROM patients WHERE mrn = ?",
            (mrn,),
        )
        if not found:
            return None
        family, given, born, sex = found[0]
        return Demographics(family or "", given or "", born or "", sex or "unknown")

    def mark_sent(self, row_id: int, now: float) -> None:
        self._write(_UPSERT, (row_id, now, None, None, None))

    def mark_failed(self, row_id: int, error: str, next_attempt: float) -> None:
        self._write(_UPSERT, (row_id, None, next_attempt, error[:1000], None))

    def mark_dead(self, row_id: int, now: float, error: str) -> None:
        self._write(_UPSERT, (row_id, None, None, error[:1000], now))

    def requeue(self, row_id: int) -> bool:
        """Send a dead letter again; False if the row is not one."""
        with self._lock:
            done = self._conn.execute(
                "DELETE FROM hl7_outbox_state WHERE outbox_id = ? AND dead_at IS NOT NULL",
                (row_id,),
            )
            return done.rowcount == 1

    def dead_count(self) -> int:
        return int(self._read("SELECT COUNT(*) FROM hl7_outbox_state WHERE dead_at IS NOT NULL",
                              ())[0][0])  # fmt: skip

    def dead_letters(self, limit: int = 500) -> list[Hl7DeadLetter]:
        """The newest first."""
        found = self._read(
            "SELECT o.id, o.kind, COALESCE(o.bed, ''), s.dead_at, COALESCE(s.last_error, '') "
            "FROM hl7_outbox_state s JOIN outbox o ON o.id = s.outbox_id "
            "WHERE s.dead_at IS NOT NULL ORDER BY s.dead_at DESC, o.id DESC LIMIT ?",
            (limit,),
        )
        return [Hl7DeadLetter(*r) for r in found]

    def _read(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def _write(self, sql: str, args: tuple[Any, ...]) -> None:
        with self._lock:
            self._conn.execute(sql, args)  # autocommit: one short write transaction


@dataclass(frozen=True, slots=True)
class FeedState:
    """A snapshot of the feed, safe to read from any thread."""

    time: float
    sent: int = 0  # rows acknowledged since the feed started
    backlog: int = 0  # rows waiting
    backlog_by_bed: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    dead_letters: int = 0
    last_error: str = ""  # since the last success
    last_success: float | None = None
    failing_since: float | None = None
    running: bool = False


@dataclass
class PassReport:
    """What one pass did; ``failure`` is the transient error that stopped it, if one did."""

    sent: Counter[str] = field(default_factory=Counter)  # rows acknowledged, per kind
    dead: int = 0
    failure: TransientError | None = None
    waiting_until: float | None = None  # the next row's retry time, when it stopped for it
    rows: int = 0  # pending rows read


class Hl7Feed:
    def __init__(
        self,
        store: FeedStore,
        client: MllpClient,
        config: Hl7Config,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        period: float = PERIOD,
        max_backoff: float = BACKOFF_CAP,
    ) -> None:
        self.store = store
        self.client = client
        self.config = config
        self._clock = clock
        self._rng = rng or random.Random()
        self._max_backoff = max_backoff
        self._thread = PeriodicThread("hl7-feed", period, self.tick)
        self._pass_lock = threading.Lock()  # one pass at a time (thread, CLI or tests)
        self._lock = threading.Lock()
        self._floor = 0  # every feed row with an id up to this one is sent or dead
        self._sent = 0
        self._last_error = ""
        self._last_success: float | None = None
        self._failing_since: float | None = None
        self._running = False
        self._state = FeedState(clock())

    @property
    def state(self) -> FeedState:
        with self._lock:
            return self._state

    def start(self) -> None:
        self._running = True
        self._thread.start()

    def stop(self, timeout: float | None = None) -> bool:
        """Stop after the message in flight; True if the thread ended (its connection closed)."""
        self._running = False
        wait = timeout if timeout is not None else (
            self.client.connect_timeout + self.client.read_timeout + 2.0
        )  # fmt: skip
        stopped = self._thread.stop(wait)
        if stopped:
            self.client.close()
            self.publish()
        return stopped

    def close(self) -> None:
        """Stop, then close the connection to the receiver and the record."""
        self.stop()
        self.store.close()

    def requeue(self, row_id: int) -> bool:
        """Operator action: send a dead letter again (in order: it is now the oldest)."""
        done = self.store.requeue(row_id)
        if done:
            with self._pass_lock:
                self._floor = min(self._floor, row_id - 1)
        return done

    def tick(self) -> None:
        self.run_once()
        self.publish()

    def run_once(self, *, respect_schedule: bool = True, limit: int = ROWS_PER_PASS) -> PassReport:
        """Send due rows in id order until none is left, one fails transiently, or ``limit``.
        With ``respect_schedule`` False, a row's retry time is not waited for."""
        report = PassReport()
        with self._pass_lock:
            try:
                self._pass(report, respect_schedule, limit)
            finally:
                self.client.close()  # a connection per pass: none idles between passes
        return report

    def publish(self, now: float | None = None) -> FeedState:
        """Refresh :attr:`state` (backlog and dead letters are read from the record)."""
        now = self._clock() if now is None else now
        backlog = self.store.backlog(self._floor)
        state = FeedState(
            now,
            self._sent,
            sum(backlog.values()),
            MappingProxyType(backlog),
            self.store.dead_count(),
            self._last_error,
            self._last_success,
            self._failing_since,
            self._running,
        )
        with self._lock:
            self._state = state
        return state

    def _pass(self, report: PassReport, respect_schedule: bool, limit: int) -> None:
        rows = self.store.pending(self._floor, limit)
        report.rows = len(rows)
        people: dict[str, Demographics | None] = {}
        for row in rows:
            now = self._clock()
            if self._thread.stopping:
                return
            if respect_schedule and row.next_attempt is not None and row.next_attempt > now:
                report.waiting_until = row.next_attempt
                return
            if not self._send(row, now, people, report):
                return
            self._floor = row.id

    def _send(
        self,
        row: PendingRow,
        now: float,
        people: dict[str, Demographics | None],
        report: PassReport,
    ) -> bool:
        """One row's fate; False when a transient failure must stop the pass."""
        try:
            payload = _payload(row)
            mrn = str(payload.get("mrn", ""))
            if mrn not in people:
                people[mrn] = self.store.demographics(mrn)
            message = build_message(
                row.id, row.created, row.kind, payload, config=self.config,
                demographics=people[mrn],
            )  # fmt: skip
            self.client.send(message.encode(), message.control_id)
        except (Hl7BuildError, AckRejectedError) as err:
            self.store.mark_dead(row.id, now, str(err))
            report.dead += 1
            log.warning("HL7 feed: row %d dead-lettered: %s", row.id, err)
            return True
        except TransientError as err:
            wait = backoff_delay(row.attempts + 1, self._rng, cap=self._max_backoff)
            self.store.mark_failed(row.id, str(err), now + wait)
            report.failure = err
            self._last_error = str(err)
            self._failing_since = self._failing_since or now
            log.warning("HL7 feed: %s; row %d again in %.1f s", err, row.id, wait)
            return False
        self.store.mark_sent(row.id, now)
        report.sent[row.kind] += 1
        self._sent += 1
        self._last_success, self._last_error, self._failing_since = now, "", None
        return True


def _payload(row: PendingRow) -> dict[str, Any]:
    try:
        found = json.loads(row.payload)
    except ValueError as err:
        raise Hl7BuildError(f"row {row.id}: unreadable payload ({err})") from err
    if not isinstance(found, dict):
        raise Hl7BuildError(f"row {row.id}: the payload is not an object")
    return found
