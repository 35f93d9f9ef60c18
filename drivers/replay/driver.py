"""A recorded ECG played into a bed as if a monitor were sending it: the replay driver.

Paced like the simulated monitor (by a simulation host's thread, its own or one shared by a
ward) and timestamped in station time from its epoch: sample ``k`` of the record is at
``epoch + k / fs``, whatever the pacing. The record's reference annotations are written as
marks on the primary lead when their sample is played. The device is marked simulated, so
the station never shows a recording as a live patient, and it measures no numerics: Vigil
computes those itself. At the end of the record it stops with "replay ended" (or starts again
from the beginning when asked to loop).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np

from drivers.base import (
    DeviceDescription,
    DeviceEvent,
    DeviceInfo,
    DriverState,
    Mark,
)
from drivers.replay.source import ReplaySource
from drivers.sim.host import SimulationHost
from drivers.sim.hosted import HostedDriver

log = logging.getLogger(__name__)

STEP = 0.1  # seconds of record per block
DISPLAY_LATENCY = 0.3  # seconds: one step plus scheduling margin
REPLAY_ENDED = "replay ended"


class ReplayMonitor(HostedDriver):
    """Plays one WFDB record (see :func:`drivers.replay.load_source`) into a sink."""

    def __init__(
        self,
        source: ReplaySource,
        *,
        speed: float | None = 1.0,
        loop: bool = False,
        epoch: float | None = None,
        clock: Callable[[], float] = time.time,
        host: SimulationHost | None = None,
    ) -> None:
        super().__init__(
            speed=speed, epoch=epoch, clock=clock, host=host, host_name=f"replay-{source.name}"
        )
        self.source = source
        self._loop = loop
        self._step = max(1, round(source.fs * STEP))  # samples per block
        self._position = 0  # samples played since the start, over every loop

    @property
    def kind(self) -> str:
        return "replay"

    @property
    def played(self) -> float:
        """Seconds of record played so far (over every loop)."""
        return self._position / self.source.fs

    def describe(self) -> DeviceDescription:
        info = DeviceInfo("replay", "Vigil", "WFDB replay", self.source.name, simulated=True)
        channels = tuple(channel.spec for channel in self.source.channels)
        return DeviceDescription(info, channels, (), DISPLAY_LATENCY)

    def _connected_message(self) -> str:
        return f"replaying record {self.source.name}"

    def _now(self) -> float:
        return self._position / self.source.fs

    def _finished(self) -> None:
        """A replay has nothing to mark: ``played`` already says how far it got."""

    # -- stepping, called by the host's thread ---------------------------------------------

    def due_at(self) -> float:
        return self._pacer.due((self._position + self._step) / self.source.fs)

    def step_once(self) -> bool:
        """Deliver one block; False once the replay is over."""
        with self._step_lock:
            if self._stop.is_set() or self._done.is_set():
                return False
            n = self.source.n_samples
            if self._position >= n and not self._loop:
                self._finish(DriverState.STOPPED, REPLAY_ENDED)
                return False
            try:
                self._deliver(self._position % n, self._position)
            except Exception as exc:  # a dying driver must be seen on the screen, never vanish
                log.exception("replay of %s failed", self.source.name)
                self._finish(DriverState.FAILED, f"replay failed: {exc}")
                return False
            return True

    def _deliver(self, first: int, position: int) -> None:
        """Samples ``first ..`` of the record, played as samples ``position ..`` of the run."""
        sink = self._require_sink()
        if first == 0 and position > 0:
            sink.write_event(DeviceEvent("replay", "record restarted", self._at(position)))
        count = min(self._step, self.source.n_samples - first)  # a block never wraps
        t_first = self._at(position)
        for channel in self.source.channels:
            sink.write_samples(channel.spec.key, channel.values[first : first + count], t_first)
        lo, hi = np.searchsorted(self.source.mark_samples, (first, first + count))
        if hi > lo:
            offset = position - first
            marks = [
                Mark(
                    self._at(int(self.source.mark_samples[i]) + offset),
                    self.source.mark_labels[i],
                )
                for i in range(int(lo), int(hi))
            ]
            sink.write_marks(self.source.primary.key, marks)
        self._position = position + count

    def _at(self, position: int) -> float:
        """Station time of sample ``position`` of the run."""
        return self._time(position / self.source.fs)
