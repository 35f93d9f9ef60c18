"""``main.py hl7``: send the record's vital signs and NIBP as IHE PCD-01 over MLLP.

``--once`` drains the feed's backlog and exits 0, printing what it sent (and any dead
letters); it exits 1 with the reason when it cannot (the receiver unreachable or silent for
``--retry-for`` seconds), and 2 for bad arguments. Without ``--once`` it runs until SIGINT or
SIGTERM, then stops cleanly after the message in flight.
"""

from __future__ import annotations

import argparse
import random
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.sync.errors import ConfigError, TransientError
from app.sync.hl7_feed import FeedStore, Hl7Feed, PassReport
from app.sync.hl7_message import Hl7Config
from app.sync.mllp import MllpClient
from app.sync.retry import drain_with_retry
from app.sync.running import (
    Outcome,
    Subparsers,
    Wording,
    print_outcome,
    run_until_signalled,
)

PROG = "main.py hl7"
WORDS = Wording("refused", "cannot send", "messages", "backlog drained")


def add_hl7_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "hl7",
        help="send the record's vital signs as IHE PCD-01 (HL7 v2.6) over MLLP",
        description="Send what the station recorded (vital signs, NIBP) to an HL7 v2 receiver "
        "as IHE PCD-01 ORU^R01 messages over MLLP, one at a time, each after the last one's "
        "ACK; refused messages are kept as dead letters with the receiver's text.",
    )
    p.add_argument("--db", type=Path, required=True, metavar="PATH", help="the record")
    p.add_argument("--host", required=True, help="the receiver's host")
    p.add_argument("--port", type=_port, required=True, help="the receiver's MLLP port")
    p.add_argument("--once", action="store_true", help="drain the backlog, then exit")
    p.add_argument(
        "--station-id",
        default=socket.gethostname().split(".")[0],
        metavar="ID",
        help="MSH-3 and part of every control id; keep it stable (default: host name)",
    )
    p.add_argument(
        "--assigning-authority",
        default="VIGIL",
        metavar="NAME",
        help="the MRN's assigning authority in PID-3 (default VIGIL)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="connect and ACK time-out (default 10)",
    )
    p.add_argument(
        "--retry-for",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="--once: give up after failing this long (default 30)",
    )
    return p


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 1 and 65535, got {port}")
    return port


def run_hl7(args: argparse.Namespace) -> int:
    try:
        feed = _setup(args)
    except ConfigError as err:
        sys.stderr.write(f"{PROG}: error: {err}\n")
        return 2
    try:
        if args.once:
            return _print_report(drain(feed, give_up_after=args.retry_for), feed, args)
        return run_until_signalled(feed.start, feed.stop, lambda: _status(feed))
    finally:
        feed.close()


def _setup(args: argparse.Namespace) -> Hl7Feed:
    if args.timeout <= 0 or args.retry_for < 0:
        raise ConfigError("--timeout must be positive and --retry-for not negative")
    try:
        config = Hl7Config(args.station_id, args.assigning_authority)
    except ValueError as err:
        raise ConfigError(str(err)) from err
    client = MllpClient(args.host, args.port, connect_timeout=args.timeout,
                        read_timeout=args.timeout)  # fmt: skip
    return Hl7Feed(FeedStore.open(args.db), client, config)


@dataclass
class DrainReport:
    sent: Counter[str] = field(default_factory=Counter)
    dead: int = 0
    backlog: int = 0
    error: TransientError | None = None  # why it stopped before the backlog was drained


def drain(
    feed: Hl7Feed,
    *,
    give_up_after: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> DrainReport:
    """Send everything now (retry times ignored), retrying transient failures with backoff
    until they have lasted ``give_up_after`` s."""
    result = DrainReport()

    def run_pass(_now: float) -> PassReport:
        report = feed.run_once(respect_schedule=False)
        result.sent.update(report.sent)
        result.dead += report.dead
        return report

    result.error = drain_with_retry(run_pass, give_up_after=give_up_after, clock=clock,
                                    sleep=sleep, rng=rng or random.Random())  # fmt: skip
    result.backlog = feed.publish().backlog
    return result


def _print_report(report: DrainReport, feed: Hl7Feed, args: argparse.Namespace) -> int:
    refused = feed.store.dead_letters(report.dead) if report.dead else []
    error = None if report.error is None else str(report.error)
    outcome = Outcome(report.sent, refused, error, report.backlog)
    return print_outcome(outcome, PROG, f"{args.host}:{args.port}", WORDS)


def _status(feed: Hl7Feed) -> str:
    state = feed.state
    return f"sent {state.sent}, backlog {state.backlog}, dead letters {state.dead_letters}" + (
        f" ({state.last_error})" if state.last_error else ""
    )
