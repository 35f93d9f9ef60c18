"""The waveform ring buffer: wrap-around, time mapping, gaps, overflow, concurrent access."""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.signals.ring_buffer import RingBuffer

FS = 100.0


def ramp(start: int, n: int) -> np.ndarray:
    return np.arange(start, start + n, dtype=np.float32)


def test_wraps_around_and_keeps_the_newest_samples() -> None:
    buf = RingBuffer(FS, seconds=1.0)  # 100 samples
    t = 0.0
    for i in range(0, 250, 30):
        buf.write(ramp(i, 30), t)
        t += 30 / FS
    data, span = buf.snapshot(100)
    assert span.end == 270
    assert span.oldest == 170
    np.testing.assert_array_equal(data, ramp(170, 100))


def test_reads_outside_what_is_held_are_nan() -> None:
    buf = RingBuffer(FS, seconds=1.0)
    buf.write(ramp(0, 150), 0.0)
    data, span = buf.read(40, 160)
    assert np.isnan(data[:10]).all()  # 40..49 were overwritten
    np.testing.assert_array_equal(data[10:110], ramp(50, 100))
    assert np.isnan(data[110:]).all()  # 150..159 not written yet
    assert span.oldest == 50


def test_time_of_each_index_follows_the_device_timestamps() -> None:
    buf = RingBuffer(FS, seconds=10.0)
    buf.write(ramp(0, 50), 1000.0)
    span = buf.span()
    assert span.time_at(0) == pytest.approx(1000.0)
    assert span.time_at(49) == pytest.approx(1000.49)
    assert span.index_at(1000.25) == pytest.approx(25.0)


def test_a_late_block_is_preceded_by_a_counted_nan_gap() -> None:
    buf = RingBuffer(FS, seconds=10.0)
    buf.write(ramp(0, 100), 0.0)  # 0.00 .. 0.99 s
    buf.write(ramp(100, 100), 1.5)  # 0.5 s missing
    assert buf.span().end == 250
    data, span = buf.read(0, 250)
    assert np.isnan(data[100:150]).all()
    np.testing.assert_array_equal(data[150:], ramp(100, 100))
    assert buf.stats.gap_samples == 50
    assert buf.stats.received == 200
    assert span.time_at(150) == pytest.approx(1.5)


def test_jitter_under_a_sample_is_not_a_gap() -> None:
    buf = RingBuffer(FS, seconds=10.0)
    buf.write(ramp(0, 100), 0.0)
    buf.write(ramp(100, 100), 1.0 + 0.4 / FS)
    assert buf.stats.gap_samples == 0
    assert buf.span().end == 200


def test_a_gap_longer_than_the_buffer_clears_it() -> None:
    buf = RingBuffer(FS, seconds=1.0)
    buf.write(ramp(0, 100), 0.0)
    buf.write(ramp(0, 10), 60.0)
    data, _ = buf.snapshot(100)
    assert np.isnan(data[:90]).all()
    np.testing.assert_array_equal(data[90:], ramp(0, 10))
    assert buf.stats.gap_samples == 5900


def test_a_block_larger_than_the_buffer_counts_overflow() -> None:
    buf = RingBuffer(FS, seconds=1.0)
    buf.write(ramp(0, 130), 0.0)
    assert buf.stats.overflow == 30
    data, span = buf.snapshot(100)
    np.testing.assert_array_equal(data, ramp(30, 100))
    assert span.end == 130


def test_an_early_block_counts_a_clock_slip() -> None:
    buf = RingBuffer(FS, seconds=10.0)
    buf.write(ramp(0, 100), 10.0)
    buf.write(ramp(100, 100), 10.2)
    assert buf.stats.clock_slips == 1


