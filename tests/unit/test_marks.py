"""Marks: the store behind a device's channels, the sink method, and where a sweep draws them."""

from __future__ import annotations

import threading

import pytest

from app.bus import EventBus
from app.signals.marks import MarkStore
from app.signals.stream import DeviceStream
from drivers.base import Mark
from tests.fakes.fake_driver import FakeDriver
from widgets.sweep_geometry import column_x, place_labels, visible_columns


def marks(*times: float, label: str = "N") -> list[Mark]:
    return [Mark(t, label) for t in times]


def test_a_store_returns_the_marks_of_a_half_open_window_in_time_order() -> None:
    store = MarkStore()
    store.add(marks(1.0, 2.0, 3.0))
    store.add([Mark(2.5, "V")])  # late: still lands in its place
    assert store.between(2.0, 3.0) == [Mark(2.0, "N"), Mark(2.5, "V")]
    assert store.between(0.0, 10.0)[-1] == Mark(3.0, "N")
    assert store.between(3.5, 10.0) == []


def test_a_store_keeps_the_last_minute_counted_from_the_newest_mark() -> None:
    store = MarkStore(seconds=60.0)
    store.add(marks(*range(100)))
    assert len(store) == 61  # 39 .. 99
    assert store.between(0, 39) == []
    assert store.overflow == 0  # ageing out is not a loss


def test_a_full_store_drops_the_oldest_and_counts_them() -> None:
    store = MarkStore(seconds=60.0, capacity=10)
    store.add(marks(*(i / 10 for i in range(25))))
    assert len(store) == 10
    assert store.between(0, 100)[0].timestamp == pytest.approx(1.5)
    assert store.overflow == 15


def test_a_store_needs_a_positive_size() -> None:
    with pytest.raises(ValueError, match="positive"):
        MarkStore(seconds=0)


def test_a_reader_never_sees_a_store_out_of_order_while_a_writer_adds() -> None:
    store = MarkStore(seconds=5.0)
    done = threading.Event()

    def write() -> None:
        for i in range(5000):
            store.add([Mark(i / 100, "N")])
        done.set()

    writer = threading.Thread(target=write, name="mark-writer")
    writer.start()
    while not done.is_set():
        seen = [m.timestamp for m in store.between(0.0, 1e9)]
        assert seen == sorted(seen)
        assert not seen or seen[-1] - seen[0] <= 5.0
    writer.join()
    assert store.between(0.0, 1e9)[-1].timestamp == pytest.approx(49.99)


def test_a_device_stream_keeps_marks_per_channel_and_counts_strays() -> None:
    driver = FakeDriver()
    stream = DeviceStream("Bed 01", driver, EventBus())
    stream.start()
    driver.push_marks("ECG_II", Mark(10.0, "N"), Mark(10.8, "V"))
    driver.push_marks("PLETH", Mark(10.2, "pulse"))
    driver.push_marks("NO_SUCH_CHANNEL", Mark(10.0, "N"))
    assert stream.marks("ECG_II", 10.0, 11.0) == [Mark(10.0, "N"), Mark(10.8, "V")]
    assert stream.marks("ECG_II", 10.5, 11.0) == [Mark(10.8, "V")]
    assert stream.marks("PLETH", 0.0, 20.0) == [Mark(10.2, "pulse")]
    assert stream.marks("NO_SUCH_CHANNEL", 0.0, 20.0) == []
    assert stream.marks_dropped == 1


# -- where the sweep draws them ------------------------------------------------------------


def test_the_visible_columns_are_one_sweep_back_less_the_erase_bar() -> None:
    assert visible_columns(1000, 300, 12) == (712, 1000)


def test_a_mark_is_drawn_at_the_column_of_its_time_like_the_trace() -> None:
    px_per_s = 100.0
    assert column_x(12.345, px_per_s, 500) == 234.5  # column 1234, second page, centre
    assert column_x(4.999, px_per_s, 500) == 499.5
    assert column_x(5.0, px_per_s, 500) == 0.5  # the wrap


def test_labels_that_would_overlap_move_right_just_enough() -> None:
    assert place_labels([10.0, 50.0], [10.0, 10.0], gap=2.0) == [5.0, 45.0]
    assert place_labels([10.0, 14.0, 15.0], [10.0, 10.0, 10.0], gap=2.0) == [5.0, 17.0, 29.0]
    assert place_labels([], [], gap=2.0) == []
