"""A lossless copy of one channel's sample blocks for a consumer on another thread.

The display reads ring buffers, which forget; analysis must see every sample. A tap queues
each block as the driver writes it. Live, a full tap drops the block and counts it (the
consumer then sees a gap, never a silent splice); headless at full speed, a full tap makes the
driver wait, so a fast simulation cannot outrun its analysis.
"""

from __future__ import annotations

import queue
import threading

import numpy as np
import numpy.typing as npt

Block = tuple[npt.NDArray[np.float32], float]  # samples and the time of the first
CAPACITY = 600  # blocks: a minute or more of any driver's output
WAIT_SLICE = 0.1  # s between checks for a closed tap while the driver waits


class SampleTap:
    def __init__(self, capacity: int = CAPACITY, wait_when_full: bool = False) -> None:
        self._queue: queue.Queue[Block] = queue.Queue(maxsize=capacity)
        self._wait = wait_when_full
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._dropped = 0

    def put(self, samples: npt.NDArray[np.float32], t_first: float) -> None:
        """Called on the driver's thread."""
        block = (np.array(samples, dtype=np.float32), t_first)
        if not self._wait:
            try:
                self._queue.put_nowait(block)
            except queue.Full:
                with self._lock:
                    self._dropped += len(samples)
            return
        while not self._closed.is_set():
            try:
                self._queue.put(block, timeout=WAIT_SLICE)
            except queue.Full:
                continue
            return

    def drain(self) -> list[Block]:
        out: list[Block] = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> None:
        """The consumer is gone: a waiting driver gives up instead of waiting forever."""
        self._closed.set()

    @property
    def dropped(self) -> int:
        with self._lock:
            return self._dropped
