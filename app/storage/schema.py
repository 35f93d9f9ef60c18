"""The record's tables, and the forward migrations that build and change them.

Migrations run in order, each in its own transaction with the record that it ran
(sqlite-utils' ``_sqlite_migrations`` table); ``PRAGMA user_version`` then holds their count,
so a file written by a newer Vigil is refused with a clear message instead of being misread.
Times are seconds since the epoch (UTC), as everywhere in Vigil.
"""

from __future__ import annotations

import sqlite3

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

MIGRATIONS = Migrations("vigil")
MAX_BLOCK = 10.0  # s: the longest stretch of one channel a waveform row may hold
# Reading qualities by their stored number (m003): never reorder, only append.
QUALITIES = ("valid", "questionable", "invalid", "unavailable")


class SchemaError(RuntimeError):
    """The file cannot be used by this version of Vigil; the message says why."""


@MIGRATIONS()
def m001_record(db: Database) -> None:
    db.table("patients").create(
        {"mrn": str, "family_name": str, "given_name": str, "date_of_birth": str,
         "sex": str, "category": str},
        pk="mrn",
    )  # fmt: skip
    db.table("admissions").create(
        {"id": int, "bed": str, "mrn": str, "admitted_at": float, "discharged_at": float},
        pk="id",
        not_null={"bed", "mrn", "admitted_at"},
    )
    db.table("devices").create(
        {"serial": str, "kind": str, "manufacturer": str, "model": str, "simulated": int},
        pk="serial",
    )
    db.table("assignments").create(
        {"id": int, "bed": str, "serial": str, "attached_at": float, "detached_at": float},
        pk="id",
        not_null={"bed", "serial", "attached_at"},
    )
    db.table("numerics").create(
        {"id": int, "t": float, "bed": str, "device": str, "code": str, "value": float,
         "unit": str, "quality": str, "message": str},
        pk="id",
        not_null={"t", "bed", "device", "code", "unit", "quality"},
    )  # fmt: skip
    db.table("numerics").create_index(["bed", "code", "t"])
    db.table("numerics").create_index(["t"])
    # One row per bed, parameter and minute: the median, mean, extremes and count of the
    # VALID readings of that minute (trends read these, never the raw numerics).
    db.table("trends").create(
        {"bed": str, "code": str, "minute": int, "n": int, "median": float, "mean": float,
         "min": float, "max": float},
        pk=("bed", "code", "minute"),
    )  # fmt: skip
    db.table("trends").create_index(["minute"])
    db.table("waveforms").create(
        {"id": int, "bed": str, "device": str, "channel": str, "t_start": float,
         "rate": float, "gain": float, "offset": float, "n": int, "data": bytes},
        pk="id",
        not_null={"bed", "device", "channel", "t_start", "rate", "gain", "n", "data"},
    )  # fmt: skip
    db.table("waveforms").create_index(["bed", "channel", "t_start"])
    db.table("waveforms").create_index(["t_start"])
    db.table("alarm_log").create(
        {"id": int, "t": float, "bed": str, "event": str, "alarm_id": int, "priority": str,
         "kind": str, "code": str, "text": str, "user": str, "detail": str, "since": float},
        pk="id",
        not_null={"t", "event"},
    )  # fmt: skip
    db.table("alarm_log").create_index(["bed", "t"])
    db.table("alarm_log").create_index(["t"])
    # Rhythm and analysis events, device status changes and technical conditions.
    db.table("events").create(
        {"id": int, "t": float, "bed": str, "device": str, "kind": str, "name": str,
         "active": int, "message": str},
        pk="id",
        not_null={"t", "bed", "kind", "name"},
    )  # fmt: skip
    db.table("events").create_index(["bed", "t"])
    db.table("events").create_index(["t"])
    # What the EHR sync will send; rows stay until it marks them sent.
    db.table("outbox").create(
        {"id": int, "created": float, "kind": str, "payload": str, "sent_at": float},
        pk="id",
        not_null={"created", "kind", "payload"},
    )


@MIGRATIONS()
def m002_trends_clustered(db: Database) -> None:
    """Trends as a WITHOUT ROWID table: one bed's minutes of one parameter lie together on
    disk, so a 24-h trend is one range read, not 1,440 scattered ones."""
    db.execute(
        "CREATE TABLE trends_clustered (bed TEXT NOT NULL, code TEXT NOT NULL, "
        "minute INTEGER NOT NULL, n INTEGER, median FLOAT, mean FLOAT, min FLOAT, max FLOAT, "
        "PRIMARY KEY (bed, code, minute)) WITHOUT ROWID"
    )
    db.execute("INSERT INTO trends_clustered SELECT bed, code, minute, n, median, mean, min, "
               "max FROM trends")  # fmt: skip
    db.execute("DROP TABLE trends")
    db.execute("ALTER TABLE trends_clustered RENAME TO trends")
    db.execute("CREATE INDEX idx_trends_minute ON trends (minute)")


