"""Writes everything the station produces into the record, on one writer thread.

Sources: the recorder's own bus subscription (readings, status changes, technical conditions,
analysis events), a tap on every waveform channel, the alarm log (read by cursor) and the
ward's admissions. Every ``COMMIT_EVERY`` s one transaction writes what came in, waveforms as
compressed blocks of what arrived since the last one, so a killed process loses at most
about that much. Nothing here runs on the GUI thread. A write that fails, or a disk running
out of room, raises a technical alarm through the alarm engine's hook (and is logged); the
samples that could not be written are counted, never dropped silently.
"""

from __future__ import annotations

import logging
import queue
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from app.alarms.engine import AlarmEngine
from app.model.ward import DERIVED_KIND, Admission
from app.periodic import PeriodicThread
from app.signals.stream import DeviceStream
from app.signals.tap import SampleTap
from app.station import Station
from app.storage.codec import encode_block
from app.storage.outbox_rows import OutboxRows, SyncPolicy
from app.storage.retention import Retention
from app.storage.rows import NumericRows, Row, alarm_row, event_row
from app.storage.schema import MAX_BLOCK, open_database
from app.storage.series import SeriesWriter

log = logging.getLogger(__name__)

COMMIT_EVERY = 1.0  # s: a hard kill loses at most about this much
LOW_DISK_BYTES = 1 << 30  # free space below this raises a technical alarm before writes fail
DISK_CHECK_EVERY = 60.0  # s


@dataclass
class _Wave:
    """One waveform channel being recorded."""

    stream: DeviceStream
    key: str
    rate: float
    gain: float
    tap: SampleTap


