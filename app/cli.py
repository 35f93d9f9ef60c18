"""Command line of ``main.py``: the station (default), ``simulate`` and ``export`` (headless).

Bad arguments exit with code 2 and a message that lists the valid choices (argparse's own
convention). Parsing is Qt-free so that ``simulate`` never loads Qt.
"""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from app.demo_ward import MAX_BEDS, SimConfig
from app.export_request import (
    DEFAULT_SECONDS,
    FORMATS,
    MAX_SECONDS,
    ExportError,
    ExportRequest,
    When,
    check_seconds,
    parse_when,
)
from app.replay_ward import MAX_RECORDS, ReplayConfig
from app.storage.outbox_rows import SyncPolicy
from app.storage.retention import DAY, HOUR, Retention, RetentionError
from app.sync.cli import add_connection_options, add_sync_parser
from app.sync.hl7_cli import add_hl7_parser
from drivers.sim import SCENARIO_NAMES
from drivers.sim.generator import ECG_RATES


@dataclass(frozen=True, slots=True)
class StationOptions:
    """What the GUI needs from the command line."""

    sim: SimConfig
    kiosk: bool
    screenshot: Path | None
    quit_after: float | None
    stats: Path | None
    fps: float
    size: tuple[int, int] | None
    dpi: float | None
    detail_bed: int | None = None  # 1-based: open this bed's detail view at start
    replay: ReplayConfig | None = None  # recorded ECGs instead of the simulated ward
    db: Path | None = None  # the record (SQLite) everything is stored in
    retention: Retention = field(default_factory=Retention)
    sync: argparse.Namespace | None = None  # the EHR connection (``--fhir-base``), if any
    chart: SyncPolicy = field(default_factory=SyncPolicy)  # what the outbox queues, how often
    ble: bool = False  # clinic mode: empty beds fed by Bluetooth LE wearables


