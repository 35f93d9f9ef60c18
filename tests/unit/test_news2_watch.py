"""The NEWS2 alarm condition: sustained rises alarm, sustained falls clear, gaps never alarm."""

from __future__ import annotations

import math
from typing import Any

import pytest

from app.scores.news2 import News2Result, score
from app.scores.news2_watch import News2Alarm, News2AlarmConfig, News2Watch

NORMAL: dict[str, Any] = {
    "resp_rate": 16,
    "spo2": 98,
    "on_oxygen": False,
    "systolic_bp": 120,
    "pulse": 70,
    "consciousness": "A",
    "temperature": 37.0,
}


def scored(**change: Any) -> News2Result:
    return score(**{**NORMAL, **change})


LOW = scored(resp_rate=21)  # 2
FOUR = scored(resp_rate=21, pulse=111)  # 4
MEDIUM = scored(resp_rate=21, pulse=111, temperature=38.5)  # 5
HIGH = scored(resp_rate=21, pulse=111, systolic_bp=95, temperature=38.2)  # 7
SPO2_3 = scored(spo2=90)  # 3, from SpO2 alone
INCOMPLETE = scored(resp_rate=21, pulse=111, systolic_bp=95, temperature=None)


def feed(watch: News2Watch, steps: list[tuple[float, News2Result]]) -> list[News2Alarm | None]:
    return [watch.update(now, result) for now, result in steps]


def levels(alarms: list[News2Alarm | None]) -> list[str | None]:
    return [None if alarm is None else alarm.level for alarm in alarms]


def test_the_inputs_score_as_intended() -> None:
    totals = [r.total for r in (LOW, FOUR, MEDIUM, HIGH, SPO2_3, INCOMPLETE)]
    assert totals == [2, 4, 5, 7, 3, None]
    assert SPO2_3.single_parameter_3


def test_a_high_score_alarms_exactly_when_it_has_held_for_sustain_s() -> None:
    watch = News2Watch()
    alarms = feed(watch, [(0.0, HIGH), (60.0, HIGH), (119.9, HIGH), (120.0, HIGH)])
    assert alarms[:3] == [None, None, None]
    assert alarms[3] == News2Alarm("high", "NEWS2 7 (high risk) for 2 min")


def test_a_medium_score_alarms_medium() -> None:
    watch = News2Watch()
    assert feed(watch, [(10.0, MEDIUM), (129.0, MEDIUM)]) == [None, None]
    assert watch.update(130.0, MEDIUM) == News2Alarm("medium", "NEWS2 5 (medium risk) for 2 min")
    assert watch.update(250.0, MEDIUM) == News2Alarm("medium", "NEWS2 5 (medium risk) for 4 min")


def test_a_single_parameter_of_3_alarms_medium() -> None:
    watch = News2Watch()
    assert watch.update(0.0, SPO2_3) is None
    assert watch.update(120.0, SPO2_3) == News2Alarm("medium", "NEWS2 single parameter 3: SpO2")


def test_several_single_parameters_are_all_named() -> None:
    # Two 3s make 6: raise the total thresholds so that the single parameters are the reason.
    watch = News2Watch(News2AlarmConfig(medium_total=7, high_total=8, sustain_s=0.0))
    alarm = watch.update(0.0, scored(resp_rate=25, consciousness="V"))
    assert alarm == News2Alarm(
        "medium", "NEWS2 single parameter 3: respiration rate, consciousness level"
    )


def test_a_low_score_never_alarms() -> None:
    watch = News2Watch()
    assert feed(watch, [(t, FOUR) for t in range(0, 1000, 30)]) == [None] * 34


def test_medium_first_then_high_escalates_when_high_has_held() -> None:
    watch = News2Watch()
    alarms = feed(watch, [(0.0, MEDIUM), (60.0, HIGH), (119.0, HIGH), (120.0, HIGH),
                          (179.0, HIGH), (180.0, HIGH)])  # fmt: skip
    assert levels(alarms) == [None, None, None, "medium", "medium", "high"]
    # Medium while high has not yet held long enough: the text gives the current score.
    assert alarms[3] == News2Alarm("medium", "NEWS2 7 (high risk) for 2 min")
    assert alarms[5] == News2Alarm("high", "NEWS2 7 (high risk) for 2 min")


def test_a_score_hovering_at_the_threshold_does_not_alarm() -> None:
    watch = News2Watch()
    steps = [(t * 30.0, MEDIUM if t % 2 == 0 else FOUR) for t in range(40)]
    assert feed(watch, steps) == [None] * 40


def test_an_alarm_clears_only_after_clear_s_below() -> None:
    watch = News2Watch()
    feed(watch, [(0.0, HIGH)])
    assert watch.update(120.0, HIGH) is not None
    alarms = feed(watch, [(130.0, LOW), (189.9, LOW), (190.0, LOW)])
    assert alarms[0] == News2Alarm("high", "NEWS2 high risk, resolving (now 2)")
    assert alarms[1] == News2Alarm("high", "NEWS2 high risk, resolving (now 2)")
    assert alarms[2] is None


def test_a_brief_dip_keeps_the_alarm() -> None:
    watch = News2Watch()
    alarms = feed(watch, [(0.0, HIGH), (120.0, HIGH), (130.0, LOW), (180.0, HIGH),
                          (250.0, LOW), (309.0, LOW), (310.0, LOW)])  # fmt: skip
    assert levels(alarms) == [None, "high", "high", "high", "high", "high", None]