class Recorder:
    def __init__(
        self,
        station: Station,
        path: Path,
        alarms: AlarmEngine | None = None,
        retention: Retention | None = None,
        *,
        lossless: bool = False,
        clock: Callable[[], float] = time.time,
        sync_policy: SyncPolicy | None = None,
    ) -> None:
        """``lossless``: drivers wait for the recorder (headless); live, a recorder that
        falls behind drops and counts samples rather than hold a driver up."""
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = open_database(str(path))
        self._station = station
        self._alarms = alarms
        self._retention = retention or Retention()
        self._lossless = lossless
        self._clock = clock
        self._feed = station.bus.subscribe()
        self._admissions: queue.SimpleQueue[tuple[str, Admission, float]] = queue.SimpleQueue()
        self._numerics = NumericRows()
        self._series = SeriesWriter()
        self._outbox = OutboxRows(sync_policy or SyncPolicy())
        self._waves: list[_Wave] = []
        self._serials: set[str] = set()
        self._following = False
        self._cursor = 0
        self._lock = threading.Lock()  # one step at a time (thread, or a final flush)
        self._thread = PeriodicThread("vigil-storage", COMMIT_EVERY, self.step)
        self._last_prune = float("-inf")
        self._last_disk_check = float("-inf")
        self.samples_written = 0
        self.samples_lost = 0  # samples that could not be written (a failed commit)
        self.failure: str | None = None
        station.ward.admitted.connect(self._on_admitted)
        station.ward.discharged.connect(self._on_discharged)
        self._record_ward()

    # -- set-up ----------------------------------------------------------------------------

    def attach(self) -> None:
        """Tap every waveform channel of every device (call before the devices start);
        devices attached later (wearables) are tapped as they come."""
        fresh = [s for s in self._station.devices if s.serial not in self._serials]
        for stream in fresh:
            self._tap(stream)
        self._record_devices(fresh)
        if not self._following:
            self._following = True
            self._station.attached.connect(self._on_attached)
            self._station.detached.connect(self._on_detached)

    def _tap(self, stream: DeviceStream) -> None:
        self._serials.add(stream.serial)
        if stream.description.info.kind == DERIVED_KIND:
            self._numerics.derived.add(stream.serial)
        waves = list(self._waves)
        for spec in stream.description.channels:
            tap = SampleTap(wait_when_full=self._lossless)
            stream.add_tap(spec.key, tap)
            waves.append(_Wave(stream, spec.key, spec.sample_rate, spec.gain, tap))
        self._waves = waves  # replaced whole: the writer thread iterates the old list

    def _on_attached(self, stream: DeviceStream) -> None:
        if stream.serial not in self._serials:
            self._tap(stream)
        self._record_devices([stream])

    def _on_detached(self, stream: DeviceStream) -> None:
        now = self._clock()
        with self._lock, self._db.conn:
            self._db.execute(
                "UPDATE assignments SET detached_at = ? WHERE bed = ? AND serial = ? "
                "AND detached_at IS NULL",
                [now, stream.bed_label, stream.serial],
            )

    def _record_ward(self) -> None:
        now = self._clock()
        for bed in self._station.ward.beds:
            if bed.patient is not None:
                self._admissions.put(("admit", Admission(bed.label, bed.patient), now))

    def _record_devices(self, streams: list[DeviceStream]) -> None:
        now = self._clock()
        devices, assignments = [], []
        for stream in streams:
            info = stream.description.info
            devices.append({"serial": info.serial, "kind": info.kind,
                            "manufacturer": info.manufacturer, "model": info.model,
                            "simulated": int(info.simulated)})  # fmt: skip
            assignments.append({"bed": stream.bed_label, "serial": info.serial,
                                "attached_at": now, "detached_at": None})  # fmt: skip
        with self._lock, self._db.conn:
            self._db.table("devices").upsert_all(devices, pk="serial")
            self._db.table("assignments").insert_all(assignments)

    def _on_admitted(self, admission: Admission) -> None:
        self._admissions.put(("admit", admission, self._clock()))

    def _on_discharged(self, admission: Admission) -> None:
        self._admissions.put(("discharge", admission, self._clock()))

    # -- the writer thread -----------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop the thread, write what is left (partial trend minutes too), close the file."""
        stopped = self._thread.stop(timeout)
        for wave in self._waves:
            wave.tap.close()
        self.step(final=True)
        self._station.ward.admitted.disconnect(self._on_admitted)
        self._station.ward.discharged.disconnect(self._on_discharged)
        self._db.conn.close()
        return stopped

    def step(self, final: bool = False) -> None:
        """Gather everything that came in and write it in one transaction."""
        with self._lock:
            now = self._clock()
            batch = self._gather(final, now)
            try:
                self._write(batch)
            except Exception as exc:  # the record must never fail unseen
                log.exception("writing to the record %s failed", self.path)
                self._failed(f"STORAGE FAILURE: {exc}", batch)
                return
            self.samples_written += sum(int(r["n"]) for r in batch["waveforms"])
            if self.failure is not None:
                self.failure = None
                self._clear("STORAGE_FAILURE")
            self._housekeeping(now)

    def _gather(self, final: bool, now: float) -> dict[str, list[Row]]:
        batch: dict[str, list[Row]] = {
            "numerics": [], "events": [], "waveforms": [], "alarm_log": [], "trends": [],
            "outbox": [], "admissions": self._admissions_since(),
        }  # fmt: skip
        newest = float("-inf")
        for item in self._feed.drain():
            newest = max(newest, item.timestamp)
            row = event_row(item)
            if row is not None:
                batch["events"].append(row)
            rows, shown = self._numerics.rows(item)
            batch["numerics"] += rows
            if shown:
                batch["outbox"] += self._outbox.readings(item.bed, item.device, shown, now)
        for wave in self._waves:
            batch["waveforms"] += _blocks(wave)
        if self._alarms is not None:
            batch["outbox"] += self._news2(now)
            entries, self._cursor, missed = self._alarms.log.since(self._cursor)
            if missed:
                log.error("%d alarm-log entries were lost before being stored", missed)
            batch["alarm_log"] = [alarm_row(e) for e in entries]
            for entry in entries:
                batch["outbox"] += self._outbox.alarm(entry, now)
        batch["trends"] = self._numerics.finished_minutes(float("inf") if final else newest)
        return batch

    def _admissions_since(self) -> list[Row]:
        """Admissions and discharges since the last step; the outbox follows them at once."""
        out: list[Row] = []
        while True:
            try:
                action, admission, at = self._admissions.get_nowait()
            except queue.Empty:
                return out
            if action == "admit":
                self._outbox.admitted(admission.bed, admission.patient.mrn)
            else:
                self._outbox.discharged(admission.bed)
            out.append({"action": action, "admission": admission, "at": at})

    def _news2(self, now: float) -> list[Row]:
        """NEWS2 is the station's own number, not a device's: sampled from the engine into
        the trend, and each new complete score queued for the EHR."""
        if self._alarms is None:
            return []
        snapshot = self._alarms.snapshot()
        out: list[Row] = []
        for bed, score in snapshot.news2.items():
            result = score.result
            if result is None or result.total is None or snapshot.time <= 0:
                continue
            self._numerics.add_trend_value(bed, "NEWS2", snapshot.time, float(result.total))
            entered = score.observation.entered_at if score.observation is not None else None
            out += self._outbox.news2(bed, result, entered, snapshot.time, now)
        return out

    def _write(self, batch: dict[str, list[Row]]) -> None:
        ok = False
        try:
            self._transaction(batch)
            ok = True
        finally:
            self._series.committed(ok)

    def _transaction(self, batch: dict[str, list[Row]]) -> None:
        with self._db.conn:  # one transaction: all of it or none of it
            for change in batch["admissions"]:
                self._write_admission(change["action"], change["admission"], change["at"])
            if batch["numerics"]:
                self._series.insert(self._db.conn, batch["numerics"])
            for table in ("events", "waveforms", "alarm_log", "outbox"):
                if batch[table]:
                    self._db.table(table).insert_all(batch[table], batch_size=500)
            if batch["trends"]:
                self._db.table("trends").upsert_all(batch["trends"], pk=("bed", "code", "minute"))

    def _write_admission(self, action: str, admission: Admission, at: float) -> None:
        patient = admission.patient
        if action == "admit":
            self._db.table("patients").upsert({
                "mrn": patient.mrn, "family_name": patient.family_name,
                "given_name": patient.given_name,
                "date_of_birth": patient.date_of_birth.isoformat(),
                "sex": patient.sex.value, "category": patient.category.value,
            }, pk="mrn")  # fmt: skip
            self._db.table("admissions").insert(
                {"bed": admission.bed, "mrn": patient.mrn, "admitted_at": at,
                 "discharged_at": None}
            )  # fmt: skip
            return
        self._db.execute(
            "UPDATE admissions SET discharged_at = ? WHERE bed = ? AND mrn = ? "
            "AND discharged_at IS NULL",
            [at, admission.bed, patient.mrn],
        )

    def _failed(self, text: str, batch: dict[str, list[Row]]) -> None:
        lost = sum(int(r["n"]) for r in batch["waveforms"])
        self.samples_lost += lost
        self.failure = f"{text} ({self.samples_lost:,} samples not written)"
        if self._alarms is not None:
            self._alarms.raise_technical("STORAGE_FAILURE", self.failure)

    def _clear(self, code: str) -> None:
        if self._alarms is not None:
            self._alarms.clear_technical(code)

    # -- retention and disk --------------------------------------------------------------

    def _housekeeping(self, now: float) -> None:
        if now - self._last_disk_check >= DISK_CHECK_EVERY:
            self._last_disk_check = now
            self._check_disk()
        if now - self._last_prune >= self._retention.prune_every:
            self._last_prune = now
            self.prune(now)

    def _check_disk(self) -> None:
        free = shutil.disk_usage(self.path.parent).free
        if free < LOW_DISK_BYTES:
            text = f"STORAGE LOW: {free / 1e6:.0f} MB free for the record"
            if self._alarms is not None:
                self._alarms.raise_technical("STORAGE_LOW", text)
            log.warning("%s at %s", text, self.path)
        else:
            self._clear("STORAGE_LOW")

    def prune(self, now: float) -> dict[str, int]:
        """Delete what is older than its retention; the number of rows deleted per table."""
        r = self._retention
        cuts = {
            "waveforms": ("t_start", now - r.full_disclosure),
            "trends": ("minute", (now - r.trends) / 60),
            "alarm_log": ("t", now - r.alarm_log),
            "events": ("t", now - r.alarm_log),
        }
        deleted = {}
        with self._db.conn:
            for table, (column, cut) in cuts.items():
                cursor = self._db.execute(f"DELETE FROM {table} WHERE {column} < ?", [cut])
                deleted[table] = cursor.rowcount
            # Through the primary key, one series at a time (``readings`` has no time index).
            cursor = self._db.execute(
                "DELETE FROM readings WHERE series IN (SELECT id FROM series) AND t < ?",
                [now - r.full_disclosure],
            )
            deleted["numerics"] = cursor.rowcount
        return deleted