def default_record_path() -> Path:
    """The record's default place: the user's data directory (XDG), ``vigil/record.db``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "vigil" / "record.db"


@dataclass(frozen=True, slots=True)
class SimulateOptions:
    sim: SimConfig
    events: Path | None  # None: standard output
    stats: Path | None
    db: Path | None = None  # the record to store everything in; None: nothing stored
    retention: Retention = field(default_factory=Retention)
    chart: SyncPolicy = field(default_factory=SyncPolicy)


def _bed_count(text: str) -> int:
    n = _integer(text)
    if not 1 <= n <= MAX_BEDS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_BEDS}, got {n}")
    return n


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def _seed(text: str) -> int:
    n = _integer(text)
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {n}")
    return n


def _positive(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(x) or x <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return x


def _speed(text: str) -> float | None:
    if text == "realtime":
        return 1.0
    if text == "max":
        return None
    try:
        return _positive(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"choose realtime, max or a positive factor such as 10, not {text!r}"
        ) from None


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"use WIDTHxHEIGHT, e.g. 1920x1080, not {text!r}"
        ) from None
    if w < 320 or h < 240:
        raise argparse.ArgumentTypeError(f"window too small: {text}")
    return w, h


def _add_sim_options(p: argparse.ArgumentParser, beds_default: int) -> None:
    p.add_argument(
        "--beds", type=_bed_count, default=beds_default, metavar="N",
        help=f"number of simulated beds, 1-{MAX_BEDS} (default {beds_default})",
    )  # fmt: skip
    p.add_argument(
        "--scenario", choices=SCENARIO_NAMES, metavar="NAME",
        help="play this scenario on every bed (default: the demo mix); one of: "
        + ", ".join(SCENARIO_NAMES),
    )  # fmt: skip
    p.add_argument("--seed", type=_seed, default=1, metavar="N", help="random seed (default 1)")
    p.add_argument(
        "--ecg-rate", type=int, choices=ECG_RATES, default=250, help="ECG sampling rate in Hz"
    )
    p.add_argument(
        "--compress", type=_positive, default=1.0, metavar="FACTOR",
        help="run scenario timelines FACTOR times faster (e.g. 60 plays hours as minutes)",
    )  # fmt: skip
    p.add_argument(
        "--stats", type=Path, metavar="PATH", help="on exit, write run statistics as JSON"
    )


def _add_retention_options(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("how long the record keeps data (pruned every 10 min)")
    group.add_argument(
        "--keep-waveforms", type=_positive, default=96.0, metavar="HOURS",
        help="full disclosure: waveforms and every numeric reading (default 96)",
    )  # fmt: skip
    group.add_argument(
        "--keep-trends", type=_positive, default=30.0, metavar="DAYS",
        help="1-minute trends (default 30)",
    )  # fmt: skip
    group.add_argument(
        "--keep-alarms", type=_positive, default=90.0, metavar="DAYS",
        help="the alarm log, operator actions and events (default 90)",
    )  # fmt: skip
    group.add_argument(
        "--chart-every", type=_positive, default=60.0, metavar="SECONDS",
        help="queue each vital sign for the EHR at most this often (default 60; every NIBP "
        "and temperature measurement is queued)",
    )  # fmt: skip


def _retention(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Retention:
    try:
        return Retention(args.keep_waveforms * HOUR, args.keep_trends * DAY,
                         args.keep_alarms * DAY)  # fmt: skip
    except RetentionError as error:
        parser.error(f"arguments --keep-waveforms/--keep-trends/--keep-alarms: {error}")


def _when(text: str) -> When:
    try:
        return parse_when(text)
    except ExportError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _add_export_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", type=Path, required=True, metavar="PATH", help="the record to read")
    p.add_argument(
        "--bed",
        required=True,
        metavar="LABEL",
        help='the bed as the record names it, e.g. "Bed 01"',
    )
    p.add_argument(
        "--start", type=_when, required=True, metavar="WHEN",
        help="an ISO 8601 time (without a zone: local time), or +SECONDS from the start of the "
        "bed's record",
    )  # fmt: skip
    p.add_argument(
        "--seconds", type=_integer, default=DEFAULT_SECONDS, metavar="N",
        help=f"length in seconds: 1-{MAX_SECONDS['edf']}, 1-{MAX_SECONDS['pdf']} for pdf "
        f"(default {DEFAULT_SECONDS})",
    )  # fmt: skip
    p.add_argument(
        "--format", choices=FORMATS, required=True,
        help="pdf: the ECG strip at 25 mm/s and 10 mm/mV; edf: every waveform as EDF+; "
        "csv: the numerics",
    )  # fmt: skip
    p.add_argument("--out", type=Path, required=True, metavar="FILE", help="the file to write")


def export_error(message: str) -> NoReturn:
    """Exit 2 with ``main.py export: error: MESSAGE`` after its usage, as argparse does."""
    parser = argparse.ArgumentParser(prog="main.py export")
    _add_export_options(parser)
    parser.error(message)


SIM_ONLY = ("beds", "scenario", "seed", "ecg_rate", "compress")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="Vigil central station. Without a command it opens the station on a "
        "simulated demo ward.",
    )
    _add_sim_options(parser, beds_default=8)
    parser.add_argument(
        "--kiosk", action="store_true",
        help="demo kiosk: full screen, de-identified names, DEMO watermark, no admin actions",
    )  # fmt: skip
    parser.add_argument(
        "--screenshot", type=Path, metavar="PATH",
        help="save a PNG of the main window after --quit-after seconds, then exit",
    )  # fmt: skip
    parser.add_argument(
        "--quit-after", type=_positive, metavar="SECONDS", help="exit after SECONDS"
    )
    parser.add_argument(
        "--fps", type=_positive, default=30.0, help="display frame rate (default 30)"
    )
    parser.add_argument(
        "--size", type=_size, metavar="WxH", help="window size instead of maximised"
    )
    parser.add_argument(
        "--detail", type=_bed_count, metavar="N",
        help="open bed N's detail view at start (e.g. for a screenshot)",
    )  # fmt: skip
    parser.add_argument(
        "--db", type=Path, metavar="PATH",
        help="the SQLite record everything is stored in (default: "
        "$XDG_DATA_HOME/vigil/record.db, else ~/.local/share/vigil/record.db)",
    )  # fmt: skip
    _add_retention_options(parser)
    ehr = parser.add_argument_group("EHR sync while the station runs (see `sync` for details)")
    add_connection_options(ehr, required=False)
    parser.add_argument(
        "--dpi", type=_positive,
        help="the screen's true pixels per inch, if it misreports them (sweep calibration)",
    )  # fmt: skip
    parser.add_argument(
        "--replay", type=Path, action="append", metavar="PATH",
        help="replay this WFDB record (path without extension) on a bed of its own instead of "
        f"the simulated ward; repeat for up to {MAX_RECORDS} records",
    )  # fmt: skip
    parser.add_argument(
        "--ble", action="store_true",
        help="clinic mode: --beds empty beds fed by Bluetooth LE wearables (pair them in the "
        "Wearables window; the allow-list is kept in the record) instead of the simulated ward",
    )  # fmt: skip
    parser.add_argument(
        "--replay-loop", action="store_true",
        help="start each record again at its end (default: the bed says 'replay ended')",
    )  # fmt: skip
    # Simulation options do not apply to a replay: left unset, they are told apart from
    # options given by mistake, and filled with their defaults afterwards.
    sim_defaults = {name: parser.get_default(name) for name in SIM_ONLY}
    parser.set_defaults(**dict.fromkeys(SIM_ONLY), sim_defaults=sim_defaults)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    sim = commands.add_parser(
        "simulate",
        help="run simulated beds without a GUI and write events as JSON lines",
        description="Run the same drivers and engine as the station, without a GUI; write "
        "one JSON object per line for every event.",
    )
    _add_sim_options(sim, beds_default=1)
    sim.add_argument(
        "--duration", type=_positive, required=True, metavar="SECONDS",
        help="seconds of signal to simulate per bed",
    )  # fmt: skip
    sim.add_argument(
        "--speed", type=_speed, default=1.0, metavar="realtime|max|FACTOR",
        help="pacing: realtime (default), max (as fast as possible), or a factor",
    )  # fmt: skip
    sim.add_argument(
        "--events", type=Path, metavar="PATH", help="JSON-lines output (default: stdout)"
    )
    sim.add_argument(
        "--db", type=Path, metavar="PATH",
        help="store everything the run produces in this SQLite record (created if missing)",
    )  # fmt: skip
    _add_retention_options(sim)
    export = commands.add_parser(
        "export",
        help="write part of a record as a PDF strip, EDF+ waveforms or CSV numerics",
        description="Write one bed's stretch of a record: the ECG strip as a PDF to print, "
        "every waveform as EDF+ (with alarms, rhythm events and gaps annotated), or the "
        "numerics as CSV.",
    )
    _add_export_options(export)
    add_sync_parser(commands)
    add_hl7_parser(commands)
    return parser


def _sim_config(
    args: argparse.Namespace, *, speed: float | None, duration: float | None
) -> SimConfig:
    return SimConfig(
        beds=args.beds,
        scenario=args.scenario,
        seed=args.seed,
        ecg_rate=args.ecg_rate,
        speed=speed,
        duration=duration,
        compress=args.compress,
    )


@dataclass(frozen=True, slots=True)
class SyncRequest:
    """``sync``: its options are the sync's own (``app.sync.cli``)."""

    args: argparse.Namespace


