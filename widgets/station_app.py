"""Runs the station GUI: Qt application, window, screen calibration, orderly shutdown."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PySide6 import QtCore, QtGui, QtWidgets

from app.alarms.engine import AlarmEngine
from app.alarms.service import AlarmService
from app.analysis.service import AnalysisService
from app.cli import StationOptions
from app.demo_ward import bed_labels, build_simulated_station, enter_demo_observations
from app.inference.runtime import open_inference, report_failures
from app.inference.worker import InferenceWorker
from app.model.ward import Ward
from app.replay_ward import build_replay_station
from app.run_stats import RunMeter, write_stats
from app.station import Station
from app.storage.recorder import Recorder
from app.storage.schema import SchemaError
from app.sync.cli import connect
from app.sync.client import FhirClient
from app.sync.errors import ConfigError
from app.sync.lookup import PatientMatch, find_patients
from app.sync.outbox import Outbox
from app.sync.service import SyncService
from app.wearables.manager import WearableManager
from app.wearables.runtime import start_wearables
from drivers.wfdb.header import WfdbFormatError
from widgets import theme
from widgets.ehr_lookup import Search
from widgets.main_window import MainWindow

log = logging.getLogger(__name__)

GIL_SLICE_S = 0.001

SANE_DPI = (60.0, 400.0)
REFERENCE_HEIGHT = 1080
OFFSCREEN_SIZE = (1920, 1080)
STEADY_AFTER = 5.0  # seconds of start-up left out of the steady-state statistics


def no_display_message() -> str | None:
    """Why the station cannot open a window here, if it cannot."""
    if os.environ.get("QT_QPA_PLATFORM") or sys.platform != "linux":
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return (
        "No display: neither DISPLAY nor WAYLAND_DISPLAY is set. Run the station on a desktop, "
        "or under a virtual one (xvfb-run -a python main.py), or headless with "
        "QT_QPA_PLATFORM=offscreen and --screenshot/--quit-after."
    )


class ScreenMetrics(Protocol):
    """What calibration needs of a screen (a QScreen has it)."""

    def physicalDotsPerInch(self) -> float: ...

    def devicePixelRatio(self) -> float: ...


def calibrate(screen: ScreenMetrics, dpi: float | None) -> tuple[float, str]:
    """Logical pixels per millimetre for 25 mm/s sweeps, and a note when they are a guess.

    Widgets draw in logical pixels; on a scaled (high-DPI) screen each is several device
    pixels, so the screen's true pixels per inch are divided by that ratio."""
    ratio = screen.devicePixelRatio() or 1.0
    if dpi is not None:
        return dpi / ratio / 25.4, f"sweep calibrated to {dpi:g} dpi"
    reported = screen.physicalDotsPerInch()
    if SANE_DPI[0] <= reported <= SANE_DPI[1]:
        return reported / ratio / 25.4, ""
    return 96.0 / 25.4, "screen size unknown: sweep speed assumes 96 dpi (use --dpi)"


