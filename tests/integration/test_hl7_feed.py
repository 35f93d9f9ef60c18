"""The PCD-01 feed (app.sync.hl7_feed, app.sync.mllp, app.sync.hl7_cli) against a real MLLP
listener on loopback (tests.fakes.mllp_server), on a real record.

MLLP has no exactly-once: when an ACK is lost the feed sends the same message again (same
MSH-10), and the receiver must de-duplicate by MSH-10. These tests check that the repeat is
identical and that the feed counts the row once.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from pathlib import Path

import hl7
import pytest
from sqlite_utils import Database

from app.sync.hl7_cli import add_hl7_parser, run_hl7
from app.sync.hl7_feed import FeedStore, Hl7Feed
from app.sync.hl7_message import Hl7Config
from app.sync.mllp import MllpClient
from app.sync.outbox import Outbox
from tests.fakes.mllp_server import CLOSE, SILENT, MllpServer, Reply
from tests.fakes.sync_record import (
    T0,
    BedRef,
    add_bed,
    alarm,
    blood_pressure,
    enqueue,
    make_record,
    news2,
    vital,
)

BED = BedRef("ICU-1", "A1234567", "SN-1")
CONFIG = Hl7Config("station-7", "HOSP")
FHIR_COLUMNS = "SELECT id, sent_at, attempts, next_attempt, last_error, dead_at FROM outbox"


class Clock:
    def __init__(self) -> None:
        self.t = T0 + 100.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def record(tmp_path: Path) -> Iterator[tuple[Path, Database]]:
    path = tmp_path / "record.db"
    db = make_record(path)
    add_bed(db, BED)
    yield path, db
    db.close()


@pytest.fixture
def server() -> Iterator[MllpServer]:
    with MllpServer() as running:
        yield running


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_feed(path: Path, port: int, clock: Clock, period: float = 1.0) -> Hl7Feed:
    client = MllpClient("127.0.0.1", port, connect_timeout=1.0, read_timeout=0.3)
    return Hl7Feed(FeedStore.open(path), client, CONFIG, clock=clock, period=period)


@pytest.fixture
def feed(record: tuple[Path, Database], server: MllpServer, clock: Clock) -> Iterator[Hl7Feed]:
    made = make_feed(record[0], server.port, clock)
    yield made
    made.close()


def add_vitals(db: Database, n: int, start: float = T0) -> list[int]:
    return [enqueue(db, "vital", vital(BED, "HR", 60.0 + i, "/min", start + i)) for i in range(n)]


def test_rows_go_in_order_one_message_each_and_only_vitals_and_nibp(
    record: tuple[Path, Database], server: MllpServer, feed: Hl7Feed
) -> None:
    db = record[1]
    first = add_vitals(db, 2)
    enqueue(db, "news2", news2(BED, T0 + 3))
    enqueue(db, "alarm", alarm(BED, T0 + 4))
    last = enqueue(db, "blood_pressure", blood_pressure(BED, T0 + 5))
    assert feed.publish().backlog == 3  # news2 and alarms are not the feed's
    report = feed.run_once()
    assert report.sent == {"vital": 2, "blood_pressure": 1}
    assert report.failure is None
    ids = server.control_ids()
    assert ids == [f"station-7-{i}-{round(T0 * 1000)}" for i in (*first, last)]
    bp = hl7.parse(server.received[2])
    assert [str(s(3)(1)(1)) for s in bp.segments("OBX")] == ["150021", "150022", "150023"]
    assert str(bp.segment("PID")(5)) == "Doe^ICU-1^^^^^L"  # from the record's patients
    state = feed.publish()
    assert (state.sent, state.backlog, state.dead_letters, state.last_error) == (3, 0, 0, "")
    assert feed.run_once().rows == 0
    assert len(server.received) == 3


def test_a_rejection_is_a_dead_letter_with_the_receivers_text_and_the_rest_goes_on(
    record: tuple[Path, Database], server: MllpServer, feed: Hl7Feed
) -> None:
    rows = add_vitals(record[1], 3)
    server.script("AA", Reply("AE", "Unknown patient | A1234567"), "AA")
    report = feed.run_once()
    assert (report.sent["vital"], report.dead, report.failure) == (2, 1, None)
    dead = feed.store.dead_letters()
    assert [(d.id, d.kind, d.bed) for d in dead] == [(rows[1], "vital", "ICU-1")]
    assert dead[0].error.startswith("AE: Unknown patient | A1234567")
    state = feed.publish()
    assert (state.sent, state.backlog, state.dead_letters) == (2, 0, 1)
    assert feed.requeue(rows[1])
    assert feed.run_once().sent["vital"] == 1
    assert server.control_ids()[-1] == server.control_ids()[1]
    assert feed.publish().dead_letters == 0


def test_ar_is_a_rejection_too(
    record: tuple[Path, Database], server: MllpServer, feed: Hl7Feed
) -> None:
    add_vitals(record[1], 1)
    server.script(Reply("AR"))
    assert feed.run_once().dead == 1
    assert feed.store.dead_letters()[0].error == "AR (no reason given)"


@pytest.mark.parametrize(
    ("step", "reason"),
    [
        (SILENT, "no ACK from 127.0.0.1:\\d+ within 0.3 s"),
        (CLOSE, "closed the connection before the ACK"),
        (Reply("AA", control_id="someone-else"), "is for 'someone-else'"),
    ],
)
def test_no_ack_is_retried_after_a_backoff_and_the_row_counts_once(
    *,
    record: tuple[Path, Database],
    server: MllpServer,
    feed: Hl7Feed,
    clock: Clock,
    step: str | Reply,
    reason: str,
) -> None:
    rows = add_vitals(record[1], 2)
    server.script(step)
    report = feed.run_once()
    assert report.failure is not None
    assert report.sent.total() == 0
    assert report.failure is not None
    with pytest.raises(type(report.failure), match=reason):
        raise report.failure
    state = feed.publish()
    assert (state.sent, state.backlog, state.failing_since) == (0, 2, clock.t)
    assert state.last_error == str(report.failure)
    # The retry waits for its backoff (full jitter, at most 1 s for the first), rows behind it too.
    waiting = feed.run_once()
    assert waiting.sent.total() == 0
    assert waiting.waiting_until is not None
    assert clock.t <= waiting.waiting_until <= clock.t + 1.0
    clock.t += 1.0
    assert feed.run_once().sent["vital"] == 2
    first = f"station-7-{rows[0]}-{round(T0 * 1000)}"
    assert server.control_ids() == [first, first, f"station-7-{rows[1]}-{round(T0 * 1000)}"]
    assert server.received[0] == server.received[1]  # the very same message: de-duplicable
    state = feed.publish()
    assert (state.sent, state.backlog, state.last_error, state.failing_since) == (2, 0, "", None)


def test_an_outage_grows_the_backlog_and_the_return_drains_it_in_order(
    record: tuple[Path, Database], clock: Clock
) -> None:
    path, db = record
    first = MllpServer()
    port = first.port
    feed = make_feed(path, port, clock)
    try:
        add_vitals(db, 2)
        assert feed.run_once().sent["vital"] == 2
        first.stop()
        add_vitals(db, 3, T0 + 10)
        report = feed.run_once()
        assert report.failure is not None
        assert "Connection refused" in str(report.failure)
        enqueue(db, "blood_pressure", blood_pressure(BED, T0 + 20))
        assert feed.publish().backlog == 4
        clock.t += 600.0
        with MllpServer(port) as second:
            report = feed.run_once()
            assert report.sent == {"vital": 3, "blood_pressure": 1}
            assert feed.publish().backlog == 0
            ids = first.control_ids() + second.control_ids()
        assert len(ids) == len(set(ids)) == 6
        assert [int(i.split("-")[2]) for i in ids] == sorted(int(i.split("-")[2]) for i in ids)
    finally:
        feed.close()
        first.stop()


def test_the_fhir_outbox_columns_are_the_fhir_syncs_alone(
    record: tuple[Path, Database], server: MllpServer, feed: Hl7Feed
) -> None:
    path, db = record
    rows = add_vitals(db, 3)
    outbox = Outbox.open(path)
    try:
        outbox.mark_sent([rows[0]], T0 + 50)  # the FHIR sync delivered one already
        before = db.execute(FHIR_COLUMNS).fetchall()
        server.script("AA", "AE", SILENT)
        feed.run_once()
        assert db.execute(FHIR_COLUMNS).fetchall() == before
        assert [r.id for r in outbox.pending(T0 + 100, 10)] == rows[1:]
    finally:
        outbox.close()
    found = db.execute(
        "SELECT outbox_id, sent_at IS NOT NULL, attempts, dead_at IS NOT NULL, "
        "last_error IS NOT NULL FROM hl7_outbox_state ORDER BY outbox_id"
    ).fetchall()
    assert found == [(rows[0], 1, 1, 0, 0), (rows[1], 0, 1, 1, 1), (rows[2], 0, 1, 0, 1)]


def test_the_thread_delivers_and_stops_cleanly(
    record: tuple[Path, Database], server: MllpServer
) -> None:
    path, db = record
    feed = Hl7Feed(
        FeedStore.open(path),
        MllpClient("127.0.0.1", server.port, connect_timeout=1.0, read_timeout=1.0),
        CONFIG,
        period=0.02,
    )
    try:
        feed.start()
        add_vitals(db, 5)
        deadline = time.monotonic() + 5.0
        while feed.state.sent < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        running = feed.state
        assert (running.sent, running.running) == (5, True)
        assert feed.stop(2.0)
        assert feed.state.running is False
        assert not feed.client.connected
    finally:
        feed.close()
    assert len(server.received) == 5


def cli(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="main.py")
    add_hl7_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["hl7", *argv])


def test_cli_once_drains_and_says_what_it_sent(
    record: tuple[Path, Database], server: MllpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path, db = record
    add_vitals(db, 2)
    enqueue(db, "blood_pressure", blood_pressure(BED, T0 + 5))
    add_vitals(db, 1, T0 + 9)
    server.script("AA", "AA", "AA", Reply("AE", "no such bed"))
    argv = ("--db", str(path), "--host", "127.0.0.1", "--port", str(server.port), "--once")
    assert run_hl7(cli(*argv, "--station-id", "ward-3")) == 0
    out = capsys.readouterr().out
    assert f"sent 1 blood_pressure, 2 vital to 127.0.0.1:{server.port}" in out
    assert "1 refused (dead letters):" in out
    assert "bed ICU-1: AE: no such bed" in out
    assert "backlog drained" in out
    assert all(i.startswith("ward-3-") for i in server.control_ids())
    assert run_hl7(cli(*argv)) == 0
    assert "sent nothing" in capsys.readouterr().out


def test_cli_once_fails_with_the_reason_when_the_receiver_is_down(
    record: tuple[Path, Database], capsys: pytest.CaptureFixture[str]
) -> None:
    path, db = record
    add_vitals(db, 2)
    with MllpServer() as gone:
        port = gone.port
    args = cli("--db", str(path), "--host", "127.0.0.1", "--port", str(port), "--once",
               "--retry-for", "0.3", "--timeout", "0.5")  # fmt: skip
    assert run_hl7(args) == 1
    err = capsys.readouterr().err
    assert "main.py hl7: cannot send:" in err
    assert "Connection refused" in err
    assert "(2 messages still waiting)" in err


def test_cli_bad_arguments_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ("--host", "127.0.0.1", "--port", "2575", "--once")
    assert run_hl7(cli("--db", str(tmp_path / "none.db"), *base)) == 2
    assert "no record at" in capsys.readouterr().err
    path = tmp_path / "record.db"
    make_record(path).close()
    assert run_hl7(cli("--db", str(path), *base, "--station-id", "a b")) == 2
    assert "station id" in capsys.readouterr().err
    assert run_hl7(cli("--db", str(path), *base, "--timeout", "0")) == 2
    with pytest.raises(SystemExit) as exited:
        cli("--db", str(path), "--host", "h", "--port", "70000")
    assert exited.value.code == 2