@settings(max_examples=60, deadline=None)
@given(
    capacity=st.integers(1, 64),
    blocks=st.lists(st.integers(0, 100), min_size=1, max_size=30),
    n=st.integers(1, 80),
)
def test_snapshot_always_equals_the_tail_of_everything_written(
    capacity: int, blocks: list[int], n: int
) -> None:
    buf = RingBuffer(1.0, seconds=capacity)
    written: list[float] = []
    t = 0.0
    for size in blocks:
        block = ramp(len(written), size)
        buf.write(block, t)
        written += block.tolist()
        t += size
    data, span = buf.snapshot(n)
    expected = np.full(n, np.nan, dtype=np.float32)
    held = written[-min(capacity, len(written)) :] if written else []
    take = min(n, len(held))
    if take:
        expected[n - take :] = held[len(held) - take :]
    np.testing.assert_array_equal(data, expected)
    assert span.end == len(written)


def test_concurrent_writer_and_reader_see_consistent_snapshots() -> None:
    """A writer thread appends a counting ramp while the reader reads; every read must be
    one contiguous run, ending where the span it came with says."""
    buf = RingBuffer(250.0, seconds=2.0)
    reads_wanted = 2000
    reader_done = threading.Event()
    errors: list[str] = []

    def writer() -> None:
        written, t = 0, 0.0
        rng = np.random.default_rng(1)
        while not reader_done.is_set():  # keeps writing for as long as the reader reads
            n = int(rng.integers(1, 64))
            buf.write(ramp(written % 2**24, n), t)  # float32 counts exactly up to 2**24
            written += n
            t += n / 250.0

    thread = threading.Thread(target=writer, name="ring-writer")
    thread.start()
    # Read until both enough reads were made and the writer has wrapped the buffer many
    # times: on an idle machine the reader can finish its reads before the writer runs.
    deadline = time.monotonic() + 60.0
    reads = 0
    try:
        while reads < reads_wanted or buf.stats.received <= 10_000:
            if time.monotonic() > deadline:
                break  # the assertions below then say what was missing
            reads += 1
            # A snapshot of the newest samples, and a span, then a range read that returns
            # the span it was taken from.
            latest = buf.span()
            for data, span in (buf.snapshot(300), buf.read(latest.end - 200, latest.end)):
                finite = data[~np.isnan(data)]
                if len(finite) and finite[0] + len(finite) <= 2**24:
                    if not np.array_equal(finite, np.arange(finite[0], finite[0] + len(finite))):
                        errors.append(f"non-contiguous read at end={span.end}")
                    if len(data) == 300 and finite[-1] != (span.end - 1) % 2**24:
                        errors.append(f"read ends at {finite[-1]}, its span at {span.end - 1}")
            # The sweeps' read: a time window, one locked copy with its first sample's time.
            t_end = buf.t_end
            window = buf.window(t_end - 0.8, t_end) if t_end is not None else None
            if window is not None:
                values = np.array(window.values)
                finite = values[~np.isnan(values)]
                if len(finite) and finite[0] + len(finite) <= 2**24:
                    if not np.array_equal(finite, np.arange(finite[0], finite[0] + len(finite))):
                        errors.append("non-contiguous window")
                    if finite[0] != window.first_index % 2**24 and not np.isnan(values[0]):
                        errors.append(f"window starts at {finite[0]}, says {window.first_index}")
    finally:
        reader_done.set()
        thread.join()
    assert not errors, errors[:3]
    assert buf.stats.received == buf.span().end > 10_000


def test_a_time_window_is_one_consistent_read_with_its_first_samples_time() -> None:
    buf = RingBuffer(FS, seconds=1.0)  # holds 100 samples
    assert buf.window(0.0, 1.0) is None
    buf.write(ramp(0, 250), 10.0)  # 10.00 .. 12.49 s; 150 .. 249 held
    window = buf.window(12.0, 12.2)
    assert window is not None
    assert window.first_index == 199  # one sample of margin on each side
    assert window.t_first == pytest.approx(11.99)
    assert window.values == ramp(199, 22).tolist()
    old = buf.window(11.40, 11.60)  # starts before what is held: NaN there, never a guess
    assert old is not None
    assert old.first_index == 139
    assert all(math.isnan(v) for v in old.values[:11])
    assert old.values[11:] == ramp(150, len(old.values) - 11).tolist()
    assert buf.t_end == pytest.approx(12.5)
