"""What BlueZ does to a wearable link, and how the driver comes back (ble.md §6)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from app.signals.stream import DeviceStream
from drivers.base import DriverState
from drivers.ble.supervisor import NO_DATA
from tests.ble import devices
from tests.ble.bluez_thread import FakeBlueZThread
from tests.ble.harness import (
    BleBed,
    add_wearable,
    bed_with,
    conditions_of,
    readings_of,
    running_central,
    value,
    wait_until,
)
from tests.fakes import ble_payloads

INPROGRESS = ("org.bluez.Error.InProgress", "Operation already in progress")


def _send_hr(bluez: FakeBlueZThread, bpm: int, rr: float = 0.8) -> None:
    payload = ble_payloads.heart_rate_measurement(bpm, rr_s=[rr])
    bluez.call(lambda: bluez.fake.notify(devices.HR_STRAP, "2a37", payload))


def _shows(stream: DeviceStream, code: str, expected: float) -> Callable[[], bool]:
    return lambda: value(stream, code) == expected


def _connected(bed_stream_state: object) -> bool:
    return bed_stream_state is DriverState.CONNECTED


@contextmanager
def streaming_strap(bluez: FakeBlueZThread) -> Iterator[BleBed]:
    """A strap on a bed, connected, its first HR (70) shown."""
    wearable = add_wearable(bluez, devices.HR_STRAP, "HRM-Pro 1234", devices.heart_rate_strap())
    with running_central() as central, bed_with(central, wearable) as bed:
        wait_until(lambda: _connected(bed.stream.status.state), text="connected")
        _send_hr(bluez, 70)
        wait_until(lambda: value(bed.stream, "HR") == 70.0, text="first HR")
        yield bed


def test_link_loss_is_shown_and_the_strap_reconnects_and_resubscribes(
    bluez: FakeBlueZThread,
) -> None:
    with streaming_strap(bluez) as bed:
        bluez.call(lambda: bluez.fake.drop_link(devices.HR_STRAP))
        wait_until(
            lambda: bed.stream.status.state is DriverState.DISCONNECTED, text="loss is shown"
        )
        assert "link lost" in bed.stream.status.message
        wait_until(lambda: bed.supervisor.connections == 2, text="reconnected")
        wait_until(lambda: _connected(bed.stream.status.state), text="streaming again")
        _send_hr(bluez, 90)
        wait_until(lambda: value(bed.stream, "HR") == 90.0, text="HR after the reconnect")
        strap = bluez.call(lambda: bluez.fake.devices[devices.HR_STRAP])
        assert strap.connects == 2


def test_duplicated_notifications_after_a_reconnect_count_once(bluez: FakeBlueZThread) -> None:
    bluez.call(lambda: setattr(bluez.fake, "duplicate_after_reconnect", True))
    wearable = add_wearable(bluez, devices.HR_STRAP, "HRM-Pro 1234", devices.heart_rate_strap())
    with running_central() as central, bed_with(central, wearable) as bed:
        wait_until(lambda: _connected(bed.stream.status.state), text="connected")
        bluez.call(lambda: bluez.fake.drop_link(devices.HR_STRAP))  # notifying: BlueZ keeps it
        wait_until(lambda: bed.supervisor.connections == 2, text="reconnected")
        wait_until(lambda: _connected(bed.stream.status.state), text="streaming again")
        stale = bluez.call(lambda: dict(bluez.fake.stale))
        assert max(stale.values()) == 1, "the fake must send each notification twice now"
        bed.feed.drain()
        for bpm, rr in ((61, 0.98), (62, 0.97), (63, 0.95)):
            _send_hr(bluez, bpm, rr)
            wait_until(_shows(bed.stream, "HR", bpm), text=f"HR {bpm}")
        wait_until(lambda: bed.supervisor.dropped_duplicates == 3, text="three copies dropped")
        intervals = readings_of(bed.feed.drain(), "RRI")
    assert [r.value for r in intervals] == [0.98046875, 0.9697265625, 0.9501953125]


def test_inprogress_errors_on_scan_and_connect_are_retried(bluez: FakeBlueZThread) -> None:
    bluez.call(lambda: setattr(bluez.fake, "fail_next_discoveries", 2))
    wearable = add_wearable(bluez, devices.HR_STRAP, "HRM-Pro 1234", devices.heart_rate_strap())
    strap = bluez.call(lambda: bluez.fake.devices[devices.HR_STRAP])
    bluez.call(lambda: strap.connect_errors.extend([INPROGRESS, INPROGRESS]))
    with running_central() as central:
        assert central.available, central.error  # the scan started on the third try
        assert bluez.call(lambda: bluez.fake.adapter.start_calls) >= 3
        with bed_with(central, wearable) as bed:
            wait_until(lambda: _connected(bed.stream.status.state), within=20, text="connected")
            _send_hr(bluez, 75)
            wait_until(lambda: value(bed.stream, "HR") == 75.0, text="HR flows")
        assert bluez.call(lambda: len(strap.connect_errors)) == 0, "both errors were met"


def test_a_strap_that_stays_connected_but_goes_silent_is_reconnected(
    bluez: FakeBlueZThread,
) -> None:
    with streaming_strap(bluez) as bed:
        # Nothing more is sent: the watchdog (1.5 s here) must notice and force a reconnect.
        wait_until(lambda: bed.supervisor.connections == 2, text="forced reconnect")
        strap = bluez.call(lambda: bluez.fake.devices[devices.HR_STRAP])
        assert strap.disconnects >= 1, "the driver hung up on the silent strap"
        stalled = conditions_of(bed.feed.drain(), NO_DATA)
        assert stalled
        assert stalled[0].active
        assert "no data for" in stalled[0].message
        wait_until(lambda: _connected(bed.stream.status.state), text="connected again")
        _send_hr(bluez, 71)
        wait_until(lambda: value(bed.stream, "HR") == 71.0, text="data again")
        wait_until(
            lambda: any(not c.active for c in conditions_of(bed.feed.drain(), NO_DATA)),
            text="the no-data condition ends when data returns",
        )
