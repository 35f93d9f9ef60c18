"""``main.py simulate``: the station's drivers and engine without a GUI, events as JSON lines.

Events are written in time order. Beds are stepped in turn by a simulation host's thread
and the runner reads the bus from its own, so an event is held back until every bed has
delivered everything up to its time (a watermark), then written sorted by time and bed.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from app.analysis.service import AnalysisService
from app.bus import StationEvent
from app.cli import SimulateOptions
from app.demo_ward import build_simulated_station, scenario_for_bed
from app.run_stats import RunMeter, write_stats
from app.station import Station
from drivers.base import DeviceCondition, DeviceEvent, DriverStatus
from drivers.sim import SimulatedMonitor

POLL_SECONDS = 0.05


def event_record(event: StationEvent, epoch: float) -> dict[str, Any]:
    record: dict[str, Any] = {"t": round(event.timestamp - epoch, 3), "bed": event.bed}
    payload = event.payload
    if isinstance(payload, DeviceEvent):
        record |= {"type": payload.kind, "name": payload.name}
    elif isinstance(payload, DriverStatus):
        record |= {"type": "device", "name": payload.state.value, "message": payload.message}
    elif isinstance(payload, DeviceCondition):
        record |= {
            "type": "condition",
            "name": payload.code,
            "active": payload.active,
            "message": payload.message,
        }
    return record


class OrderedEventWriter:
    """Holds events back until no bed can still produce an earlier one."""

    def __init__(self, out: IO[str], epoch: float) -> None:
        self._out = out
        self._epoch = epoch
        self._held: list[tuple[float, str, int, dict[str, Any]]] = []
        self._count = 0

    def add(self, events: Iterable[StationEvent]) -> None:
        for event in events:
            record = event_record(event, self._epoch)
            self._held.append((record["t"], record["bed"], self._count, record))
            self._count += 1

    def write_record(self, record: dict[str, Any]) -> None:
        self._out.write(json.dumps(record) + "\n")

    def flush(self, watermark: float = float("inf")) -> None:
        self._held.sort(key=lambda item: item[:3])
        ready = [h for h in self._held if h[0] < watermark]
        self._held = self._held[len(ready) :]
        for *_, record in ready:
            self.write_record(record)
        self._out.flush()


def _drivers(station: Station) -> list[SimulatedMonitor]:
    return [d.driver for d in station.devices if isinstance(d.driver, SimulatedMonitor)]


def run(options: SimulateOptions) -> int:
    epoch = time.time()
    station = build_simulated_station(options.sim, epoch=epoch)
    meter = RunMeter()
    out = sys.stdout if options.events is None else _open(options.events)
    try:
        writer = OrderedEventWriter(out, epoch)
        writer.write_record(_session_record("start", options, station))
        _run_until_done(station, writer)
        writer.write_record(_session_record("end", options, station))
    finally:
        if out is not sys.stdout:
            out.close()
    if options.stats is not None:
        write_stats(options.stats, meter.report(station))
    return 0


def _run_until_done(station: Station, writer: OrderedEventWriter) -> None:
    drivers = _drivers(station)
    analysis = AnalysisService(station, lossless=True)
    analysis.attach()
    station.start()
    try:
        while not all(d.wait(0) for d in drivers):
            time.sleep(POLL_SECONDS)
            # The watermark first: whatever was delivered before it is on the bus by now,
            # and the analysis has published every event before what it has analysed.
            watermark = min(d.delivered for d in drivers)
            analysis.step()
            watermark = min(watermark, analysis.analysed_until)
            writer.add(station.poll())
            writer.flush(watermark)
        analysis.step()  # the tail the drivers delivered last
    finally:
        analysis.close()
        stuck = station.stop()
        writer.add(station.poll())
        writer.flush()
    if stuck:
        raise RuntimeError(f"devices did not stop: {', '.join(stuck)}")


def _session_record(name: str, options: SimulateOptions, station: Station) -> dict[str, Any]:
    sim = options.sim
    record: dict[str, Any] = {"t": 0.0 if name == "start" else sim.duration, "type": "session"}
    record["name"] = name
    if name == "start":
        record |= {
            "beds": {b.label: scenario_for_bed(sim, i) for i, b in enumerate(station.ward.beds)},
            "seed": sim.seed,
            "duration": sim.duration,
            "compress": sim.compress,
        }
    else:
        record |= {
            "samples_received": station.samples_received,
            "samples_dropped": station.samples_dropped,
            "samples_missing": station.samples_missing,
            "clock_slips": station.clock_slips,
        }
    return record


def _open(path: Path) -> IO[str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("w", encoding="utf-8")
