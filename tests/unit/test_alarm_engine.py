"""The alarm engine: limits with delays and hysteresis, arrhythmias, technical alarms, latching,
acknowledgement, audio pause, alarm off, escalation, and the log, on scripted devices."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from app.alarms.board import AlarmState
from app.alarms.config import AlarmConfig
from app.alarms.engine import STATION, AlarmError
from app.alarms.limits import LimitError, Limits
from app.alarms.priority import AlarmKind, Priority
from app.model.patient import PatientCategory
from drivers.base import DriverState, Quality
from tests.fakes.fake_driver import FakeDriver
from tests.unit.alarm_harness import BED, Harness, patient

NORMAL = {"HR": 80.0, "ECG_SQI": 0.9}


@pytest.fixture
def ward() -> Iterator[Harness]:
    harness = Harness()
    yield harness
    harness.close()


def alarm(h: Harness, code: str) -> AlarmState:
    found = [a for a in h.engine.snapshot().alarms if a.code == code]
    assert len(found) == 1, f"{code} not in force: {h.codes()}"
    return found[0]


# -- limits: delay and hysteresis -----------------------------------------------------------


def test_hr_high_waits_for_its_condition_delay(ward: Harness) -> None:
    ward.run(0, 9.75, values=NORMAL)
    ward.run(10, 14.75, values={"HR": 130.0, "ECG_SQI": 0.9})
    assert "HR_HIGH" not in ward.codes()  # 4.75 s beyond the limit: not yet
    ward.run(15, 15, values={"HR": 130.0, "ECG_SQI": 0.9})
    found = alarm(ward, "HR_HIGH")
    assert found.priority is Priority.MEDIUM
    assert found.kind is AlarmKind.PHYSIOLOGICAL
    assert found.text == "TACHY 130 > 120 bpm"
    assert ward.events("start") == [15.0]


def test_a_value_back_inside_before_the_delay_raises_nothing(ward: Harness) -> None:
    for second in range(30):  # beyond for 4 s, back for 1 s, over and over
        hr = 80.0 if second % 5 == 4 else 130.0
        ward.run(second, second + 0.75, values={"HR": hr, "ECG_SQI": 0.9})
    assert ward.events("start") == []


def test_hysteresis_ends_the_alarm_only_well_inside_the_limit(ward: Harness) -> None:
    ward.run(0, 6, values={"HR": 125.0, "ECG_SQI": 0.9})
    assert "HR_HIGH" in ward.codes()
    ward.run(7, 20, values={"HR": 119.0, "ECG_SQI": 0.9})  # inside by 1 bpm: hovering
    assert "HR_HIGH" in ward.codes()
    ward.run(21, 21, values={"HR": 118.0, "ECG_SQI": 0.9})  # inside by the 2-bpm hysteresis
    assert "HR_HIGH" not in ward.codes()
    assert ward.events("start") == [5.0]
    assert ward.events("end") == [21.0]


def test_spo2_low_alarms_at_its_delay_and_desat_is_high(ward: Harness) -> None:
    ward.run(0, 2, values={"SPO2": 97.0})
    ward.run(3, 13, values={"SPO2": 88.0})
    assert ward.events("start", "SPO2_LOW") == [13.0]  # 10-s SpO2 delay
    ward.run(14, 24, values={"SPO2": 78.0})
    assert ward.events("start", "DESAT") == [24.0]
    assert alarm(ward, "DESAT").priority is Priority.HIGH
    assert "SPO2_LOW" not in ward.codes()  # the extreme alarm stands for the plain one


def test_questionable_and_stale_values_raise_no_limit_alarm(ward: Harness) -> None:
    for second in range(12):
        ward.reading("HR", 150.0, second, Quality.QUESTIONABLE)
        ward.run(second, second + 0.75)
    assert ward.events("start") == []


def test_nibp_measurement_beyond_a_limit_alarms_at_once(ward: Harness) -> None:
    ward.reading("NIBP_SYS", 82.0, 1.0)
    ward.tick(1.0)
    assert alarm(ward, "NIBP_SYS_LOW").text == "NIBP sys LOW 82 < 90 mmHg"


def test_paediatric_patients_get_their_own_defaults() -> None:
    h = Harness(category=PatientCategory.PAEDIATRIC)
    try:
        h.tick(0)
        assert h.engine.limits(BED)["HR"] == Limits(75, 160, 5, extreme_low=50, extreme_high=200)
        h.run(1, 7, values={"HR": 140.0, "ECG_SQI": 0.9})  # tachy for an adult, not a child
        assert h.codes() == []
    finally:
        h.close()


# -- latching, acknowledgement, audio --------------------------------------------------------


def test_extreme_tachy_latches_until_acknowledged(ward: Harness) -> None:
    ward.run(0, 6, values={"HR": 175.0, "ECG_SQI": 0.9})
    found = alarm(ward, "EXTREME_TACHY")
    assert found.priority is Priority.HIGH
    assert "HR_HIGH" not in ward.codes()
    ward.run(7, 20, values=NORMAL)
    latched = alarm(ward, "EXTREME_TACHY")
    assert latched.latched
    assert ward.engine.snapshot().sounding is Priority.HIGH
    ward.engine.acknowledge(latched.id, "nurse A")
    assert ward.codes() == []
    assert ward.events("ack") == [20.0]
    assert ward.events("end") == [20.0]
    ack = next(e for e in ward.engine.log.entries() if e.event == "ack")
    assert ack.user == "nurse A"


def test_acknowledged_alarm_stays_visible_silent_and_rearms_when_worse(ward: Harness) -> None:
    ward.run(0, 6, values={"HR": 135.0, "ECG_SQI": 0.9})
    ward.engine.acknowledge(alarm(ward, "HR_HIGH").id, "nurse A")
    snapshot = ward.run(7, 9, values={"HR": 135.0, "ECG_SQI": 0.9})
    assert alarm(ward, "HR_HIGH").acknowledged
    assert snapshot.sounding is None
    snapshot = ward.run(10, 16, values={"HR": 170.0, "ECG_SQI": 0.9})  # worse: extreme
    assert snapshot.sounding is Priority.HIGH


def test_lethal_rhythm_alarms_at_the_next_tick_and_latches(ward: Harness) -> None:
    ward.run(0, 3, values=NORMAL)
    ward.rhythm("VF", 3.1)
    snapshot = ward.run(3.25, 3.25)
    assert [a.code for a in snapshot.alarms] == ["VF"]
    assert snapshot.alarms[0].priority is Priority.HIGH
    ward.rhythm("SINUS", 10.0)
    ward.run(10, 12, values=NORMAL)
    assert alarm(ward, "VF").latched


def test_rate_alarms_give_way_to_the_lethal_rhythm(ward: Harness) -> None:
    ward.rhythm("VT", 0.5)
    ward.run(0, 8, values={"HR": 180.0, "ECG_SQI": 0.9})
    assert ward.codes() == ["VT"]


def test_audio_pause_silences_and_a_higher_priority_breaks_through(ward: Harness) -> None:
    ward.run(0, 6, values={"HR": 135.0, "ECG_SQI": 0.9})
    ward.engine.pause_audio("nurse B")
    snapshot = ward.run(7, 30, values={"HR": 135.0, "SPO2": 88.0, "ECG_SQI": 0.9})
    assert "SPO2_LOW" in ward.codes()  # a new medium alarm during a medium pause...
    assert snapshot.sounding is None  # ...stays silent
    ward.rhythm("ASYSTOLE", 30.1)
    snapshot = ward.run(30.25, 30.25)
    assert snapshot.sounding is Priority.HIGH
    assert snapshot.audio_paused_until is None
    assert ward.events("pause_break") == [30.25]


def test_audio_pause_ends_after_its_time(ward: Harness) -> None:
    ward.run(0, 6, values={"HR": 135.0, "ECG_SQI": 0.9})
    ward.engine.pause_audio("nurse B")
    assert ward.engine.snapshot().audio_paused_until == pytest.approx(ward.at(126.0))
    snapshot = ward.run(7, 125, every=1.0, values={"HR": 135.0, "ECG_SQI": 0.9})
    assert snapshot.sounding is None
    snapshot = ward.run(126, 126, values={"HR": 135.0, "ECG_SQI": 0.9})
    assert snapshot.sounding is Priority.MEDIUM
    assert ward.events("pause_end") == [126.0]


def test_the_audio_pause_length_is_configurable_within_60_to_180_s() -> None:
    assert AlarmConfig(audio_pause=60.0).audio_pause == 60.0
    with pytest.raises(ValueError, match="60-180"):
        AlarmConfig(audio_pause=240.0)


# -- alarm off ---------------------------------------------------------------------------


def test_alarm_off_needs_confirmation_and_reminds(ward: Harness) -> None:
    ward.run(0, 6, values={"HR": 135.0, "ECG_SQI": 0.9})
    with pytest.raises(AlarmError, match="confirmation"):
        ward.engine.switch_off(BED, "HR", "nurse A", confirmed=False)
    assert "HR_HIGH" in ward.codes()
    ward.engine.switch_off(BED, "HR", "nurse A", confirmed=True)
    assert "HR_HIGH" not in ward.codes()
    snapshot = ward.run(7, 250, every=1.0, values={"HR": 190.0, "ECG_SQI": 0.9, "SPO2": 97.0})
    assert ward.codes() == []  # not even the extreme HR alarm
    assert [(o.parameter, o.user) for o in snapshot.off_for_bed(BED)] == [("HR", "nurse A")]
    assert ward.events("reminder") == [126.0, 246.0]  # every 120 s
    assert snapshot.reminders == 2
    ward.engine.switch_on(BED, "HR", "nurse A")
    ward.run(251, 252, values={"HR": 190.0, "ECG_SQI": 0.9})
    assert ward.engine.snapshot().alarms_off == ()


def test_lethal_arrhythmias_cannot_be_switched_off(ward: Harness) -> None:
    with pytest.raises(AlarmError, match="cannot be switched off"):
        ward.engine.switch_off(BED, "ASYSTOLE", "nurse A", confirmed=True)


# -- the limits editor ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "limits", "message"),
    [
        ("HR", Limits(130, 120, 5), "must be below the high limit"),
        ("HR", Limits(50, 400, 5), "outside 15-300 bpm"),
        ("SPO2", Limits(90, 101, 10), "outside 50-100 %"),
        ("SPO2", Limits(90, None, 20), "delay must be 0-15 s"),
        ("HR", Limits(None, None, 5), "switch its alarm off instead"),
        ("HR", Limits(50, 120, 5, extreme_low=55), "extreme low limit must be below"),
        ("TEMP", Limits(float("nan"), 38.0, 10), "must be a number"),
        ("GLUCOSE", Limits(3, 10, 0), "has no alarm limits"),
    ],
)
def test_bad_limits_are_rejected_and_change_nothing(
    ward: Harness, code: str, limits: Limits, message: str
) -> None:
    before = ward.engine.limits(BED)
    with pytest.raises(LimitError, match=message):
        ward.engine.set_limits(BED, code, limits, "nurse A")
    assert ward.engine.limits(BED) == before
    assert ward.events("limits") == []


def test_new_limits_apply_and_are_logged_with_who(ward: Harness) -> None:
    ward.engine.set_limits(BED, "HR", Limits(40, 140, 2, extreme_low=30, extreme_high=170), "dr C")
    ward.run(0, 6, values={"HR": 135.0, "ECG_SQI": 0.9})
    assert ward.codes() == []
    entry = next(e for e in ward.engine.log.entries() if e.event == "limits")
    assert (entry.user, entry.code, entry.detail) == (
        "dr C",
        "HR",
        "50-120, delay 5 s -> 40-140, delay 2 s",
    )


def test_a_new_patient_gets_defaults_and_every_alarm_back_on(ward: Harness) -> None:
    ward.engine.set_limits(BED, "HR", Limits(40, 140, 2), "dr C")
    ward.engine.switch_off(BED, "SPO2", "nurse A", confirmed=True)
    ward.station.ward.admit(BED, patient(category=PatientCategory.NEONATE))
    snapshot = ward.tick(1)
    assert ward.engine.limits(BED)["HR"].low == 100
    assert snapshot.alarms_off == ()
    assert ward.events("settings_reset") == [1.0]


# -- signal quality ------------------------------------------------------------------------


def test_poor_ecg_suppresses_hr_alarms_and_says_so(ward: Harness) -> None:
    ward.run(0, 10, values={"HR": 135.0, "ECG_SQI": 0.3})
    assert ward.codes() == ["ECG_POOR_SIGNAL"]
    found = alarm(ward, "ECG_POOR_SIGNAL")
    assert found.kind is AlarmKind.TECHNICAL
    assert found.priority is Priority.LOW
    assert found.text == "ECG POOR SIGNAL: HR and arrhythmia alarms suppressed"


def test_poor_ecg_downgrades_a_lethal_rhythm_never_hides_it(ward: Harness) -> None:
    ward.rhythm("VF", 0.5)
    ward.run(0, 2, values={"ECG_SQI": 0.2})
    found = alarm(ward, "VF")
    assert found.priority is Priority.MEDIUM
    assert found.text == "VF? (ECG poor signal)"
    ward.run(3, 9, values={"ECG_SQI": 0.9})  # good again for the 5-s clearing time: HIGH
    assert alarm(ward, "VF").priority is Priority.HIGH
    assert ward.events("priority", "VF") == [8.0]


# -- technical alarms -------------------------------------------------------------------------


def test_lead_off_is_a_technical_alarm_at_the_next_tick(ward: Harness) -> None:
    ward.monitor.push_condition("ECG_LEAD_OFF", True, ward.at(2.0))
    ward.run(0, 2.25)
    found = alarm(ward, "ECG_LEAD_OFF")
    assert found.kind is AlarmKind.TECHNICAL
    assert found.priority is Priority.MEDIUM
    assert ward.events("start") == [2.0]
    ward.monitor.push_condition("ECG_LEAD_OFF", False, ward.at(5.0))
    ward.run(2.5, 5.0)
    assert ward.codes() == []


def test_battery_low_is_low_priority(ward: Harness) -> None:
    ward.monitor.push_condition("BATTERY_LOW", True, ward.at(1.0))
    ward.tick(1.0)
    assert alarm(ward, "BATTERY_LOW").priority is Priority.LOW


def test_a_waveform_device_is_silent_after_5_s() -> None:
    monitor = FakeDriver("WAVE-1")
    h = Harness(monitor=monitor)
    try:
        for second in range(10):
            monitor.push_samples("ECG_II", np.zeros(250), h.at(second))
            h.run(second, second + 0.75)
        assert h.codes() == []
        h.run(10, 14.75)  # the last sample was at 10 s
        assert h.codes() == []
        h.run(15, 15)
        assert alarm(h, "NO_DATA").text == "Fake: NO DATA 5 s"
    finally:
        h.close()


def test_a_numerics_device_is_silent_after_30_s(ward: Harness) -> None:
    ward.run(0, 1, values={"SPO2": 97.0})
    ward.run(1.25, 30.75)
    assert "NO_DATA" not in ward.codes()
    ward.run(31, 31)
    assert "NO_DATA" in ward.codes()


def test_a_disconnected_device_says_so(ward: Harness) -> None:
    ward.monitor.push_status(DriverState.DISCONNECTED, ward.at(1.0))
    ward.run(0, 31)
    assert alarm(ward, "NO_DATA").text == "Monitor DISCONNECTED: NO DATA 30 s"


def test_a_device_that_keeps_retrying_still_reaches_no_data(ward: Harness) -> None:
    """A wearable out of range changes its message every few seconds while it retries;
    the silence is timed from the loss of the link, not from the last message."""
    ward.monitor.push_status(DriverState.DISCONNECTED, ward.at(1.0), "link lost")
    for k in range(1, 7):
        state = DriverState.CONNECTING if k % 2 else DriverState.DISCONNECTED
        ward.monitor.push_status(state, ward.at(1.0 + 5 * k), f"retry {k}")
    ward.run(0, 31)
    assert alarm(ward, "NO_DATA").text == "Monitor DISCONNECTED: NO DATA 30 s"


def test_a_device_taken_off_the_bed_no_longer_alarms(ward: Harness) -> None:
    ward.monitor.push_status(DriverState.DISCONNECTED, ward.at(1.0))
    ward.run(0, 31)
    assert "NO_DATA" in ward.codes()
    bed = ward.station.ward.bed(BED)
    bed.detach(next(d for d in bed.devices if d.serial == "MON-1"))
    ward.run(31.25, 31.25)
    assert "NO_DATA" not in ward.codes()
    assert ward.events("end", None)[-1] == 31.25


def test_a_failed_device_alarms_with_its_reason(ward: Harness) -> None:
    ward.monitor.push_status(DriverState.FAILED, ward.at(1.0), "serial port gone")
    ward.tick(1.0)
    assert alarm(ward, "DEVICE_FAILED").text == "Monitor FAILED: serial port gone"


def test_hooks_raise_and_clear_station_wide_technical_alarms(ward: Harness) -> None:
    ward.engine.raise_technical("STORAGE_FAILURE", "STORAGE FAILURE: disk full")
    ward.tick(1.0)
    found = alarm(ward, "STORAGE_FAILURE")
    assert found.bed == STATION
    assert found.priority is Priority.HIGH
    ward.engine.clear_technical("STORAGE_FAILURE")
    ward.tick(2.0)
    assert ward.codes() == []


def test_a_screen_that_stops_repainting_is_an_alarm(ward: Harness) -> None:
    ward.engine.display_alive(ward.at(1.0))
    ward.run(1, 4.0)
    assert ward.codes() == []
    ward.run(4.25, 4.25)
    assert alarm(ward, "DISPLAY_FROZEN").priority is Priority.HIGH
    ward.engine.display_alive(ward.at(4.5))
    ward.run(4.5, 4.5)
    assert ward.codes() == []


# -- momentary events ----------------------------------------------------------------------


def test_af_is_announced_at_onset_only(ward: Harness) -> None:
    ward.rhythm("AF", 1.0)
    ward.run(1, 60, values=NORMAL)
    assert ward.events("start", "AF") == [1.0]
    assert ward.events("end", "AF") == [11.0]
    ward.rhythm("SINUS", 60.5)
    ward.rhythm("AF", 80.0)  # back within a minute: the same episode, not a new onset
    ward.run(61, 100, values=NORMAL)
    assert ward.events("start", "AF") == [1.0]
    ward.rhythm("SINUS", 100.5)
    ward.rhythm("AF", 200.0)
    ward.run(101, 201, every=1.0, values=NORMAL)
    assert ward.events("start", "AF") == [1.0, 200.0]


def test_a_pause_alarms_for_the_hold_time(ward: Harness) -> None:
    ward.analysis.push_event("ectopy", "PAUSE", ward.at(2.0))
    ward.run(0, 15, values=NORMAL)
    assert ward.events("start", "PAUSE") == [2.0]
    assert ward.events("end", "PAUSE") == [12.0]


# -- escalation ------------------------------------------------------------------------------


def test_unacknowledged_alarms_reannounce_and_escalate(ward: Harness) -> None:
    paged: list[AlarmState] = []
    ward.engine.add_secondary_notifier(paged.append)
    ward.rhythm("ASYSTOLE", 0.1)
    ward.run(0.25, 70, every=0.25)
    assert [a.code for a in paged] == ["ASYSTOLE"]
    assert ward.events("escalate") == [30.25]
    assert ward.events("reannounce") == [60.25]
    assert alarm(ward, "ASYSTOLE").escalated


def test_a_failing_notifier_raises_a_technical_alarm(ward: Harness) -> None:
    def broken(_: AlarmState) -> None:
        raise ConnectionError("pager gateway down")

    ward.engine.add_secondary_notifier(broken)
    ward.rhythm("VF", 0.1)
    ward.run(0.25, 31)
    found = alarm(ward, "NOTIFICATION_FAILED")
    assert found.text == "SECONDARY NOTIFICATION FAILED: pager gateway down"


# -- ordering, time, NEWS2 ----------------------------------------------------------------


def test_alarms_are_ordered_by_priority_then_time(ward: Harness) -> None:
    ward.monitor.push_condition("BATTERY_LOW", True, ward.at(0.5))
    ward.reading("NIBP_SYS", 82.0, 1.0)
    ward.run(0, 10, values={"SPO2": 88.0})  # SpO2 low from 10 s, NIBP low from 1 s
    ward.rhythm("VT", 10.1)
    ward.run(10.25, 10.25)
    assert ward.codes() == ["VT", "NIBP_SYS_LOW", "SPO2_LOW", "BATTERY_LOW"]


def test_items_stamped_after_the_clock_wait_only_when_holding(ward: Harness) -> None:
    ward.monitor.push_condition("ECG_LEAD_OFF", True, ward.at(5.0))
    ward.engine.tick(ward.at(4.0), hold_future=True)
    assert ward.codes() == []
    ward.engine.tick(ward.at(5.0), hold_future=True)
    assert ward.codes() == ["ECG_LEAD_OFF"]
    # Live, a device whose clock runs ahead must not hold its alarm back.
    ward.monitor.push_condition("BATTERY_LOW", True, ward.at(60.0))
    ward.engine.tick(ward.at(5.25))
    assert "BATTERY_LOW" in ward.codes()


def test_news2_alarms_once_a_high_score_is_sustained(ward: Harness) -> None:
    ward.engine.set_observation(BED, "A", True, 1, "nurse A", at=ward.at(0))
    vitals = {"HR": 125.0, "ECG_SQI": 0.9, "SPO2": 93.0, "RR": 26.0, "TEMP": 38.5}
    ward.reading("NIBP_SYS", 112.0, 0.0)
    snapshot = ward.run(0, 119, every=1.0, values=vitals)
    score = snapshot.news2[BED].result
    assert score is not None
    assert score.total == 10
    assert score.risk == "high"
    assert "NEWS2" not in ward.codes()  # not yet sustained for 120 s
    ward.run(120, 120, values=vitals)
    assert alarm(ward, "NEWS2").priority is Priority.HIGH


def test_news2_without_the_nurses_entry_is_incomplete(ward: Harness) -> None:
    snapshot = ward.run(0, 2, values={"HR": 80.0, "SPO2": 97.0})
    score = snapshot.news2[BED].result
    assert score is not None
    assert score.total is None
    assert "consciousness" in score.reason


def test_every_lifecycle_step_is_logged(ward: Harness) -> None:
    ward.rhythm("VT", 0.1)
    ward.run(0.25, 1)
    ward.rhythm("SINUS", 1.1)
    ward.run(1.25, 2)
    ward.engine.acknowledge(alarm(ward, "VT").id, "nurse A")
    assert [e.event for e in ward.engine.log.entries() if e.code == "VT"] == [
        "start",
        "condition_end",
        "ack",
        "end",
    ]
