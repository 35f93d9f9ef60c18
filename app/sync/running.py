"""What the sync commands share: the record's connection for a sender, and running a sender
until SIGINT or SIGTERM while printing its status when it changes."""

from __future__ import annotations

import argparse
import signal
import sqlite3
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Protocol, TypeVar

from app.sync.errors import ConfigError

STATUS_EVERY = 5.0  # s between status checks while running
T = TypeVar("T")


class Subparsers(Protocol):
    """argparse's sub-command registry, where each sender adds its command."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


def open_record_connection(path: str | Path, busy_timeout: float) -> sqlite3.Connection:
    """A connection of the sender's own to the record, which the recorder writes at the same
    time (WAL): waits up to ``busy_timeout`` for a lock; a missing or foreign file is a
    ``ConfigError``."""
    if not Path(path).is_file():
        raise ConfigError(f"no record at {path}")
    conn = sqlite3.connect(path, timeout=busy_timeout, check_same_thread=False,
                           isolation_level=None)  # fmt: skip
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        # As the recorder does: in WAL mode a crash loses no committed write, a power cut
        # at most the last marks (those rows are sent again and found: no harm).
        conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError as err:
        conn.close()
        raise ConfigError(f"{path} is not a Vigil record: {err}") from err
    return conn


def open_on_record(
    path: str | Path, busy_timeout: float, build: Callable[[sqlite3.Connection], T]
) -> T:
    """``build`` (a store checking the record's schema) on a connection of its own to the
    record; if the file is not a record, or an old one, the connection is closed and the
    reason raised as a ``ConfigError``."""
    conn = open_record_connection(path, busy_timeout)
    try:
        return build(conn)
    except (sqlite3.DatabaseError, ConfigError) as err:
        conn.close()
        if isinstance(err, ConfigError):
            raise
        raise ConfigError(f"{path} is not a Vigil record: {err}") from err


class Refused(Protocol):
    """A dead letter, as a report lists it."""

    @property
    def id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def bed(self) -> str: ...
    @property
    def error(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a ``--once`` run did, for ``print_outcome``."""

    sent: Mapping[str, int]  # rows sent per kind
    refused: Sequence[Refused]
    error: str | None  # why it stopped short of draining; None when drained
    backlog: int  # rows still waiting


@dataclass(frozen=True, slots=True)
class Wording:
    refused: str  # "refused by the EHR"
    cannot: str  # "cannot sync"
    waiting: str  # "items"
    drained: str  # "outbox drained"


def print_outcome(outcome: Outcome, prog: str, target: str, words: Wording) -> int:
    """Print what was sent and refused; 0 when drained, 1 (with the reason) when not."""
    sent = ", ".join(f"{n} {kind}" for kind, n in sorted(outcome.sent.items())) or "nothing"
    sys.stdout.write(f"sent {sent} to {target}\n")
    if outcome.refused:
        sys.stdout.write(f"{len(outcome.refused)} {words.refused} (dead letters):\n")
        for dead in outcome.refused:
            sys.stdout.write(f"  #{dead.id} {dead.kind} bed {dead.bed or '-'}: {dead.error}\n")
    if outcome.error is not None:
        sys.stderr.write(f"{prog}: {words.cannot}: {outcome.error} ({outcome.backlog} "
                         f"{words.waiting} still waiting)\n")  # fmt: skip
        return 1
    sys.stdout.write(f"{words.drained}\n")
    return 0


def run_until_signalled(
    start: Callable[[], None], stop: Callable[[], bool], status: Callable[[], str]
) -> int:
    """Start a sender, print ``status()`` whenever it changes, stop on SIGINT/SIGTERM."""
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    start()
    try:
        last = ""
        while not stopping.wait(STATUS_EVERY):
            line = status()
            if line != last:
                sys.stdout.write(line + "\n")
                sys.stdout.flush()
                last = line
    finally:
        stopped = stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    sys.stdout.write("stopped\n")
    return 0 if stopped else 1
