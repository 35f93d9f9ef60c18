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

from app.alarms.engine import AlarmEngine
from app.alarms.log import LogEntry
from app.analysis.service import AnalysisService
from app.bus import StationEvent
from app.cli import SimulateOptions
from app.demo_ward import build_simulated_station, enter_demo_observations, scenario_for_bed
from app.inference.runtime import open_inference, report_failures
from app.run_stats import RunMeter, write_stats
from app.station import Station
from app.storage.outbox_rows import SyncPolicy
from app.storage.recorder import Recorder
from app.storage.retention import Retention
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


def alarm_record(entry: LogEntry, epoch: float) -> dict[str, Any]:
    """An alarm-log entry as a JSON line; ``bed`` is null for a station-wide alarm."""
    record: dict[str, Any] = {
        "t": round(entry.t - epoch, 3),
        "bed": entry.bed or None,
        "type": "alarm",
        "event": entry.event,
    }
    if entry.alarm_id is not None:
        record["id"] = entry.alarm_id
    if entry.priority is not None:
        record["priority"] = entry.priority.text
    if entry.kind is not None:
        record["kind"] = entry.kind.value
    for name in ("code", "text", "user", "detail"):
        if getattr(entry, name):
            record[name] = getattr(entry, name)
    if entry.since is not None:  # a limit alarm: when its value first crossed the limit
        record["since"] = round(entry.since - epoch, 3)
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

    def add_alarms(self, entries: Iterable[LogEntry]) -> None:
        for entry in entries:
            record = alarm_record(entry, self._epoch)
            self._held.append((record["t"], record["bed"] or "", self._count, record))
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
        run_headless(
            station, writer, epoch, options.db, retention=options.retention, chart=options.chart
        )
        writer.write_record(_session_record("end", options, station))
    finally:
        if out is not sys.stdout:
            out.close()
    if options.stats is not None:
        write_stats(options.stats, meter.report(station))
    return 0


def run_headless(
    station: Station,
    writer: OrderedEventWriter,
    epoch: float,
    db: Path | None = None,
    *,
    engine: AlarmEngine | None = None,
    recorder_type: type[Recorder] = Recorder,
    retention: Retention | None = None,
    chart: SyncPolicy | None = None,
) -> None:
    """Run a station's drivers to their end with the analysis, the alarm engine (``engine``,
    or a new one) and, with ``db``, a ``recorder_type`` recording; events go to ``writer``.
    The benchmarks pass instrumented engines and recorders to time them in a real run."""
    drivers = _drivers(station)
    unavailable: list[str] = []
    # Headless, the beat classifier runs inline on the analysis's pace: no thread.
    analysis = AnalysisService(station, lossless=True, inference=open_inference(unavailable.append))
    analysis.attach()
    engine = engine or AlarmEngine(station)  # subscribed before the devices start
    report_failures(analysis, engine.raise_technical, engine.clear_technical, unavailable)
    enter_demo_observations(engine, station, epoch)
    alarms = AlarmTicker(engine, writer, epoch)
    # The record's clock is the signal's: headless, it runs ahead of the wall clock.
    recorder = None
    if db is not None:
        recorder = recorder_type(station, db, engine, retention, lossless=True,
                                 clock=lambda: max(epoch, engine.now),
                                 sync_policy=chart)  # fmt: skip
        recorder.attach()
    station.start()
    try:
        while not all(d.wait(0) for d in drivers):
            time.sleep(POLL_SECONDS)
            # The watermark first: whatever was delivered before it is on the bus by now,
            # and the analysis has published every event before what it has analysed.
            # Driver seconds count from the epoch; the analysis reports station time.
            delivered = epoch + min(d.delivered for d in drivers)
            analysis.step()
            watermark = min(delivered, analysis.analysed_until)
            alarms.run_until(watermark)
            if recorder is not None:
                recorder.step()
            writer.add(station.poll())
            writer.flush(watermark - epoch)
        analysis.step()  # the tail the drivers delivered last
        alarms.run_until(min(epoch + min(d.delivered for d in drivers), analysis.analysed_until))
    finally:
        analysis.close()
        if recorder is not None:
            recorder.stop()  # writes the tail, and releases drivers waiting on its taps
        stuck = station.stop()
        writer.add(station.poll())
        writer.flush()
    if stuck:
        raise RuntimeError(f"devices did not stop: {', '.join(stuck)}")


class AlarmTicker:
    """Ticks the alarm engine through data time at its live rate (headless runs faster than
    real time), so alarm times are as exact as live; its log goes to the writer."""

    def __init__(self, engine: AlarmEngine, writer: OrderedEventWriter, epoch: float) -> None:
        self.engine = engine
        self._writer = writer
        self._cursor = 0
        self._epoch = epoch
        self._index = 0  # of the next tick, counted from the epoch: the same run, the same times

    def run_until(self, watermark: float) -> None:
        """Every tick up to ``watermark``, from the start of the run (a tick that finds the
        data ahead of it waits for nothing: what is stamped later is held back)."""
        tick = self.engine.config.tick
        while self._epoch + self._index * tick <= watermark:
            self.engine.tick(self._epoch + self._index * tick, hold_future=True)
            self._index += 1
        entries, self._cursor, missed = self.engine.log.since(self._cursor)
        if missed:
            raise RuntimeError(f"{missed} alarm-log entries were lost before being written")
        self._writer.add_alarms(entries)


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