@MIGRATIONS()
def m003_numerics_by_series(db: Database) -> None:
    """Numerics as (series, time, value, quality): bed, device, parameter and unit are named
    once per series instead of on every reading, and one series' readings lie together on
    disk. This quarters their size. ``numerics`` becomes a view with the old columns."""
    db.execute(
        "CREATE TABLE series (id INTEGER PRIMARY KEY, bed TEXT NOT NULL, device TEXT NOT NULL,"
        " code TEXT NOT NULL, unit TEXT NOT NULL, UNIQUE (bed, device, code, unit))"
    )
    db.execute("CREATE TABLE qualities (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
    db.execute("INSERT INTO qualities VALUES " + ", ".join(
        f"({i}, '{name}')" for i, name in enumerate(QUALITIES)
    ))  # fmt: skip
    db.execute(
        "CREATE TABLE readings (series INTEGER NOT NULL REFERENCES series (id), "
        "t REAL NOT NULL, value REAL, quality INTEGER NOT NULL REFERENCES qualities (id), "
        "message TEXT, PRIMARY KEY (series, t)) WITHOUT ROWID"
    )
    db.execute("INSERT INTO series (bed, device, code, unit) "
               "SELECT DISTINCT bed, device, code, unit FROM numerics")  # fmt: skip
    db.execute(
        "INSERT OR REPLACE INTO readings SELECT s.id, n.t, n.value, q.id, "
        "NULLIF(n.message, '') FROM numerics n JOIN series s USING (bed, device, code, unit) "
        "JOIN qualities q ON q.name = n.quality ORDER BY n.id"
    )
    db.execute("DROP TABLE numerics")
    db.execute(
        "CREATE VIEW numerics AS SELECT r.t, s.bed, s.device, s.code, r.value, s.unit, "
        "q.name AS quality, COALESCE(r.message, '') AS message "
        "FROM readings r JOIN series s ON s.id = r.series JOIN qualities q ON q.id = r.quality"
    )


@MIGRATIONS()
def m004_outbox_delivery(db: Database) -> None:
    """What the EHR sync needs to deliver each row: its bed (backlog per bed), attempts and
    the next one (backoff), the last error, and dead-lettering (a permanent rejection)."""
    for column in ("bed TEXT", "attempts INTEGER NOT NULL DEFAULT 0", "next_attempt REAL",
                   "last_error TEXT", "dead_at REAL"):  # fmt: skip
        db.execute(f"ALTER TABLE outbox ADD COLUMN {column}")
    db.execute("CREATE INDEX idx_outbox_pending ON outbox (id) "
               "WHERE sent_at IS NULL AND dead_at IS NULL")  # fmt: skip
    db.execute("CREATE INDEX idx_outbox_dead ON outbox (dead_at) WHERE dead_at IS NOT NULL")


@MIGRATIONS()
def m005_wearables(db: Database) -> None:
    """The Bluetooth LE allow-list: devices paired at this station, connected automatically,
    and the bed each feeds (NULL: paired, assigned nowhere)."""
    db.execute(
        "CREATE TABLE wearables (address TEXT PRIMARY KEY, name TEXT NOT NULL, "
        "services TEXT NOT NULL, bed TEXT, paired_at REAL NOT NULL)"
    )


def open_database(path: str, *, readonly: bool = False, stop_before: str | None = None
                  ) -> Database:  # fmt: skip
    """A connection to the record at ``path`` in WAL mode, migrated to this version (the
    writer's), or, with ``readonly``, one that only reads (a reader's own connection).
    ``stop_before`` leaves that migration and later ones pending (tests of migrations)."""
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        db = Database(conn)
        _check_version(db)
        return db
    conn = sqlite3.connect(path, check_same_thread=False)
    db = Database(conn)
    db.execute("PRAGMA journal_mode=WAL")
    # WAL with synchronous=NORMAL: a killed process loses nothing committed; a power cut
    # may lose the last transactions, never the file's consistency.
    db.execute("PRAGMA synchronous=NORMAL")
    _check_version(db)
    MIGRATIONS.apply(db, stop_before=stop_before)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS.applied(db))}")
    return db


def known_version() -> int:
    return len(MIGRATIONS.pending(Database(memory=True)))


def _check_version(db: Database) -> None:
    found = int(db.execute("PRAGMA user_version").fetchone()[0])
    if found > known_version():
        raise SchemaError(
            f"the record was written by a newer Vigil (schema {found}, this one knows "
            f"{known_version()}); open it with that version"
        )
