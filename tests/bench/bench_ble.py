"""Bluetooth LE wearables through bleak's real BlueZ D-Bus code and the fake BlueZ.

Measures, on this machine: the time from a notification leaving the fake peripheral to its
value in the bed's numerics (median and p99 of 300), the time from a link loss to the strap
streaming again (median of 5), and the station-side CPU of one Polar H10 ECG stream (130 Hz
frames plus HR, in real time for 30 s; the fake's own CPU is measured on its thread and
subtracted). Run: ``python -m tests.bench.bench_ble``.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

from drivers.base import DriverState
from drivers.ble import pmd
from drivers.ble.supervisor import SupervisorConfig
from tests.ble import devices
from tests.ble.bluez_thread import FakeBlueZThread, PrivateBus
from tests.ble.harness import BleBed, add_wearable, bed_with, running_central, wait_until
from tests.fakes import ble_payloads


def _latency(bluez: FakeBlueZThread) -> list[float]:
    wearable = add_wearable(bluez, devices.HR_STRAP, "HRM-Pro 1234", devices.heart_rate_strap())
    out: list[float] = []
    # The shipped supervisor settings (the tests use faster ones).
    with running_central() as central, bed_with(central, wearable, SupervisorConfig()) as bed:
        wait_until(lambda: bed.stream.status.state is DriverState.CONNECTED)
        for k in range(300):
            bpm = 40 + k % 150
            payload = ble_payloads.heart_rate_measurement(bpm)
            sent = time.perf_counter()
            _notify(bluez, payload)
            while (latest := bed.stream.numerics.latest("HR")) is None or (
                latest.reading.value != bpm
            ):
                time.sleep(0.0002)
            out.append(time.perf_counter() - sent)
            time.sleep(0.12)  # past the de-duplication window
        reconnects = _reconnects(bluez, bed)
    return out + [-r for r in reconnects]


def _notify(bluez: FakeBlueZThread, payload: bytes) -> None:
    bluez.call(lambda: bluez.fake.notify(devices.HR_STRAP, "2a37", payload))


def _connections(bed: BleBed, count: int) -> Callable[[], bool]:
    return lambda: bed.supervisor.connections == count


def _reconnects(bluez: FakeBlueZThread, bed: BleBed) -> list[float]:
    times: list[float] = []
    for n in range(5):
        lost = time.perf_counter()
        bluez.call(lambda: bluez.fake.drop_link(devices.HR_STRAP))
        wait_until(_connections(bed, n + 2), within=30)
        wait_until(lambda: bed.stream.status.state is DriverState.CONNECTED, within=30)
        times.append(time.perf_counter() - lost)
    return times


def _ecg_cpu(bluez: FakeBlueZThread, seconds: float = 30.0) -> float:
    wearable = add_wearable(bluez, devices.POLAR_H10, "Polar H10 X", devices.polar_h10())
    rng = np.random.default_rng(1)
    with running_central() as central, bed_with(central, wearable) as bed:
        wait_until(lambda: bed.stream.status.state is DriverState.CONNECTED)
        frames = round(seconds * 130 / 73)
        fake_cpu = 0.0
        start_cpu, start = time.process_time(), time.perf_counter()
        for k in range(frames):
            samples = [int(v) for v in rng.integers(-2000, 2000, 73)]
            payload = ble_payloads.pmd_ecg_frame(samples, 10**18 + round(k * 73 * 1e9 / 130))
            fake_cpu += bluez.run(_timed_notify(bluez, pmd.DATA_UUID, payload))
            if k % 2 == 0:
                hr = ble_payloads.heart_rate_measurement(60 + k % 7, rr_s=[0.9])
                fake_cpu += bluez.run(_timed_notify(bluez, "2a37", hr))
            time.sleep(max(0.0, start + (k + 1) * 73 / 130 - time.perf_counter()))
        used = time.process_time() - start_cpu - fake_cpu
        wall = time.perf_counter() - start
    return used / wall


async def _timed_notify(bluez: FakeBlueZThread, uuid: str, payload: bytes) -> float:
    begin = time.thread_time()
    bluez.fake.notify(devices.POLAR_H10, uuid, payload)
    return time.thread_time() - begin


def main() -> None:
    bus = PrivateBus()
    os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = bus.address
    try:
        bluez = FakeBlueZThread()
        try:
            both = _latency(bluez)
            cpu = _ecg_cpu(bluez)
        finally:
            bluez.close()
    finally:
        bus.close()
    latency = sorted(x for x in both if x >= 0)
    reconnect = [-x for x in both if x < 0]
    p99 = latency[int(0.99 * (len(latency) - 1))]
    lines = [
        "BLE through bleak 3.1 + BlueZ D-Bus (fake org.bluez on a private bus), this machine:",
        f"notification -> bed numerics: median {statistics.median(latency) * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms, worst {latency[-1] * 1000:.1f} ms (n={len(latency)})",
        f"link loss -> streaming again: median {statistics.median(reconnect):.2f} s (runs: "
        f"{', '.join(f'{r:.2f}' for r in reconnect)}; first retry after 0.1-1 s, full jitter)",
        f"one Polar H10 ECG stream (130 Hz + HR), station side: {cpu * 100:.2f} % of a core",
    ]
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