def run_station(options: StationOptions) -> int:
    message = no_display_message()
    if message:
        sys.stderr.write(message + "\n")
        return 2
    try:
        station = build_station(options)
    except WfdbFormatError as exc:  # a record that cannot be replayed: said like a bad option
        sys.stderr.write(f"main.py: error: argument --replay: {exc}\n")
        return 2
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    if not isinstance(app, QtWidgets.QApplication):
        raise TypeError("another kind of Qt application is already running")
    theme.apply(app)
    # The analysis thread holds the interpreter in 5 ms slices by default, long enough to make
    # the 30 fps frame timer late; 1 ms slices keep the sweep smooth at little cost.
    sys.setswitchinterval(GIL_SLICE_S)
    services = _Services.build(station, options)
    alarms, alarm_service, recorder = services.alarms, services.alarm_service, services.recorder
    window = build_window(app, station, options, alarms, alarm_service, sync=services.sync,
                          wearables=services.wearables)  # fmt: skip
    if options.sync is not None:
        window.search = services.search(options.sync.mrn_system)
    window.record = options.db if recorder is not None else None
    meter = RunMeter()
    station.start()
    services.start()
    window.start()
    arrange(window, options)
    if options.detail_bed is not None:
        window.show_bed(station.ward.beds[options.detail_bed - 1].label)
    if options.quit_after is not None:
        warm_up = min(STEADY_AFTER, options.quit_after / 3)
        QtCore.QTimer.singleShot(round(warm_up * 1000), lambda: meter.mark(window.clock.frames))
    if options.quit_after is not None:
        QtCore.QTimer.singleShot(
            round(options.quit_after * 1000), lambda: _finish(app, window, options.screenshot)
        )
    _quit_on_sigint(app)
    code = app.exec()
    window.shutdown()
    services.stop()
    stuck = station.stop()
    services.stop_wearables()  # after their drivers, which run on its loop
    if options.stats is not None:
        write_stats(
            options.stats,
            meter.report(
                station,
                frames=window.clock.frames,
                visible_beds=len(window.grid.tiles),
                tick_ms_median=_median(window.clock.tick_ms()),
            ),
        )
    window.deleteLater()
    if stuck:
        log.error("devices did not stop: %s", ", ".join(stuck))
        return 1
    return code


@dataclass
class _Services:
    """The threads behind the screen: beat classifier, analysis, alarms and the record."""

    inference: InferenceWorker | None
    analysis: AnalysisService
    alarms: AlarmEngine
    alarm_service: AlarmService
    recorder: Recorder | None
    sync: SyncService | None
    lookup: FhirClient | None  # the admit dialog's own client for EHR searches
    wearables: WearableManager | None  # Bluetooth LE (``--ble``)

    @staticmethod
    def build(station: Station, options: StationOptions) -> _Services:
        unavailable: list[str] = []
        inference = open_inference(unavailable.append)
        analysis = AnalysisService(station, inference=inference)
        analysis.attach()  # before the window, so each bed shows Vigil's numbers from the start
        alarms = AlarmEngine(station)  # subscribes before the devices start: it misses nothing
        report_failures(analysis, alarms.raise_technical, alarms.clear_technical, unavailable)
        if options.replay is None:
            enter_demo_observations(alarms, station, time.time())
        recorder = open_recorder(station, options, alarms)
        sync = open_sync(options, alarms) if recorder is not None else None
        lookup = connect(options.sync)[0] if sync is not None and options.sync else None
        wearables = (
            start_wearables(station, options.db if recorder else None, alarms.raise_technical)
            if options.ble
            else None
        )
        return _Services(inference, analysis, alarms, AlarmService(alarms), recorder, sync,
                         lookup, wearables)  # fmt: skip

    def search(self, mrn_system: str) -> Search | None:
        """The EHR patient search for the admit dialog (None without an EHR)."""
        client = self.lookup
        if client is None:
            return None

        def search(mrn: str, name: str) -> list[PatientMatch]:
            return find_patients(client, mrn or None, name or None, mrn_system=mrn_system)

        return search

    def start(self) -> None:
        if self.inference is not None:
            self.inference.start()
        self.analysis.start()
        self.alarm_service.start()
        if self.recorder is not None:
            self.recorder.start()
        if self.sync is not None:
            self.sync.start()

    def stop(self) -> None:
        """The record last, so that it writes what the others produced up to the end."""
        if not self.analysis.stop():
            log.error("the analysis thread did not stop")
        if self.inference is not None and not self.inference.stop():
            log.error("the inference thread did not stop")
        if not self.alarm_service.stop():
            log.error("the alarm thread did not stop")
        if self.recorder is not None and not self.recorder.stop():
            log.error("the storage thread did not stop")
        if self.sync is not None:
            if not self.sync.stop():
                log.error("the EHR sync thread did not stop")
            self.sync.outbox.close()
        if self.lookup is not None:
            self.lookup.close()

    def stop_wearables(self) -> None:
        if self.wearables is not None and not self.wearables.stop():
            log.error("the Bluetooth thread did not stop")