def _blocks(wave: _Wave) -> list[Row]:
    """The channel's samples since the last commit as rows, one per contiguous run."""
    rows: list[Row] = []
    run: list[npt.NDArray[np.float32]] = []
    start: float | None = None
    expected: float | None = None
    for samples, t_first in wave.tap.drain():
        if expected is not None and abs(t_first - expected) > 0.5 / wave.rate:
            rows += _row(wave, start, run)  # a dropout: the next run starts afresh
            run, start = [], None
        if start is None:
            start = t_first
        run.append(samples)
        expected = t_first + len(samples) / wave.rate
    if run:
        rows += _row(wave, start, run)
    return rows


def _row(wave: _Wave, start: float | None, run: list[npt.NDArray[np.float32]]) -> list[Row]:
    """A contiguous run as rows of at most ``MAX_BLOCK`` s."""
    samples = np.concatenate(run)
    step = max(1, round(MAX_BLOCK * wave.rate))
    t0 = start if start is not None else 0.0
    return [
        _encoded(wave, t0 + i / wave.rate, samples[i : i + step])
        for i in range(0, len(samples), step)
    ]


def _encoded(wave: _Wave, start: float, samples: npt.NDArray[np.float32]) -> Row:
    encoded = encode_block(samples, wave.gain)
    if encoded.clipped:
        log.warning("%s %s: %d samples beyond the int16 range were clipped",
                    wave.stream.serial, wave.key, encoded.clipped)  # fmt: skip
    return {
        "bed": wave.stream.bed_label,
        "device": wave.stream.serial,
        "channel": wave.key,
        "t_start": start,
        "rate": wave.rate,
        "gain": wave.gain,
        "offset": 0.0,
        "n": len(samples),
        "data": encoded.data,
    }
