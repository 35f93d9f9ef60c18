"""The Polar H10's ECG through its PMD service (ble.md §4): 130 Hz, µV, one lead.

Order matters to the sensor: control-point indications and data notifications are enabled
first (the supervisor subscribes before :meth:`PolarEcgProfile.prepare`), then the start
command is written and its answer awaited. When the sensor stops the stream on its own it says
so on the control point, and the profile asks for the stream again.
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np

from drivers.base import ChannelSpec, ColourRole, DeviceCondition
from drivers.ble import pmd
from drivers.ble.ecg_timeline import EcgTimeline
from drivers.ble.profile import Gatt, Output, ProfileError, Subscription, command

log = logging.getLogger(__name__)

RATE = 130.0  # Hz
ECG_CHANNEL = "ECG"
ALREADY_STREAMING = 6  # "already in state": a stream left running by an earlier connection
STREAM_STOPPED = "BLE_ECG_STOPPED"


class PolarEcgProfile:
    service_uuid = pmd.SERVICE_UUID
    name = "Polar ECG"
    numerics = ()
    channels = (
        # µV resolution: 1000 counts per mV, as stored.
        ChannelSpec(ECG_CHANNEL, "ECG", "mV", RATE, 1000.0, ColourRole.ECG, (-1.5, 2.0)),
    )
    subscriptions = (
        Subscription(pmd.CONTROL_POINT_UUID, period=None),
        Subscription(pmd.DATA_UUID, period=73 / RATE),  # 73 samples a frame
    )
    required = False  # an H10 without it still gives heart rate and RR intervals

    def __init__(self) -> None:
        self._clock = pmd.EcgSampleClock(RATE)
        self._timeline = EcgTimeline(RATE)
        self._answer: asyncio.Future[pmd.ControlPointResponse] | None = None
        self._gatt: Gatt | None = None
        self._restart: asyncio.Task[None] | None = None

    async def prepare(self, gatt: Gatt, now: float) -> Output:
        self._gatt = gatt
        await self._start(gatt)
        return Output(conditions=[DeviceCondition(STREAM_STOPPED, False, now, "")])

    async def _start(self, gatt: Gatt) -> None:
        self._answer = asyncio.get_running_loop().create_future()
        start = pmd.start_ecg(int(RATE))
        answer = await command(gatt, pmd.CONTROL_POINT_UUID, start, self._answer,
                               "the Polar ECG start command")  # fmt: skip
        if not answer.ok and answer.status != ALREADY_STREAMING:
            raise ProfileError(f"the Polar sensor refused to stream ECG: {answer.status_text}")

    def on_notify(self, uuid: str, data: bytes, now: float) -> Output:
        if uuid == pmd.CONTROL_POINT_UUID:
            return self._control_point(data, now)
        frame = pmd.decode_frame(data)
        stamps = self._clock.timestamps(frame.timestamp_ns, len(frame.samples_uv))
        sensor_s = np.array([pmd.polar_to_unix(t) for t in stamps], dtype=np.float64)
        microvolts = np.asarray(frame.samples_uv, dtype=np.float64)
        placed = self._timeline.place(sensor_s, microvolts / 1000.0, now)
        if placed is None:
            return Output()
        samples, t_first = placed
        flowing = DeviceCondition(STREAM_STOPPED, False, now, "")
        return Output(samples=[(ECG_CHANNEL, samples, t_first)], conditions=[flowing])

    def _control_point(self, data: bytes, now: float) -> Output:
        message = pmd.parse_control_point(data)
        if isinstance(message, pmd.MeasurementStopped):
            if "ECG" not in message.names:
                return Output()
            self._ask_again()
            text = "Polar sensor stopped the ECG stream; restarting"
            return Output(conditions=[DeviceCondition(STREAM_STOPPED, True, now, text)])
        if self._answer is not None and not self._answer.done():
            self._answer.set_result(message)
        return Output()

    def _ask_again(self) -> None:
        gatt = self._gatt
        if gatt is None or (self._restart is not None and not self._restart.done()):
            return
        self._clock.reset()
        self._timeline.reset()
        self._restart = asyncio.get_running_loop().create_task(self._start(gatt))
        self._restart.add_done_callback(_report_restart)

    def reset(self) -> None:
        self._clock.reset()
        self._timeline.reset()
        self._gatt = None
        if self._restart is not None:
            self._restart.cancel()
            self._restart = None
        if self._answer is not None and not self._answer.done():
            self._answer.cancel()
        self._answer = None


def _report_restart(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        # The data watchdog reconnects if the stream stays silent; the reason is logged here.
        log.error("Polar ECG restart failed: %s", error)