def open_sync(options: StationOptions, alarms: AlarmEngine) -> SyncService | None:
    """The EHR sync of the record while the station runs (``--fhir-base``); settings that
    do not work are a technical alarm that says why, and the monitoring goes on."""
    if options.sync is None or options.db is None:
        return None
    try:
        client, naming = connect(options.sync)
        outbox = Outbox.open(options.db)
    except ConfigError as exc:
        log.exception("the EHR sync cannot start")
        alarms.raise_technical("EHR_SYNC_FAILING", f"EHR SYNC NOT STARTED: {exc}")
        return None
    return SyncService(outbox, client, naming, raise_technical=alarms.raise_technical,
                       clear_technical=alarms.clear_technical)  # fmt: skip


def open_recorder(
    station: Station, options: StationOptions, alarms: AlarmEngine
) -> Recorder | None:
    """The record's writer, tapping every device; a record that cannot be opened does not
    stop the monitoring, but it raises a technical alarm that says why."""
    if options.db is None:
        return None
    try:
        recorder = Recorder(
            station, options.db, alarms, options.retention, sync_policy=options.chart
        )
    except (OSError, sqlite3.Error, SchemaError) as exc:
        log.exception("the record %s cannot be opened", options.db)
        alarms.raise_technical("STORAGE_FAILURE", f"RECORD NOT AVAILABLE: {exc}")
        return None
    recorder.attach()
    return recorder


def build_station(options: StationOptions) -> Station:
    """The replayed records when asked for, empty beds for wearables (``--ble``), otherwise
    the simulated demo ward."""
    if options.replay is not None:
        return build_replay_station(options.replay)
    if options.ble:
        return Station(Ward("Clinic", bed_labels(options.sim.beds)))
    return build_simulated_station(options.sim)


def build_window(
    app: QtWidgets.QApplication,
    station: Station,
    options: StationOptions,
    alarms: AlarmEngine,
    alarm_service: AlarmService,
    *,
    sync: SyncService | None = None,
    wearables: WearableManager | None = None,
) -> MainWindow:
    screen = app.primaryScreen()
    px_per_mm, note = calibrate(screen, options.dpi)
    height = options.size[1] if options.size else _planned_size(screen)[1]
    font_scale = max(0.75, min(1.6, height / REFERENCE_HEIGHT))
    return MainWindow(
        station,
        kiosk=options.kiosk,
        fps=options.fps,
        px_per_mm=px_per_mm,
        font_scale=font_scale,
        calibration_note=note,
        alarms=alarms,
        alarm_service=alarm_service,
        sync=sync,
        wearables=wearables,
    )


def _planned_size(screen: QtGui.QScreen) -> tuple[int, int]:
    if QtGui.QGuiApplication.platformName() == "offscreen":
        return OFFSCREEN_SIZE
    geometry = screen.availableGeometry()
    return geometry.width(), geometry.height()


def arrange(window: MainWindow, options: StationOptions) -> None:
    """Show the window: full screen for a kiosk, a given size, or maximised."""
    if options.kiosk and options.size is None:
        window.showFullScreen()
    elif options.size is not None:
        window.resize(*options.size)
        window.show()
    elif QtGui.QGuiApplication.platformName() == "offscreen":
        window.resize(*OFFSCREEN_SIZE)  # no real screen: the size the benchmarks assume
        window.show()
    else:
        # Sized to the screen first: without a window manager "maximised" means nothing.
        window.resize(window.screen().availableGeometry().size())
        window.showMaximized()


def _finish(app: QtWidgets.QApplication, window: MainWindow, screenshot: Path | None) -> None:
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        if not window.grab().save(str(screenshot), "PNG"):
            log.error("could not save the screenshot to %s", screenshot)
            app.exit(1)
            return
    app.quit()


def _quit_on_sigint(app: QtWidgets.QApplication) -> None:
    signal.signal(signal.SIGINT, lambda *_: app.quit())
    # Qt's loop does not run Python code on its own; a light timer lets the handler run.
    timer = QtCore.QTimer(app)
    timer.timeout.connect(lambda: None)
    timer.start(250)


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[len(ordered) // 2], 3)
