"""A Polar H10 streaming ECG through its PMD service, into a bed's waveform and QRS detector."""

from __future__ import annotations

import time

import numpy as np
from scipy.signal import resample_poly

from app.analysis.service import AnalysisService
from drivers.base import DriverState
from drivers.ble import pmd
from drivers.ble.polar_ecg import ECG_CHANNEL, STREAM_STOPPED
from tests.ble import devices
from tests.ble.bluez_thread import FakeBlueZThread
from tests.ble.harness import add_wearable, bed_with, conditions_of, running_central, wait_until
from tests.fakes import ble_payloads
from tests.unit.sim_helpers import heart_rate, run

FRAME = 73  # samples per notification, as an H10 sends at its large MTU
RATE = 130
H10_CLOCK_RESET_NS = 599_616_000_000_000_000  # 2019-01-01: an H10's clock after power-off
START_ECG = bytes.fromhex("02000001820001010e00")


def _ecg_microvolts(seconds: float) -> tuple[np.ndarray, float]:
    """The simulator's ECG (250 Hz) at the H10's 130 Hz, in µV, and its heart rate."""
    sim = run("normal", seconds, ecg_rate=250)
    ecg = resample_poly(sim.waves["ECG_II"], 13, 25)
    return np.round(ecg * 1000.0).astype(np.int64), heart_rate(ecg, RATE)


def _stream(bluez: FakeBlueZThread, microvolts: np.ndarray) -> None:
    """Frames in real time, each stamped with its last sample on the sensor's clock, and the
    heart-rate notification the H10 sends beside them once a second."""
    started = time.monotonic()
    for k in range(len(microvolts) // FRAME):
        if k % 2 == 0:
            _notify(bluez, ble_payloads.heart_rate_measurement(70, rr_s=[0.857]), "2a37")
        frame = microvolts[k * FRAME : (k + 1) * FRAME]
        last_ns = H10_CLOCK_RESET_NS + round(((k + 1) * FRAME - 1) * 1e9 / RATE)
        _notify(bluez, ble_payloads.pmd_ecg_frame([int(v) for v in frame], last_ns), pmd.DATA_UUID)
        time.sleep(max(0.0, started + (k + 1) * FRAME / RATE - time.monotonic()))


def _notify(bluez: FakeBlueZThread, payload: bytes, uuid: str) -> None:
    bluez.call(lambda: bluez.fake.notify(devices.POLAR_H10, uuid, payload))


def test_h10_ecg_fills_the_waveform_and_feeds_the_qrs_detector(bluez: FakeBlueZThread) -> None:
    wearable = add_wearable(bluez, devices.POLAR_H10, "Polar H10 ABCD1234", devices.polar_h10())
    microvolts, rate = _ecg_microvolts(14.0)
    with running_central() as central, bed_with(central, wearable) as bed:
        analysis = AnalysisService(bed.station)
        analysis.attach()
        analysis.start()
        try:
            wait_until(lambda: bed.stream.status.state is DriverState.CONNECTED, text="connected")
            control = bluez.call(lambda: bluez.fake.char(devices.POLAR_H10, pmd.CONTROL_POINT_UUID))
            assert control.writes == [START_ECG]
            _stream(bluez, microvolts)
            source = analysis.bed("Bed 01")
            assert source is not None
            wait_until(lambda: _analysed_hr(analysis) is not None, text="HR from the H10's ECG")
            computed = _analysed_hr(analysis)
        finally:
            assert analysis.stop(5.0)
        buffer = bed.stream.buffers[ECG_CHANNEL]
        stats = buffer.stats
        connections = bed.supervisor.connections
        span = buffer.span()
        values, _ = buffer.read(span.end - 10 * RATE, span.end)
    sent = len(microvolts) // FRAME * FRAME
    assert span.end - span.oldest >= sent - 2, "every sample reached the ring buffer"
    # The last 10 s are the sent ECG (µV → mV), continuous, within a few samples of their
    # time (the time line slews towards the least-delayed frame by ≤ 1 ms a frame).
    assert connections == 1
    assert stats.gap_samples == 0, "no gap in a stream that lost nothing"
    sent_mv = microvolts[:sent] / 1000.0
    lags = range(-6, 1)  # the end of the buffer is at most the last sample sent
    rms = [float(np.sqrt(np.mean((values - sent_mv[sent - 10 * RATE + lag : sent + lag]) ** 2)))
           for lag in lags]  # fmt: skip
    # A fraction of a sample's shift (the interpolation) moves steep QRS edges most.
    assert min(rms) < 0.02, rms
    assert computed is not None
    assert abs(computed - rate) <= 3.0, (computed, rate)


def _analysed_hr(analysis: AnalysisService) -> float | None:
    bed = analysis.bed("Bed 01")
    if bed is None or bed.ecg_analyzer is None:
        return None
    return bed.ecg_analyzer.snapshot.heart_rate


def test_the_stream_is_asked_again_when_the_sensor_stops_it(bluez: FakeBlueZThread) -> None:
    wearable = add_wearable(bluez, devices.POLAR_H10, "Polar H10 ABCD1234", devices.polar_h10())
    with running_central() as central, bed_with(central, wearable) as bed:
        wait_until(lambda: bed.stream.status.state is DriverState.CONNECTED, text="connected")
        control = bluez.call(lambda: bluez.fake.char(devices.POLAR_H10, pmd.CONTROL_POINT_UUID))
        bluez.call(lambda: control.notify(bytes([0x01, 0x00])))  # "online measurement stopped"
        wait_until(lambda: len(control.writes) == 2, text="start asked again")
        assert control.writes == [START_ECG, START_ECG]
        stopped = conditions_of(bed.feed.drain(), STREAM_STOPPED)
        assert any(c.active for c in stopped)