def test_high_drops_to_medium_after_clear_s_at_medium() -> None:
    watch = News2Watch()
    alarms = feed(watch, [(0.0, HIGH), (120.0, HIGH), (150.0, MEDIUM), (209.0, MEDIUM),
                          (210.0, MEDIUM), (220.0, LOW), (279.0, LOW), (280.0, LOW)])  # fmt: skip
    assert levels(alarms) == [None, "high", "high", "high", "medium", "medium", "medium", None]
    assert alarms[2] == News2Alarm("high", "NEWS2 high risk, resolving (now 5)")
    assert alarms[4] == News2Alarm("medium", "NEWS2 5 (medium risk) for 3 min")


def test_high_falling_straight_to_low_clears_after_clear_s() -> None:
    watch = News2Watch()
    alarms = feed(watch, [(0.0, HIGH), (120.0, HIGH), (150.0, LOW), (209.0, LOW),
                          (210.0, LOW)])  # fmt: skip
    assert levels(alarms) == [None, "high", "high", "high", None]


def test_an_incomplete_result_restarts_the_sustain_timer() -> None:
    watch = News2Watch()
    alarms = feed(watch, [(0.0, MEDIUM), (100.0, INCOMPLETE), (110.0, MEDIUM), (200.0, MEDIUM),
                          (229.0, MEDIUM), (230.0, MEDIUM)])  # fmt: skip
    assert levels(alarms) == [None, None, None, None, None, "medium"]


def test_incomplete_results_alone_never_alarm() -> None:
    watch = News2Watch(News2AlarmConfig(sustain_s=0.0))
    assert feed(watch, [(t, INCOMPLETE) for t in (0.0, 100.0, 1000.0)]) == [None] * 3


def test_incomplete_results_clear_an_active_alarm_only_after_clear_s() -> None:
    watch = News2Watch()
    alarms = feed(watch, [(0.0, HIGH), (120.0, HIGH), (125.0, INCOMPLETE), (184.0, INCOMPLETE),
                          (185.0, INCOMPLETE)])  # fmt: skip
    assert levels(alarms) == [None, "high", "high", "high", None]
    assert alarms[2] == News2Alarm("high", "NEWS2 high risk, resolving (now incomplete)")


def test_zero_sustain_and_clear_alarm_and_clear_at_once() -> None:
    watch = News2Watch(News2AlarmConfig(sustain_s=0.0, clear_s=0.0))
    alarms = feed(watch, [(0.0, MEDIUM), (1.0, HIGH), (2.0, LOW)])
    assert alarms == [
        News2Alarm("medium", "NEWS2 5 (medium risk) for 0 s"),
        News2Alarm("high", "NEWS2 7 (high risk) for 0 s"),
        None,
    ]


def test_custom_thresholds() -> None:
    config = News2AlarmConfig(medium_total=4, high_total=6, sustain_s=30.0, clear_s=10.0)
    watch = News2Watch(config)
    alarms = feed(watch, [(0.0, FOUR), (30.0, FOUR), (40.0, MEDIUM), (70.0, MEDIUM)])
    assert alarms[1] == News2Alarm("medium", "NEWS2 4 (low risk) for 30 s")
    assert levels(alarms) == [None, "medium", "medium", "medium"]


def test_the_single_parameter_threshold_can_be_lowered() -> None:
    watch = News2Watch(News2AlarmConfig(single_parameter=2, sustain_s=0.0))
    assert watch.update(0.0, LOW) == News2Alarm(
        "medium", "NEWS2 single parameter 2: respiration rate"
    )


def test_the_same_time_twice_is_accepted() -> None:
    watch = News2Watch(News2AlarmConfig(sustain_s=0.0))
    assert watch.update(5.0, HIGH) is not None
    assert watch.update(5.0, HIGH) is not None


@pytest.mark.parametrize("now", [4.999, -100.0])
def test_time_going_backwards_is_refused(now: float) -> None:
    watch = News2Watch()
    watch.update(5.0, HIGH)
    with pytest.raises(ValueError, match="backwards"):
        watch.update(now, HIGH)


@pytest.mark.parametrize("now", [math.nan, math.inf])
def test_a_non_finite_time_is_refused(now: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        News2Watch().update(now, HIGH)


def test_the_default_config() -> None:
    config = News2AlarmConfig()
    assert (config.medium_total, config.high_total, config.single_parameter) == (5, 7, 3)
    assert (config.sustain_s, config.clear_s) == (120.0, 60.0)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"medium_total": 0}, "medium_total"),
        ({"medium_total": 7}, "medium_total"),
        ({"medium_total": 8}, "high_total"),
        ({"high_total": 21}, "high_total"),
        ({"single_parameter": 0}, "single_parameter"),
        ({"single_parameter": 4}, "single_parameter"),
        ({"sustain_s": -1.0}, "sustain_s"),
        ({"sustain_s": math.nan}, "sustain_s"),
        ({"clear_s": -0.5}, "clear_s"),
        ({"clear_s": math.inf}, "clear_s"),
    ],
)
def test_an_invalid_config_is_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        News2AlarmConfig(**fields)


def test_the_widest_valid_thresholds_are_accepted() -> None:
    config = News2AlarmConfig(medium_total=1, high_total=20, single_parameter=1)
    assert (config.medium_total, config.high_total, config.single_parameter) == (1, 20, 1)
