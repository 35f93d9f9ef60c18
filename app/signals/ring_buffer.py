"""Fixed-capacity waveform ring buffer: one writer thread, snapshot reads from any thread.

Samples are addressed by a running index (0 for the first sample ever written), so readers can
ask for exact ranges however often the ring has wrapped. Each index has a time: the writer
anchors the newest sample to the device's timestamp, and a block that arrives later than the
previous one ended is preceded by NaN samples for the time in between, so a dropout stays a
gap on screen and in analysis. Nothing is lost silently: missing and overflowing samples
are counted.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Float32Array = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class RingStats:
    received: int  # samples the device delivered
    gap_samples: int  # samples missing between blocks, stored as NaN
    overflow: int  # samples discarded because one block exceeded the capacity
    clock_slips: int  # blocks that started earlier than the previous block ended


@dataclass(frozen=True, slots=True)
class Window:
    """Samples covering a stretch of time, as a plain list (what per-frame drawing wants)."""

    values: list[float]  # NaN where nothing is held
    first_index: int
    t_first: float  # time of values[0]


@dataclass(frozen=True, slots=True)
class Span:
    """What the buffer holds at one moment: indices ``oldest .. end-1``; ``t_end`` is the time
    of index ``end`` (just after the newest sample), None before the first write."""

    oldest: int
    end: int
    t_end: float | None
    sample_rate: float

    def index_at(self, t: float) -> float:
        """Fractional sample index at time ``t`` (requires ``t_end``)."""
        if self.t_end is None:
            raise ValueError("the buffer has no samples yet")
        return self.end - (self.t_end - t) * self.sample_rate

    def time_at(self, index: float) -> float:
        if self.t_end is None:
            raise ValueError("the buffer has no samples yet")
        return self.t_end - (self.end - index) / self.sample_rate


class RingBuffer:
    def __init__(self, sample_rate: float, seconds: float) -> None:
        if sample_rate <= 0 or seconds <= 0:
            raise ValueError("sample rate and length must be positive")
        self.sample_rate = float(sample_rate)
        self.capacity = max(1, round(sample_rate * seconds))
        self._data = np.full(self.capacity, np.nan, dtype=np.float32)
        self._lock = threading.Lock()
        self._end = 0
        self._t_end: float | None = None
        self._received = 0
        self._gap_samples = 0
        self._overflow = 0
        self._clock_slips = 0

    # -- writer side (one thread) -------------------------------------------------------------

    def write(self, block: npt.ArrayLike, t_first: float) -> None:
        """Append consecutive samples; ``t_first`` is the time of the first one."""
        samples = np.asarray(block, dtype=np.float32).ravel()
        with self._lock:
            if self._t_end is not None:
                late = (t_first - self._t_end) * self.sample_rate
                if late > 1.5:
                    self._append_gap(round(late))
                elif late < -1.5:
                    self._clock_slips += 1
            self._received += len(samples)
            self._append(samples)
            self._t_end = t_first + len(samples) / self.sample_rate

    def _append_gap(self, n: int) -> None:
        self._gap_samples += n
        if n >= self.capacity:
            self._data[:] = np.nan
            self._end += n
        else:
            self._append(np.full(n, np.nan, dtype=np.float32))

    def _append(self, samples: Float32Array) -> None:
        n = len(samples)
        if n > self.capacity:
            self._overflow += n - self.capacity
            self._end += n - self.capacity
            samples = samples[-self.capacity :]
            n = self.capacity
        start = self._end % self.capacity
        first = min(n, self.capacity - start)
        self._data[start : start + first] = samples[:first]
        self._data[: n - first] = samples[first:]
        self._end += n

    # -- reader side (any thread) -------------------------------------------------------------

    def span(self) -> Span:
        with self._lock:
            return self._span()

    def _span(self) -> Span:
        return Span(max(0, self._end - self.capacity), self._end, self._t_end, self.sample_rate)

    def read(self, start: int, stop: int) -> tuple[Float32Array, Span]:
        """Copy of indices ``start .. stop-1``; NaN where nothing is held (too old or future).

        The span returned is the one the copy was taken from."""
        with self._lock:
            return self._read_locked(start, stop)

    @property
    def t_end(self) -> float | None:
        """Time just after the newest sample (None before the first write)."""
        with self._lock:
            return self._t_end

    def window(self, t_from: float, t_to: float) -> Window | None:
        """The samples from just before ``t_from`` to just after ``t_to``, in one locked read;
        None before the first write."""
        with self._lock:
            if self._t_end is None:
                return None
            fs, end = self.sample_rate, self._end
            start = math.floor(end - (self._t_end - t_from) * fs) - 1
            stop = min(end, math.ceil(end - (self._t_end - t_to) * fs) + 1)
            lo = min(max(start, end - self.capacity), stop)
            values = self._list_out(lo, stop) if stop > lo else []
            t_first = self._t_end - (end - start) / fs
        if lo > start:  # older than what is held
            values = [math.nan] * (lo - start) + values
        return Window(values, start, t_first)

    def _list_out(self, lo: int, hi: int) -> list[float]:
        a, b = lo % self.capacity, hi % self.capacity
        part: list[float] = self._data[a : b if a < b else None].tolist()
        if a >= b:  # wrapped (or the whole ring)
            part += self._data[:b].tolist()
        return part

    def snapshot(self, n: int) -> tuple[Float32Array, Span]:
        """The newest ``n`` samples (NaN-padded at the front if fewer are held)."""
        with self._lock:
            return self._read_locked(self._end - n, self._end)

    def _read_locked(self, start: int, stop: int) -> tuple[Float32Array, Span]:
        out = np.full(max(0, stop - start), np.nan, dtype=np.float32)
        span = self._span()
        lo, hi = max(start, span.oldest), min(stop, span.end)
        if hi > lo:
            self._copy_out(lo, hi, out[lo - start : hi - start])
        return out, span

    def _copy_out(self, lo: int, hi: int, out: Float32Array) -> None:
        start = lo % self.capacity
        first = min(hi - lo, self.capacity - start)
        out[:first] = self._data[start : start + first]
        out[first:] = self._data[: hi - lo - first]

    @property
    def stats(self) -> RingStats:
        with self._lock:
            return RingStats(
                self._received,
                self._gap_samples,
                self._overflow,
                self._clock_slips,
            )
