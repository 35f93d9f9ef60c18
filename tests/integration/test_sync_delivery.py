"""The sync delivers the outbox to a real FHIR server (Medplum's engine): every kind of row,
exactly once, through outages, slow and garbled answers, and refusals that dead-letter only
the refused row."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlite_utils import Database

from app.sync.client import FhirClient
from app.sync.naming import FhirNaming
from app.sync.outbox import Outbox
from app.sync.service import SyncReport, sync_once
from tests.fakes.sync_record import (
    MRN_SYSTEM,
    POISON,
    T0,
    BedRef,
    add_bed,
    alarm,
    blood_pressure,
    enqueue,
    fill_vitals,
    make_record,
    news2,
    poisoned_alarm_observation,
    vital,
)
from tests.fhir_server.fixture import FhirServer

NAMING = FhirNaming(station_id="station-7", mrn_system=MRN_SYSTEM)
BED1 = BedRef("ICU-1", "A1234567", "SN-1")
BED2 = BedRef("ICU-2", "B7654321", "SN-2")


@pytest.fixture
def record(tmp_path: Path) -> Iterator[tuple[Database, Path]]:
    path = tmp_path / "record.db"
    db = make_record(path)
    add_bed(db, BED1)
    add_bed(db, BED2, simulated=True)
    yield db, path
    db.close()


def drain(
    path: Path, server: FhirServer, timeout: float = 5.0, give_up_after: float = 30.0
) -> SyncReport:
    """``sync_once`` without real waiting between retries."""
    outbox = Outbox.open(path, rng=random.Random(1))
    client = FhirClient(server.base_url, timeout=timeout)
    try:
        return sync_once(
            outbox,
            client,
            NAMING,
            sleep=lambda s: None,
            rng=random.Random(2),
            give_up_after=give_up_after,
        )
    finally:
        client.close()
        outbox.close()


def pending(db: Database) -> int:
    return int(db.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0])


def test_every_kind_is_delivered_once_and_a_resend_duplicates_nothing(
    record: tuple[Database, Path], fhir_server: FhirServer
) -> None:
    db, path = record
    n = fill_vitals(db, BED1, 5) + fill_vitals(db, BED2, 5)
    enqueue(db, "vital", vital(BED1, "TEMP", 37.4, "Cel", T0 + 7))
    enqueue(db, "blood_pressure", blood_pressure(BED2, T0 + 9))
    enqueue(db, "news2", news2(BED1, T0 + 30))
    enqueue(db, "alarm", alarm(BED2, T0 + 40))
    report = drain(path, fhir_server)
    assert report.drained, report.error
    assert dict(report.sent) == {"vital": n + 1, "blood_pressure": 1, "news2": 1, "alarm": 1}
    assert fhir_server.stats() == {"Patient": 2, "Device": 2, "Observation": n + 4}
    assert pending(db) == 0
    # Every answer was lost (the station restarted before marking them): all sent again.
    db.execute("UPDATE outbox SET sent_at = NULL")
    db.conn.commit()
    assert drain(path, fhir_server).sent.total() == n + 4
    assert fhir_server.stats() == {"Patient": 2, "Device": 2, "Observation": n + 4}


def test_a_refused_row_is_dead_lettered_alone_with_the_servers_message_and_requeued(
    record: tuple[Database, Path], fhir_server: FhirServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, path = record
    monkeypatch.setattr("app.sync.payloads.alarm_observation", poisoned_alarm_observation)
    fill_vitals(db, BED1, 1)
    bad = enqueue(db, "alarm", {**alarm(BED1, T0 + 20), "detail": POISON})  # blank note text
    fill_vitals(db, BED1, 1, start=T0 + 60)
    report = drain(path, fhir_server)
    assert report.drained
    assert (report.sent.total(), report.dead_letters) == (8, 1)
    assert fhir_server.stats()["Observation"] == 8  # its bundle's neighbours went through
    outbox = Outbox.open(path)
    try:
        (dead,) = outbox.dead_letters()
        assert (dead.id, dead.kind, dead.bed) == (bad, "alarm", "ICU-1")
        assert "HTTP 400" in dead.error
        assert "vigilPoison" in dead.error  # the server's own words
        assert outbox.dead_counts() == {"ICU-1": 1}
        assert outbox.backlog() == {}
        # The operator fixes the cause and sends it again.
        db.execute(
            "UPDATE outbox SET payload = json_set(payload, '$.detail', 'x') WHERE id = ?", [bad]
        )
        db.conn.commit()
        assert outbox.requeue(bad)
        assert not outbox.requeue(bad)  # no longer a dead letter
        assert outbox.backlog() == {"ICU-1": 1}
    finally:
        outbox.close()
    again = drain(path, fhir_server)
    assert (dict(again.sent), again.dead_letters) == ({"alarm": 1}, 0)
    assert fhir_server.stats()["Observation"] == 9


def test_rows_that_cannot_become_resources_are_dead_lettered_without_a_request(
    record: tuple[Database, Path], fhir_server: FhirServer
) -> None:
    db, path = record
    unknown = enqueue(db, "vital", vital(BedRef("ICU-9", "Z9999999", "SN-1"), "HR", 80, "/min", T0))
    bpm = enqueue(db, "vital", vital(BED1, "HR", 80, "bpm", T0))
    teleport = enqueue(db, "teleport", {"bed": "ICU-1"})
    report = drain(path, fhir_server)
    assert (report.drained, report.dead_letters) == (True, 3)
    outbox = Outbox.open(path)
    errors = {d.id: d.error for d in outbox.dead_letters()}
    outbox.close()
    assert "patient 'Z9999999' is not in the record" in errors[unknown]
    assert "'bpm'" in errors[bpm]
    assert "unknown kind 'teleport'" in errors[teleport]
    # Only the check that the base is a FHIR R4 server: no bundle was worth sending.
    assert [r["url"] for r in fhir_server.requests()] == ["/fhir/R4/metadata"]


def test_an_outage_mid_sync_grows_the_backlog_then_drains_without_loss_or_duplicates(
    record: tuple[Database, Path], fhir_server: FhirServer
) -> None:
    db, path = record
    first = fill_vitals(db, BED1, 10)
    assert drain(path, fhir_server).sent.total() == first
    fhir_server.kill()  # the EHR goes away mid-shift
    more = fill_vitals(db, BED1, 10, start=T0 + 600) + fill_vitals(db, BED2, 10)
    down = drain(path, fhir_server, give_up_after=0.0)
    assert not down.drained
    assert "connection refused" in str(down.error).lower()
    assert down.backlog == more  # nothing lost, nothing marked
    fhir_server.start()  # back, empty (the test server keeps nothing across a restart)
    up = drain(path, fhir_server)
    assert (up.drained, up.sent.total()) == (True, more)
    # One Observation per row that was waiting: none lost, none twice.
    assert fhir_server.stats() == {"Patient": 2, "Device": 2, "Observation": more}


def test_dropped_connections_and_lost_answers_are_retried_without_duplicates(
    record: tuple[Database, Path], fhir_server: FhirServer
) -> None:
    db, path = record
    n = fill_vitals(db, BED1, 12)
    post = "^POST /fhir/R4/?$"
    fhir_server.inject(match=post, times=2, drop=True)  # handled, then the connection cut
    fhir_server.inject(match=post, times=2, status=502, process=True)  # committed, answer lost
    fhir_server.inject(match=post, times=1, truncate=True)  # half an answer
    report = drain(path, fhir_server)
    assert report.drained, report.error
    assert report.sent.total() == n
    assert fhir_server.stats() == {"Patient": 1, "Device": 1, "Observation": n}
    faulted = [r for r in fhir_server.requests() if r["fault"] is not None]
    assert len(faulted) == 5


def test_a_slow_server_times_out_then_succeeds(
    record: tuple[Database, Path], fhir_server: FhirServer
) -> None:
    db, path = record
    n = fill_vitals(db, BED1, 3)
    fhir_server.inject(match="^POST", times=2, delay_ms=1200)
    report = drain(path, fhir_server, timeout=0.4)
    assert report.drained, report.error
    assert report.sent.total() == n
    assert db.execute("SELECT MAX(attempts) FROM outbox").fetchone()[0] == 2
    # The timed-out requests still commit, late; the resends found them or came first.
    deadline = time.monotonic() + 5.0
    while len(fhir_server.requests()) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sum(1 for r in fhir_server.requests() if r["fault"] is not None) == 2
    assert fhir_server.stats()["Observation"] == n


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("<html><body>Bad gateway</body></html>", "text/html"),
        ('{"resourceType": "Patient"}', "application/fhir+json"),
        ('{"resourceType": "Bundle", "type": "transaction-resp', "application/fhir+json"),
    ],
)
def test_malformed_answers_are_retried(
    record: tuple[Database, Path], fhir_server: FhirServer, body: str, content_type: str
) -> None:
    db, path = record
    n = fill_vitals(db, BED1, 2)
    fhir_server.inject(match="^POST", times=2, body=body, content_type=content_type)
    report = drain(path, fhir_server)
    assert report.drained, report.error
    assert report.sent.total() == n
    assert fhir_server.stats()["Observation"] == n
    attempts = db.execute("SELECT MAX(attempts) FROM outbox").fetchone()[0]
    assert attempts == 2  # both garbled answers counted against the rows


def test_throttling_waits_at_least_as_long_as_the_server_asks(
    record: tuple[Database, Path], fhir_server: FhirServer
) -> None:
    db, path = record
    fill_vitals(db, BED1, 1)
    fhir_server.inject(match="^POST", times=1, status=429, headers={"Retry-After": "7"})
    waits: list[float] = []
    outbox, client = Outbox.open(path), FhirClient(fhir_server.base_url)
    try:
        report = sync_once(outbox, client, NAMING, sleep=waits.append, give_up_after=60.0)
    finally:
        client.close()
        outbox.close()
    assert report.drained
    assert len(waits) == 1
    assert waits[0] >= 7.0
