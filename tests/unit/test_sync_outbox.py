"""The outbox as the sync uses it: pending rows in order and on schedule, backoff with full
jitter, dead letters and their requeue, backlog per bed, and patience with the recorder's
write lock."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlite_utils import Database

from app.sync.errors import ConfigError
from app.sync.outbox import BACKOFF_CAP, Outbox, backoff_delay
from tests.fakes.sync_record import T0, BedRef, enqueue, make_record, vital

BED1 = BedRef("ICU-1", "A1", "SN-1")
BED2 = BedRef("ICU-2", "B2", "SN-2")


@pytest.fixture
def record(tmp_path: Path) -> Iterator[tuple[Database, Outbox]]:
    path = tmp_path / "record.db"
    db = make_record(path)
    outbox = Outbox.open(path, rng=random.Random(7))
    yield db, outbox
    outbox.close()
    db.close()


def add(db: Database, ref: BedRef, n: int) -> list[int]:
    return [enqueue(db, "vital", vital(ref, "HR", 60 + i, "/min", T0 + i)) for i in range(n)]


def test_pending_rows_come_in_order_and_respect_their_retry_time(
    record: tuple[Database, Outbox],
) -> None:
    db, outbox = record
    ids = add(db, BED1, 3) + add(db, BED2, 2)
    assert [r.id for r in outbox.pending(T0, 10)] == ids
    assert [r.id for r in outbox.pending(T0, 2)] == ids[:2]
    first = outbox.pending(T0, 1)
    outbox.mark_failed(first, T0, "HTTP 503", min_delay=30.0)
    assert [r.id for r in outbox.pending(T0 + 29, 10)] == ids[1:]
    assert [r.id for r in outbox.pending(T0 + 29, 10, respect_schedule=False)] == ids
    (again, *_) = outbox.pending(T0 + 30, 10)
    assert (again.id, again.attempts, again.last_error) == (ids[0], 1, "HTTP 503")
    assert again.payload["code"] == "HR"


def test_backoff_is_full_jitter_doubling_to_a_cap() -> None:
    rng = random.Random(1)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (9, 256.0), (10, 300.0), (99, 300.0)]:
        waits = [backoff_delay(attempt, rng) for _ in range(300)]
        assert 0.0 <= min(waits) < ceiling * 0.1
        assert ceiling * 0.9 < max(waits) <= ceiling
    assert BACKOFF_CAP == 300.0


def test_sent_dead_requeued_and_counted_per_bed(record: tuple[Database, Outbox]) -> None:
    db, outbox = record
    ids = add(db, BED1, 3) + add(db, BED2, 2)
    assert outbox.backlog() == {"ICU-1": 3, "ICU-2": 2}
    outbox.mark_sent(ids[:2], T0 + 1)
    outbox.mark_dead([ids[3]], T0 + 2, "HTTP 400: Invalid additional property @ Observation.x")
    assert outbox.backlog() == {"ICU-1": 1, "ICU-2": 1}
    assert outbox.dead_counts() == {"ICU-2": 1}
    assert outbox.last_sent() == {"ICU-1": T0 + 1}
    (dead,) = outbox.dead_letters()
    assert (dead.id, dead.bed, dead.kind, dead.dead_at) == (ids[3], "ICU-2", "vital", T0 + 2)
    assert dead.error.endswith("@ Observation.x")
    assert dead.payload["value"] == 60
    assert outbox.requeue(ids[3])
    assert not outbox.requeue(ids[3])
    assert not outbox.requeue(ids[0])  # sent, not dead
    assert outbox.dead_letters() == []
    row = next(r for r in outbox.pending(T0, 10) if r.id == ids[3])
    assert (row.attempts, row.last_error) == (0, None)


def test_a_write_waits_for_the_recorders_lock(record: tuple[Database, Outbox]) -> None:
    db, outbox = record
    ids = add(db, BED1, 2)
    path = db.conn.execute("PRAGMA database_list").fetchone()[2]
    recorder = sqlite3.connect(path, check_same_thread=False)
    recorder.execute("BEGIN IMMEDIATE")  # the recorder is writing a batch
    recorder.execute("INSERT INTO outbox (created, kind, payload) VALUES (1, 'vital', '{}')")
    releaser = threading.Timer(0.3, recorder.commit)
    releaser.start()
    started = time.monotonic()
    outbox.mark_sent(ids, T0)  # SQLITE_BUSY until the commit: waits instead of failing
    assert time.monotonic() - started >= 0.25
    releaser.join()
    recorder.close()
    assert outbox.backlog() == {"": 1}


def test_what_is_not_a_record_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no record at"):
        Outbox.open(tmp_path / "missing.db")
    (tmp_path / "junk.db").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(ConfigError, match="not a Vigil record"):
        Outbox.open(tmp_path / "junk.db")
    old = sqlite3.connect(tmp_path / "old.db")
    old.execute(
        "CREATE TABLE outbox (id INTEGER PRIMARY KEY, created REAL, kind TEXT, "
        "payload TEXT, sent_at REAL)"
    )
    old.close()
    with pytest.raises(ConfigError, match="before migration m004"):
        Outbox.open(tmp_path / "old.db")
