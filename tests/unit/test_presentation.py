"""How values read on screen: live, questionable, missing with a reason, stale with an age."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.model.ward import Ward
from app.presentation import (
    Link,
    NumericState,
    NumericText,
    age_text,
    link_of,
    present_battery,
    present_connection,
    present_header,
    present_nibp,
    present_numeric,
    trace_messages,
)
from app.signals.numerics import Latest
from app.station import Station
from drivers.base import ColourRole, DriverState, DriverStatus, NumericSpec, Quality, Reading
from tests.fakes.fake_driver import FakeDriver

HR = NumericSpec("HR", "HR", "/min", "bpm", ColourRole.ECG, stale_after=10.0)
TEMP = NumericSpec("TEMP", "Temp", "Cel", "°C", ColourRole.TEMP, stale_after=60.0, decimals=1)
NIBP = NumericSpec("NIBP_SYS", "NIBP", "mm[Hg]", "mmHg", ColourRole.NIBP, stale_after=1200.0)


def latest(
    value: float | None,
    t: float = 100.0,
    quality: Quality = Quality.VALID,
    message: str = "",
    received: float | None = None,
) -> Latest:
    reading = Reading("HR", value, "/min", t, quality, message)
    return Latest(reading, t if received is None else received)


def test_a_fresh_valid_value_is_live() -> None:
    assert present_numeric(latest(72.0), HR, 105.0) == NumericText("72", NumericState.LIVE)
    assert present_numeric(latest(36.84), TEMP, 101).value == "36.8"


def test_a_valid_value_keeps_the_devices_words() -> None:
    text = present_numeric(latest(0.0, message="No QRS detected"), HR, 101.0)
    assert text == NumericText("0", NumericState.LIVE, "No QRS detected")


def test_an_old_value_is_stale_and_says_how_old() -> None:
    text = present_numeric(latest(72.0, t=100.0), HR, 145.0)
    assert text == NumericText("72", NumericState.STALE, "STALE 45 s")


def test_a_device_clock_running_ahead_cannot_make_an_old_value_fresh() -> None:
    ahead = latest(72.0, t=200.0, received=100.0)  # stamped 100 s in the future
    assert present_numeric(ahead, HR, 130.0).state is NumericState.STALE


def test_while_the_link_is_down_every_value_is_stale_at_once() -> None:
    text = present_numeric(latest(72.0, t=100.0), HR, 103.0, Link(False, "NO LINK"))
    assert text == NumericText("72", NumericState.STALE, "NO LINK 3 s")


def test_a_missing_value_shows_dashes_and_the_reason() -> None:
    missing = latest(None, quality=Quality.UNAVAILABLE, message="ECG leads off")
    assert present_numeric(missing, HR, 101.0) == NumericText(
        "---", NumericState.NO_VALUE, "ECG leads off"
    )
    assert present_numeric(None, HR, 0.0) == NumericText("---", NumericState.NO_VALUE, "no data")


def test_a_questionable_value_is_marked() -> None:
    doubtful = latest(72.0, quality=Quality.QUESTIONABLE, message="Low perfusion")
    assert present_numeric(doubtful, HR, 100.5) == NumericText(
        "72?", NumericState.QUESTIONABLE, "Low perfusion"
    )


def nibp_set(sys_: float, dia: float, mean: float, t: float = 1000.0) -> dict[str, Latest]:
    return {
        code: Latest(Reading(code, v, "mm[Hg]", t, Quality.VALID), t)
        for code, v in (("NIBP_SYS", sys_), ("NIBP_DIA", dia), ("NIBP_MEAN", mean))
    }


def test_nibp_shows_mean_and_age_then_goes_stale() -> None:
    values = nibp_set(121.0, 79.0, 93.0)
    assert present_nibp(values, NIBP, 1240.0) == NumericText(
        "121/79", NumericState.LIVE, "(93)  4 min ago"
    )
    stale = present_nibp(values, NIBP, 1000.0 + 25 * 60)
    assert stale.state is NumericState.STALE
    assert "STALE 25 min" in stale.note
    assert present_nibp({}, NIBP, 0).note == "not measured yet"


def test_nibp_values_from_two_measurements_are_never_shown_as_one() -> None:
    mixed = nibp_set(121.0, 79.0, 93.0) | {"NIBP_SYS": nibp_set(88, 0, 0, t=1900.0)["NIBP_SYS"]}
    text = present_nibp(mixed, NIBP, 1901.0)
    assert text.value == "---/---"
    assert text.note == "incomplete measurement"


def test_a_failed_nibp_says_why() -> None:
    failed = {
        code: Latest(Reading(code, None, "mm[Hg]", 10.0, Quality.INVALID, "no pulse"), 10.0)
        for code in ("NIBP_SYS", "NIBP_DIA", "NIBP_MEAN")
    }
    text = present_nibp(failed, NIBP, 20.0)
    assert text.value == "---/---"
    assert text.note == "no pulse"


@pytest.mark.parametrize(
    ("s", "text"), [(5, "5 s"), (59.9, "59 s"), (61, "1 min"), (3700, "1 h 01 min")]
)
def test_age_text(s: float, text: str) -> None:
    assert age_text(s) == text


def test_connection_texts() -> None:
    assert present_connection(DriverStatus(DriverState.CONNECTED, 0), 5).ok
    lost = present_connection(DriverStatus(DriverState.DISCONNECTED, 0), 12)
    assert (lost.text, lost.ok) == ("DISCONNECTED 12 s", False)
    failed = present_connection(DriverStatus(DriverState.FAILED, 0, "boom"), 1)
    assert failed.text == "FAILED: boom"
    silent = present_connection(DriverStatus(DriverState.CONNECTED, 0), 10, data_age=7.0)
    assert (silent.text, silent.ok) == ("NO DATA 7 s", False)


def test_battery_low_is_said_even_when_the_level_is_old() -> None:
    level = Latest(Reading("BATTERY", 17.0, "%", 100.0, Quality.VALID), 100.0)
    assert present_battery(level, True, 110.0, 90.0) == "BATT 17% LOW"
    assert present_battery(level, True, 300.0, 90.0) == "BATT 17% LOW (old)"
    assert present_battery(level, False, 300.0, 90.0) == "BATT 17% (old)"
    assert present_battery(None, False, 0, 90.0) == "BATT ?"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_silent_connected_device_shows_no_data() -> None:
    clock = Clock(1000.0)
    station = Station(Ward("W", ["Bed 01"]), clock=clock)
    driver = FakeDriver()
    device = station.attach("Bed 01", driver)
    station.start()
    driver.push_samples("ECG_II", np.zeros(250), 999.0)
    assert link_of(device, 1001.0).ok
    clock.now = 1006.0  # nothing for 6 s, yet the driver never said it was disconnected
    assert link_of(device, 1006.0) == Link(False, "NO DATA")
    assert trace_messages(device, 1006.0)["ECG_II"] == "NO DATA 6 s"
    header = present_header(station.ward.bed("Bed 01"), 1006.0)
    assert header.connection.text == "NO DATA 6 s"
    assert not header.connection.ok
    station.stop()


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_a_nonsense_value_shows_dashes_and_never_crashes(bad: float) -> None:
    assert present_numeric(latest(bad), HR, 100.5).value == "---"
    values = nibp_set(bad, 79.0, 93.0)
    assert present_nibp(values, NIBP, 1001.0).value == "---/---"
    level = Latest(Reading("BATTERY", bad, "%", 100.0, Quality.VALID), 100.0)
    assert present_battery(level, False, 101.0, 90.0) == "BATT ?"


def test_nibp_goes_grey_while_the_link_is_down() -> None:
    text = present_nibp(nibp_set(121.0, 79.0, 93.0), NIBP, 1060.0, Link(False, "NO LINK"))
    assert text == NumericText("121/79", NumericState.STALE, "NO LINK")


def test_nibp_says_when_a_measurement_is_under_way() -> None:
    text = present_nibp(nibp_set(121.0, 79.0, 93.0), NIBP, 1100.0, measuring_since=1088.0)
    assert text == NumericText("121/79", NumericState.LIVE, "measuring 12 s")
