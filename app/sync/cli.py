"""``main.py sync``: push the record's outbox to an EHR over FHIR R4.

``--once`` drains the outbox and exits 0, printing what it sent (and any dead letters); it
exits 1 with the reason when it cannot (EHR unreachable for ``--retry-for`` seconds, 401/403,
not a FHIR R4 server), and 2 for bad arguments. Without ``--once`` it runs until SIGINT or
SIGTERM, then stops cleanly after the request in flight.
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path
from typing import Any, Protocol

from app.sync.auth import (
    ALGORITHMS,
    DEFAULT_SCOPE,
    Auth,
    BearerAuth,
    NoAuth,
    SmartAuth,
    load_private_key,
)
from app.sync.client import FhirClient
from app.sync.errors import ConfigError
from app.sync.naming import FhirNaming
from app.sync.outbox import Outbox
from app.sync.running import (
    Outcome,
    Subparsers,
    Wording,
    print_outcome,
    run_until_signalled,
)
from app.sync.service import SyncReport, SyncService, sync_once

PROG = "main.py sync"
WORDS = Wording("refused by the EHR", "cannot sync", "items", "outbox drained")


def add_sync_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "sync",
        help="push the record's outbox to an EHR (HL7 FHIR R4)",
        description="Send what the station recorded (vital signs, NIBP, NEWS2, alarms) to an "
        "EHR's FHIR R4 endpoint, exactly once, with retries; refused items are kept as dead "
        "letters with the server's message.",
    )
    add_sync_options(p)
    return p


def add_sync_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", type=Path, required=True, metavar="PATH", help="the record")
    add_connection_options(p, required=True)
    p.add_argument("--once", action="store_true", help="drain the outbox, then exit")
    p.add_argument(
        "--retry-for",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="--once: give up after failing this long (default 30)",
    )


class ArgumentAdder(Protocol):
    """A parser or an argument group."""

    def add_argument(self, *args: Any, **kwargs: Any) -> Any: ...


def add_connection_options(p: ArgumentAdder, *, required: bool) -> None:
    """The EHR and how to reach it: for ``sync``, and for the station, which syncs its
    record while it runs when ``--fhir-base`` is given."""
    p.add_argument("--fhir-base", required=required, metavar="URL", help="the EHR's FHIR R4 base")
    p.add_argument(
        "--mrn-system",
        required=required,
        metavar="URI",
        help="the MRN's identifier system as the EHR names it",
    )
    p.add_argument(
        "--station-id",
        default=socket.gethostname(),
        metavar="ID",
        help="part of every identifier sent; keep it stable (default: host name)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="per-request time-out (default 10)",
    )
    p.add_argument("--ca-file", metavar="PEM", help="CA bundle to verify the EHR's TLS with")
    p.add_argument("--auth", choices=("none", "bearer", "smart"), default="none")
    p.add_argument("--token-file", type=Path, metavar="FILE", help="bearer: the token's file")
    p.add_argument("--client-id", help="smart: the registered client id")
    p.add_argument("--key-file", type=Path, metavar="PEM", help="smart: the private key")
    p.add_argument("--key-id", help="smart: the key's id (kid) in the registered JWKS")
    p.add_argument("--alg", choices=ALGORITHMS, default="RS384", help="smart: RS384 or ES384")
    p.add_argument(
        "--token-url", metavar="URL", help="smart: the token endpoint (default: from .well-known)"
    )
    p.add_argument("--scope", default=DEFAULT_SCOPE, help="smart: the scopes to ask for")


def run_sync(args: argparse.Namespace) -> int:
    try:
        client, outbox, naming = _setup(args)
    except ConfigError as err:
        sys.stderr.write(f"{PROG}: error: {err}\n")
        return 2
    try:
        if args.once:
            report = sync_once(outbox, client, naming, give_up_after=args.retry_for)
            return _print_report(report, outbox, args.fhir_base)
        service = SyncService(outbox, client, naming)
        return run_until_signalled(service.start, service.stop, lambda: _status(service))
    finally:
        client.close()
        outbox.close()


def _setup(args: argparse.Namespace) -> tuple[FhirClient, Outbox, FhirNaming]:
    if args.retry_for < 0:
        raise ConfigError("--retry-for must not be negative")
    client, naming = connect(args)
    try:
        return client, Outbox.open(args.db), naming
    except ConfigError:
        client.close()
        raise


def connect(args: argparse.Namespace) -> tuple[FhirClient, FhirNaming]:
    """The client and naming the connection options describe; ``ConfigError`` says what
    is wrong with them."""
    if args.timeout <= 0:
        raise ConfigError("--timeout must be positive")
    if not args.mrn_system:
        raise ConfigError("--fhir-base needs --mrn-system (the EHR's MRN identifier system)")
    try:
        naming = FhirNaming(station_id=args.station_id, mrn_system=args.mrn_system)
    except ValueError as err:
        raise ConfigError(str(err)) from err
    client = FhirClient(args.fhir_base, _auth(args), timeout=args.timeout, ca_file=args.ca_file)
    return client, naming


def _auth(args: argparse.Namespace) -> Auth:
    if args.auth == "bearer":
        if args.token_file is None:
            raise ConfigError("--auth bearer needs --token-file")
        return BearerAuth(_read(args.token_file))
    if args.auth == "smart":
        missing = [
            f"--{n.replace('_', '-')}"
            for n in ("client_id", "key_file", "key_id")
            if not getattr(args, n)
        ]
        if missing:
            raise ConfigError(f"--auth smart needs {', '.join(missing)}")
        key = load_private_key(args.key_file, args.alg)
        return SmartAuth(
            args.fhir_base,
            args.client_id,
            key,
            args.key_id,
            args.alg,
            scope=args.scope,
            token_url=args.token_url,
        )
    return NoAuth()


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}") from err


def _print_report(report: SyncReport, outbox: Outbox, base: str) -> int:
    refused = outbox.dead_letters(report.dead_letters) if report.dead_letters else []
    error = None if report.error is None else str(report.error)
    outcome = Outcome(report.sent, refused, error, report.backlog)
    return print_outcome(outcome, PROG, base, WORDS)


def _status(service: SyncService) -> str:
    station = service.state.station
    return (
        f"{station.health.value}: backlog {station.backlog}, dead letters "
        f"{station.dead_letters}" + (f" ({station.last_error})" if station.last_error else "")
    )
