"""Benchmark: how fast the EHR sync delivers the outbox to the local FHIR test server.

- Sustained rate: 32 beds × ``--minutes`` of vital signs (HR, PR, SpO2, RR once a minute),
  drained by ``sync_once``; Observations per second (target ≥ 500).
- Backlog: what the producer queues for 32 beds in one hour (per bed 240 vitals, 6
  temperatures, 4 NIBP panels, a NEWS2 and 4 alarm events: 8,160 rows), drained from a
  fresh record to a fresh server; seconds (target ≤ 60).

Each run starts on an empty server with a new record (so every row is a conditional create
that misses, then a create). Medians of ``--runs`` runs. The server's share is the sum of its
own handling times (its request log) over the wall time: one Node process handling one
request at a time, which is why the sync sends one bundle at a time (see the README).

    python -m tests.bench.bench_sync [--runs 5] [--minutes 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlite_utils import Database

from app.sync.client import FhirClient
from app.sync.naming import FhirNaming
from app.sync.outbox import Outbox
from app.sync.service import sync_once
from tests.fakes.sync_record import MRN_SYSTEM, BedRef, add_bed, fill_hour, fill_vitals, make_record
from tests.fhir_server.fixture import FhirServer

BEDS = 32
NAMING = FhirNaming(station_id="bench-station", mrn_system=MRN_SYSTEM)
Fill = Callable[[Database, BedRef], int]


def one_run(server: FhirServer, workdir: Path, fill: Fill) -> tuple[int, float, float]:
    """Rows delivered, wall seconds, and the server's busy share."""
    server.reset()
    path = workdir / f"record-{time.monotonic_ns()}.db"
    db = make_record(path)
    rows = 0
    for b in range(BEDS):
        ref = BedRef(f"BED-{b:02d}", f"M{b:07d}", f"SIM-{b:02d}")
        add_bed(db, ref)
        rows += fill(db, ref)
    db.close()
    outbox, client = Outbox.open(path), FhirClient(server.base_url)
    try:
        started = time.perf_counter()
        report = sync_once(outbox, client, NAMING)
        wall = time.perf_counter() - started
    finally:
        client.close()
        outbox.close()
    if not report.drained or report.sent.total() != rows or report.dead_letters:
        raise RuntimeError(f"the drain failed: {report}")
    stored = server.stats().get("Observation", 0)
    if stored != rows:
        raise RuntimeError(f"{stored} Observations on the server for {rows} rows")
    busy = sum(r["ms"] for r in server.requests()) / 1000.0
    return rows, wall, busy / wall


def measure(
    server: FhirServer, workdir: Path, fill: Fill, runs: int, label: str
) -> list[tuple[int, float, float]]:
    results = []
    for i in range(runs):
        rows, wall, share = one_run(server, workdir, fill)
        results.append((rows, wall, share))
        sys.stdout.write(
            f"  {label} run {i + 1}: {rows} rows in {wall:.2f} s = "
            f"{rows / wall:.0f}/s (server busy {share:.0%})\n"
        )
        sys.stdout.flush()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--minutes", type=int, default=30, help="minutes of vitals per bed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        with FhirServer(workdir / "server") as server:
            one_run(server, workdir, lambda db, ref: fill_vitals(db, ref, 2))  # warm-up
            rate = measure(
                server,
                workdir,
                lambda db, ref: fill_vitals(db, ref, args.minutes),
                args.runs,
                "sustained",
            )
            hour = measure(server, workdir, fill_hour, args.runs, "1-h backlog")
    per_s = statistics.median(rows / wall for rows, wall, _ in rate)
    drain = statistics.median(wall for _, wall, _ in hour)
    share = statistics.median(s for *_, s in rate + hour)
    sys.stdout.write(
        f"\nsustained: median {per_s:.0f} Observations/s over {rate[0][0]} rows "
        f"(target >= 500; runs {min(r / w for r, w, _ in rate):.0f}-"
        f"{max(r / w for r, w, _ in rate):.0f}/s)\n"
        f"1-h backlog of {BEDS} beds ({hour[0][0]} rows): median {drain:.1f} s "
        f"(target <= 60; runs {min(w for _, w, _ in hour):.1f}-"
        f"{max(w for _, w, _ in hour):.1f} s)\n"
        f"server busy: median {share:.0%} of the wall time\n"
    )
    return 0 if per_s >= 500 and drain <= 60 else 1


if __name__ == "__main__":
    sys.exit(main())
