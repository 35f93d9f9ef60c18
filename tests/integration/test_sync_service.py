"""The sync worker against a real FHIR server: it drains on its own thread through an outage
(the backlog grows while the EHR is down, and drains once it is back, without loss or
duplicates), keeps a per-bed state, and raises EHR_SYNC_FAILING after 5 min of failure."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlite_utils import Database

from app.sync.client import FhirClient
from app.sync.naming import FhirNaming
from app.sync.outbox import Outbox
from app.sync.service import ALARM_CODE, SyncService
from app.sync.state import FAILING_AFTER, Health
from tests.fakes.sync_record import (
    MRN_SYSTEM,
    POISON,
    T0,
    BedRef,
    add_bed,
    alarm,
    enqueue,
    fill_vitals,
    make_record,
    poisoned_alarm_observation,
)
from tests.fhir_server.fixture import FhirServer

NAMING = FhirNaming(station_id="station-7", mrn_system=MRN_SYSTEM)
BED1 = BedRef("ICU-1", "A1234567", "SN-1")
BED2 = BedRef("ICU-2", "B7654321", "SN-2")


class Clock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def record(tmp_path: Path) -> Iterator[tuple[Database, Path]]:
    path = tmp_path / "record.db"
    db = make_record(path)
    add_bed(db, BED1)
    add_bed(db, BED2)
    yield db, path
    db.close()


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for the sync")
        time.sleep(0.02)


def health(service: SyncService) -> Health:
    return service.state.station.health


def pending(db: Database) -> int:
    return int(db.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0])


def test_the_worker_rides_out_an_outage_mid_sync(
    record: tuple[Database, Path], fhir_server: FhirServer
) -> None:
    db, path = record
    total = fill_vitals(db, BED1, 15) + fill_vitals(db, BED2, 15)
    fhir_server.inject(match="^POST", delay_ms=15)  # a drain long enough to interrupt
    outbox = Outbox.open(path)
    client = FhirClient(fhir_server.base_url, timeout=2.0)
    service = SyncService(
        outbox, client, NAMING, period=0.05, max_backoff=0.3, rng=random.Random(3)
    )
    service.start()
    try:
        wait_for(lambda: fhir_server.stats().get("Observation", 0) >= 24)
        fhir_server.kill()  # mid-drain
        wait_for(lambda: health(service) is Health.RETRYING)
        before = service.state.station.backlog
        assert 0 < before < total
        added = fill_vitals(db, BED1, 10, start=T0 + 1800)
        wait_for(lambda: service.state.station.backlog == before + added)  # it grows
        assert service.state.for_bed("ICU-1").health is Health.RETRYING
        assert "refused" in service.state.station.last_error.lower()
        waiting = pending(db)
        fhir_server.start()  # back, empty
        wait_for(lambda: service.state.station.backlog == 0)
    finally:
        assert service.stop()
        client.close()
        outbox.close()
    assert pending(db) == 0  # nothing lost
    state = service.state.station
    assert (state.health, state.last_error, state.dead_letters) == (Health.OK, "", 0)
    # Every row waiting at the restart is on the (empty) server again exactly once.
    assert fhir_server.stats() == {"Patient": 2, "Device": 2, "Observation": waiting}


def test_failing_for_5_minutes_raises_the_technical_alarm_and_recovery_clears_it(
    record: tuple[Database, Path], fhir_server: FhirServer
) -> None:
    db, path = record
    fill_vitals(db, BED1, 2)
    clock = Clock()
    raised: list[tuple[str, str]] = []
    cleared: list[str] = []
    outbox = Outbox.open(path)
    client = FhirClient(fhir_server.base_url, timeout=1.0)
    service = SyncService(
        outbox,
        client,
        NAMING,
        clock=clock,
        rng=random.Random(4),
        raise_technical=lambda code, text: raised.append((code, text)),
        clear_technical=cleared.append,
    )
    try:
        fhir_server.stop()
        service.tick()
        assert health(service) is Health.RETRYING
        assert service.state.station.failing_since == T0
        for step in (60.0, 120.0, FAILING_AFTER - 1):  # retried after each backoff
            clock.t = T0 + step
            service.tick()
            assert raised == []
        clock.t = T0 + FAILING_AFTER
        service.tick()
        assert health(service) is Health.FAILING
        assert service.state.for_bed("ICU-1").health is Health.FAILING
        assert len(raised) == 1
        assert raised[0][0] == ALARM_CODE == "EHR_SYNC_FAILING"
        assert "refused" in raised[0][1].lower()
        clock.t += 400.0  # still down: raised once, not again
        service.tick()
        assert len(raised) == 1
        fhir_server.start()
        clock.t += 400.0
        service.tick()
        assert cleared == [ALARM_CODE]
        assert health(service) is Health.OK
        assert service.state.station.last_success == clock.t
    finally:
        client.close()
        outbox.close()


def test_state_per_bed_and_a_requeue_through_the_service(
    record: tuple[Database, Path], fhir_server: FhirServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, path = record
    monkeypatch.setattr("app.sync.payloads.alarm_observation", poisoned_alarm_observation)
    fill_vitals(db, BED1, 1)
    bad = enqueue(db, "alarm", {**alarm(BED2, T0), "detail": POISON})
    clock = Clock()
    outbox = Outbox.open(path)
    client = FhirClient(fhir_server.base_url)
    service = SyncService(outbox, client, NAMING, clock=clock)
    try:
        service.tick()
        bed1, bed2 = service.state.for_bed("ICU-1"), service.state.for_bed("ICU-2")
        assert (bed1.backlog, bed1.last_success, bed1.dead_letters) == (0, T0, 0)
        assert (bed2.backlog, bed2.last_success, bed2.dead_letters) == (0, None, 1)
        assert service.state.station.dead_letters == 1
        assert [d.id for d in service.dead_letters()] == [bad]
        db.execute(
            "UPDATE outbox SET payload = json_set(payload, '$.detail', 'x') WHERE id = ?", [bad]
        )
        db.conn.commit()
        assert service.requeue(bad)
        clock.t += 1
        service.tick()
        assert service.state.for_bed("ICU-2").dead_letters == 0
        assert service.state.for_bed("ICU-2").last_success == T0 + 1
    finally:
        client.close()
        outbox.close()
    assert fhir_server.stats()["Observation"] == 5
