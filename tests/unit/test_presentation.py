"""How values read on screen: live, questionable, missing with a reason, stale with an age."""

from __future__ import annotations

import pytest

from app.presentation import (
    NumericState,
    NumericText,
    age_text,
    present_battery,
    present_connection,
    present_nibp,
    present_numeric,
)
from drivers.base import ColourRole, DriverState, DriverStatus, NumericSpec, Quality, Reading

HR = NumericSpec("HR", "HR", "/min", "bpm", ColourRole.ECG, stale_after=10.0)
TEMP = NumericSpec("TEMP", "Temp", "Cel", "°C", ColourRole.TEMP, stale_after=60.0, decimals=1)
NIBP = NumericSpec("NIBP_SYS", "NIBP", "mm[Hg]", "mmHg", ColourRole.NIBP, stale_after=1200.0)


def reading(value: float | None, t: float = 100.0, quality: Quality = Quality.VALID) -> Reading:
    return Reading("HR", value, "/min", t, quality, "" if value is not None else "ECG leads off")


def test_a_fresh_valid_value_is_live() -> None:
    assert present_numeric(reading(72.0), HR, 105.0) == NumericText("72", NumericState.LIVE)
    assert present_numeric(reading(36.84, 100), TEMP, 101).value == "36.8"


def test_an_old_value_is_stale_and_says_how_old() -> None:
    text = present_numeric(reading(72.0, t=100.0), HR, 145.0)
    assert text == NumericText("72", NumericState.STALE, "STALE 45 s")


def test_a_missing_value_shows_dashes_and_the_reason() -> None:
    text = present_numeric(reading(None, quality=Quality.UNAVAILABLE), HR, 101.0)
    assert text == NumericText("---", NumericState.NO_VALUE, "ECG leads off")
    assert present_numeric(None, HR, 0.0) == NumericText("---", NumericState.NO_VALUE, "no data")


def test_a_questionable_value_is_marked() -> None:
    r = Reading("HR", 72.0, "/min", 100.0, Quality.QUESTIONABLE, "Low perfusion")
    assert present_numeric(r, HR, 100.5) == NumericText(
        "72?", NumericState.QUESTIONABLE, "Low perfusion"
    )


def test_nibp_shows_mean_and_age_then_goes_stale() -> None:
    sys_, dia, mean = (Reading(c, v, "mm[Hg]", 1000.0, Quality.VALID) for c, v in
                       (("NIBP_SYS", 121.0), ("NIBP_DIA", 79.0), ("NIBP_MEAN", 93.0)))  # fmt: skip
    assert present_nibp(sys_, dia, mean, NIBP, 1240.0) == NumericText(
        "121/79", NumericState.LIVE, "(93)  4 min ago"
    )
    stale = present_nibp(sys_, dia, mean, NIBP, 1000.0 + 25 * 60)
    assert stale.state is NumericState.STALE
    assert "STALE 25 min" in stale.note
    assert present_nibp(None, None, None, NIBP, 0).note == "not measured yet"


def test_a_failed_nibp_says_why() -> None:
    failed = Reading("NIBP_SYS", None, "mm[Hg]", 10.0, Quality.INVALID, "NIBP failed: no pulse")
    text = present_nibp(failed, failed, failed, NIBP, 20.0)
    assert text.value == "---/---"
    assert text.note == "NIBP failed: no pulse"


@pytest.mark.parametrize(("s", "text"), [(5, "5 s"), (59.9, "59 s"), (61, "1 min"),
                                          (3700, "1 h 01 min")])  # fmt: skip
def test_age_text(s: float, text: str) -> None:
    assert age_text(s) == text


def test_connection_and_battery_texts() -> None:
    assert present_connection(DriverStatus(DriverState.CONNECTED, 0), 5).ok
    lost = present_connection(DriverStatus(DriverState.DISCONNECTED, 0), 12)
    assert (lost.text, lost.ok) == ("DISCONNECTED 12 s", False)
    failed = present_connection(DriverStatus(DriverState.FAILED, 0, "boom"), 1)
    assert failed.text == "FAILED: boom"
    battery = Reading("BATTERY", 17.0, "%", 100.0, Quality.VALID)
    assert present_battery(battery, True, 110.0, 90.0) == "BATT 17% LOW"
    assert present_battery(battery, False, 300.0, 90.0) == "BATT 17% (old)"
    assert present_battery(None, False, 0, 90.0) == "BATT ?"
