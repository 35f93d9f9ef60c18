"""A one-bed station with scripted devices and an alarm engine, ticked by the test."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping

from app.alarms.config import AlarmConfig
from app.alarms.engine import AlarmEngine, AlarmSnapshot
from app.model.patient import Patient, PatientCategory, Sex
from app.model.ward import DERIVED_KIND, Ward
from app.station import Station
from drivers.base import (
    ColourRole,
    DeviceDescription,
    DeviceInfo,
    DriverState,
    NumericSpec,
    Quality,
    Reading,
)
from tests.fakes.fake_driver import NUMERICS, FakeDriver

BED = "Bed 01"
UNIT = {"HR": "/min", "PR": "/min", "SPO2": "%", "RR": "/min", "TEMP": "Cel", "PVC": "/min"}
DERIVED_NUMERICS = tuple(
    NumericSpec(code, code, "1", "", ColourRole.ECG, stale_after=5.0)
    for code in ("HR", "PVC", "RR", "ECG_SQI", "PLETH_SQI", "RESP_SQI")
)
MONITOR_NUMERICS = (
    *NUMERICS,
    NumericSpec("TEMP", "Temp", "Cel", "°C", ColourRole.TEMP, stale_after=60.0, decimals=1),
)


def patient(mrn: str = "A12345", category: PatientCategory = PatientCategory.ADULT) -> Patient:
    return Patient("Doe", "Jo", mrn, dt.date(1970, 1, 1), Sex.UNKNOWN, category)


class NumericsMonitor(FakeDriver):
    """A monitor that sends numerics only (silent after 30 s without readings)."""

    def describe(self) -> DeviceDescription:
        info = DeviceInfo("fake", "Tests", "Monitor", self.serial, simulated=False)
        return DeviceDescription(info, (), MONITOR_NUMERICS, display_latency=0.2)


class FakeAnalysis(FakeDriver):
    """Stands in for Vigil's analysis: HR, PVC, SQI readings and rhythm events."""

    def describe(self) -> DeviceDescription:
        info = DeviceInfo(DERIVED_KIND, "Vigil", "analysis", self.serial, simulated=False)
        return DeviceDescription(info, (), DERIVED_NUMERICS, display_latency=0.0)


class Harness:
    """Times are seconds from ``t0``; the engine is ticked explicitly."""

    def __init__(
        self,
        config: AlarmConfig | None = None,
        monitor: FakeDriver | None = None,
        category: PatientCategory | None = None,
    ) -> None:
        self.t0 = time.time() + 1.0  # after the drivers' start-up status
        self.station = Station(Ward("Test ward", [BED]))
        self.monitor = monitor or NumericsMonitor("MON-1")
        self.analysis = FakeAnalysis(f"{BED}-analysis")
        self.station.attach(BED, self.monitor)
        self.station.attach(BED, self.analysis)
        if category is not None:
            self.station.ward.admit(BED, patient(category=category))
        self.engine = AlarmEngine(self.station, config)
        self.station.start()
        self.monitor.push_status(DriverState.CONNECTED, self.t0)

    def at(self, seconds: float) -> float:
        return self.t0 + seconds

    def reading(self, code: str, value: float | None, t: float, quality: Quality = Quality.VALID
                ) -> None:  # fmt: skip
        device = self.analysis if code in {n.code for n in DERIVED_NUMERICS} else self.monitor
        unit = UNIT.get(code, "1")
        device.push_readings(Reading(code, value, unit, self.at(t), quality))

    def rhythm(self, name: str, t: float) -> None:
        self.analysis.push_event("rhythm", name, self.at(t))

    def tick(self, t: float) -> AlarmSnapshot:
        """Everything stamped after ``t`` waits for a later tick, so a test may script
        ahead of the clock."""
        return self.engine.tick(self.at(t), hold_future=True)

    def run(
        self,
        start: float,
        stop: float,
        every: float = 0.25,
        values: Mapping[str, float | None] | None = None,
    ) -> AlarmSnapshot:
        """Tick from ``start`` to ``stop`` inclusive; the last snapshot. ``values`` are sent
        once a second (on whole seconds), as a monitor sends its numerics."""
        t = start
        snapshot = self.engine.snapshot()
        while t <= stop + 1e-9:
            if values and abs(t - round(t)) < 1e-9:
                for code, value in values.items():
                    self.reading(code, value, t)
            snapshot = self.tick(t)
            t = round(t + every, 6)
        return snapshot

    def codes(self, snapshot: AlarmSnapshot | None = None) -> list[str]:
        return [a.code for a in (snapshot or self.engine.snapshot()).alarms]

    def events(self, event: str, code: str | None = None) -> list[float]:
        """Times (from t0) of log entries of ``event`` (for ``code``)."""
        return [
            round(e.t - self.t0, 3)
            for e in self.engine.log.entries()
            if e.event == event and (code is None or e.code == code)
        ]

    def close(self) -> None:
        self.station.stop()
