"""The station as a user runs it in clinic mode (``main.py --ble``): paired wearables connect
by themselves, their data reaches the screen and the record; without Bluetooth the station
runs on and says why."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.wearables.allow_list import AllowList
from drivers.ble.driver import Wearable
from tests.ble import devices
from tests.ble.bluez_thread import FakeBlueZThread
from tests.ble.harness import add_wearable
from tests.cli.test_main_cli import png_size, run_main
from tests.fakes import ble_payloads


@contextmanager
def wearables_sending(bluez: FakeBlueZThread) -> Iterator[None]:
    """The strap and the oximeter send once a second, as real ones do, until the end."""
    done = threading.Event()

    def send() -> None:
        strap = ble_payloads.heart_rate_measurement(64, rr_s=[0.9375])
        oxi = ble_payloads.plx_continuous(96, 63)
        while not done.wait(1.0):
            bluez.call(lambda: _notify_if_connected(bluez, devices.HR_STRAP, "2a37", strap))
            bluez.call(lambda: _notify_if_connected(bluez, devices.OXIMETER, "2a5f", oxi))

    thread = threading.Thread(target=send, name="wearables-sending")
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(5)


def _notify_if_connected(bluez: FakeBlueZThread, address: str, uuid: str, data: bytes) -> None:
    if bluez.fake.devices[address].connected:
        bluez.fake.notify(address, uuid, data)


def test_paired_wearables_feed_their_bed_and_the_record(
    bluez: FakeBlueZThread, tmp_path: Path
) -> None:
    strap = add_wearable(bluez, devices.HR_STRAP, "HRM-Pro 1234", devices.heart_rate_strap())
    oximeter = add_wearable(bluez, devices.OXIMETER, "Nonin 3150", devices.pulse_oximeter())
    record = tmp_path / "record.db"
    allow = AllowList(record)
    allow.add(strap, "Bed 01")
    allow.add(oximeter, "Bed 01")
    allow.add(Wearable("C0:FF:EE:00:00:77", "Spare strap", strap.service_uuids), None)
    allow.close()
    shot = tmp_path / "clinic.png"
    with wearables_sending(bluez):
        out = run_main("--ble", "--beds", "2", "--db", str(record), "--size", "1280x720",
                       "--screenshot", str(shot), "--quit-after", "10")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    assert png_size(shot) == (1280, 720)
    db = sqlite3.connect(record)
    stored = dict(db.execute("SELECT code, MAX(value) FROM numerics WHERE device = ? "
                             "GROUP BY code", [devices.OXIMETER]).fetchall())  # fmt: skip
    assert stored["SPO2"] == 96.0
    assert stored["PR"] == 63.0
    rates = db.execute("SELECT value FROM numerics WHERE device = 'Bed 01-analysis' AND "
                       "code = 'HR' AND value IS NOT NULL").fetchall()  # fmt: skip
    assert rates, "Vigil's HR from the strap's RR intervals is in the record"
    assert {round(v) for (v,) in rates} == {64}  # 60 / 0.9375 s
    left = db.execute("SELECT address, bed FROM wearables ORDER BY address").fetchall()
    assert left == [(devices.HR_STRAP, "Bed 01"), (devices.OXIMETER, "Bed 01"),
                    ("C0:FF:EE:00:00:77", None)]  # fmt: skip


def test_without_bluetooth_the_station_runs_and_raises_a_technical_alarm(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={tmp_path}/no-bus"}  # fmt: skip
    record = tmp_path / "record.db"
    out = run_main("--ble", "--beds", "2", "--db", str(record), "--quit-after", "4", env=env)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    alarms = (
        sqlite3.connect(record)
        .execute("SELECT detail FROM alarm_log WHERE code = 'BLUETOOTH_UNAVAILABLE'")
        .fetchall()
    )
    assert alarms, "the missing radio is a technical alarm in the log"