@dataclass(frozen=True, slots=True)
class Hl7Request:
    """``hl7``: the PCD-01 feed's options (``app.sync.hl7_cli``)."""

    args: argparse.Namespace


def parse(
    argv: list[str] | None = None,
) -> StationOptions | SimulateOptions | ExportRequest | SyncRequest | Hl7Request:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "sync":
        return SyncRequest(args)
    if args.command == "hl7":
        return Hl7Request(args)
    if args.command == "simulate":
        sim = _sim_config(args, speed=args.speed, duration=args.duration)
        return SimulateOptions(sim, args.events, args.stats, args.db, _retention(parser, args),
                               SyncPolicy(vitals_every=args.chart_every))  # fmt: skip
    if args.command == "export":
        return _export_request(args)
    replay = _replay_config(parser, args)
    if args.ble and replay is not None:
        parser.error("argument --ble: not with --replay (a replayed record takes the bed)")
    quit_after = args.quit_after
    if args.screenshot is not None and quit_after is None:
        quit_after = 5.0
    beds = len(replay.records) if replay is not None else args.beds
    if args.detail is not None and args.detail > beds:
        parser.error(f"argument --detail: there is no bed {args.detail} of {beds}")
    return StationOptions(
        sim=_sim_config(args, speed=1.0, duration=None),
        kiosk=args.kiosk,
        screenshot=args.screenshot,
        quit_after=quit_after,
        stats=args.stats,
        fps=args.fps,
        size=args.size,
        dpi=args.dpi,
        detail_bed=args.detail,
        replay=replay,
        db=args.db or default_record_path(),
        retention=_retention(parser, args),
        sync=args if args.fhir_base else None,
        chart=SyncPolicy(vitals_every=args.chart_every),
        ble=args.ble,
    )


def _replay_config(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> ReplayConfig | None:
    """The replay asked for, if any; simulation options given with it are an error."""
    given = [name for name in SIM_ONLY if getattr(args, name) is not None]
    for name, default in args.sim_defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    if args.replay is None:
        if args.replay_loop:
            parser.error("argument --replay-loop: needs --replay")
        return None
    if given:
        options = ", ".join("--" + name.replace("_", "-") for name in given)
        parser.error(f"argument --replay: cannot be combined with {options} (simulation only)")
    if len(args.replay) > MAX_RECORDS:
        parser.error(f"argument --replay: at most {MAX_RECORDS} records, got {len(args.replay)}")
    return ReplayConfig(tuple(args.replay), loop=args.replay_loop)


def _export_request(args: argparse.Namespace) -> ExportRequest:
    try:
        check_seconds(args.format, args.seconds)
    except ExportError as error:
        export_error(f"argument --seconds: {error}")
    if not args.db.is_file():
        export_error(f"argument --db: no record at {args.db}")
    return ExportRequest(args.db, args.bed, args.start, args.seconds, args.format, args.out)
