"""Puts a wearable's ECG on the station's time line at exactly its nominal rate.

A Polar H10 samples at 130 Hz ± 2 % by its own clock and sends frames late by a variable
transport delay. The station's buffers assume the nominal rate, so writing the sensor's
samples as they come would drift away from wall time (or fill with gaps). Instead:

- sensor time → host time: the target offset is the smallest (arrival − sensor time) over the
  last ``OFFSET_WINDOW`` s of frames, since a frame can arrive late but never early; the offset
  in use moves towards it by at most ``MAX_SLEW`` s a frame, so a lucky fast frame bends the
  time line a little instead of cutting samples out of it;
- the samples are interpolated onto an exact nominal-rate grid in host time, which continues
  from frame to frame; after lost frames (a hole longer than ``MAX_HOLE``) the grid restarts,
  so the station shows a gap instead of a splice.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import numpy.typing as npt

OFFSET_WINDOW = 30.0  # s of frames over which the transport delay's minimum is taken
MAX_HOLE = 0.1  # s between consecutive samples beyond which they are not interpolated
CLOCK_JUMP = 1.0  # s: a change of offset this large is a reset clock, not a delay
MAX_SLEW = 0.001  # s per frame (0.2 % of a 0.56-s frame): below what a trace shows


class EcgTimeline:
    def __init__(self, sample_rate: float) -> None:
        self.rate = sample_rate
        self._offsets: deque[tuple[float, float]] = deque()  # (arrival, arrival - sensor)
        self._offset: float | None = None  # in use
        self._last: tuple[float, float] | None = None  # previous sample (sensor s, value)
        self._next = 0.0  # host time of the next grid point

    def reset(self) -> None:
        self._offsets.clear()
        self._offset = None
        self._last = None
        self._next = 0.0

    def place(
        self, sensor_times: npt.NDArray[np.float64], values: npt.NDArray[np.float64], arrival: float
    ) -> tuple[npt.NDArray[np.float32], float] | None:
        """One frame (sensor seconds, values) → grid samples and the host time of the first,
        or None when the frame ends before the next grid point."""
        offset = self._estimate(arrival, float(sensor_times[-1]))
        if self._last is not None and 0 < sensor_times[0] - self._last[0] <= MAX_HOLE:
            sensor_times = np.concatenate(([self._last[0]], sensor_times))
            values = np.concatenate(([self._last[1]], values))
        else:  # the first frame, or one after a hole or a clock jump: a new stretch
            self._next = float(sensor_times[0]) + offset
        self._last = (float(sensor_times[-1]), float(values[-1]))
        start = self._next
        host = sensor_times + offset
        # The tolerance covers float64 rounding at Unix times (2e-7 s).
        count = int(np.floor((host[-1] - start) * self.rate + 1e-3)) + 1
        if count <= 0:
            return None
        grid = start + np.arange(count) / self.rate
        self._next = start + count / self.rate
        placed = np.interp(grid, host, values).astype(np.float32)
        return placed, start

    def _estimate(self, arrival: float, sensor_last: float) -> float:
        offset = arrival - sensor_last
        if self._offset is None or abs(offset - self._offset) > CLOCK_JUMP:
            self._offsets.clear()  # the first frame, or the sensor's clock was reset (or set)
            self._offset = offset
        self._offsets.append((arrival, offset))
        while self._offsets and self._offsets[0][0] < arrival - OFFSET_WINDOW:
            self._offsets.popleft()
        target = min(o for _, o in self._offsets)
        self._offset += max(-MAX_SLEW, min(MAX_SLEW, target - self._offset))
        return self._offset
