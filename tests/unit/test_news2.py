"""NEWS2 against the RCP 2017 chart: every band edge, rounding, risk bands, incompleteness."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.scores.news2 import RESPONSES, News2Result, score

# A well adult on air: every parameter scores 0.
NORMAL: dict[str, Any] = {
    "resp_rate": 16,
    "spo2": 98,
    "on_oxygen": False,
    "systolic_bp": 120,
    "pulse": 70,
    "consciousness": "A",
    "temperature": 37.0,
}
INPUTS = tuple(NORMAL)
COMPONENTS = (
    "resp_rate",
    "spo2",
    "air_or_oxygen",
    "systolic_bp",
    "pulse",
    "consciousness",
    "temperature",
)


def scored(**change: Any) -> News2Result:
    return score(**{**NORMAL, **change})


# (input changed from NORMAL, component that scores, its points); each case is one chart cell
# on one side of a band edge. Every other component stays at 0 (air_or_oxygen: see below).
EDGES: list[tuple[dict[str, Any], str, int]] = [
    # Respiration rate: <=8 3, 9-11 1, 12-20 0, 21-24 2, >=25 3.
    *[
        ({"resp_rate": rr}, "resp_rate", points)
        for rr, points in [
            (0, 3), (8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3),
            (60, 3), (8.4, 3), (8.5, 1), (11.49, 1), (11.5, 0), (20.4, 0), (20.5, 2),
            (24.5, 3),
        ]
    ],
    # SpO2 scale 1: <=91 3, 92-93 2, 94-95 1, >=96 0 (the same on oxygen).
    *[
        ({"spo2": spo2}, "spo2", points)
        for spo2, points in [
            (70, 3), (91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0),
            (91.5, 2), (95.49, 1), (95.5, 0),
        ]
    ],
    ({"spo2": 96, "on_oxygen": True}, "spo2", 0),
    ({"spo2": 93, "on_oxygen": True}, "spo2", 2),
    # SpO2 scale 2: <=83 3, 84-85 2, 86-87 1, 88-92 0, >=93 0 on air, 93-94 1, 95-96 2 and
    # >=97 3 on oxygen.
    *[
        ({"spo2": spo2, "spo2_scale": 2, "on_oxygen": o2}, "spo2", points)
        for spo2, o2, points in [
            (83, False, 3), (83, True, 3), (84, False, 2), (85, True, 2), (86, False, 1),
            (87, True, 1), (88, False, 0), (88, True, 0), (92, False, 0), (92, True, 0),
            (93, False, 0), (93, True, 1), (94, False, 0), (94, True, 1), (95, False, 0),
            (95, True, 2), (96, False, 0), (96, True, 2), (97, False, 0), (97, True, 3),
            (100, False, 0), (100, True, 3), (92.5, True, 1), (92.49, True, 0),
            (83.5, False, 2),
        ]
    ],
    # Systolic BP: <=90 3, 91-100 2, 101-110 1, 111-219 0, >=220 3.
    *[
        ({"systolic_bp": sbp}, "systolic_bp", points)
        for sbp, points in [
            (50, 3), (90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0),
            (220, 3), (300, 3), (219.4, 0), (219.5, 3), (90.5, 2),
        ]
    ],
    # Pulse: <=40 3, 41-50 1, 51-90 0, 91-110 1, 111-130 2, >=131 3.
    *[
        ({"pulse": hr}, "pulse", points)
        for hr, points in [
            (0, 3), (40, 3), (41, 1), (50, 1), (51, 0), (90, 0), (91, 1), (110, 1), (111, 2),
            (130, 2), (131, 3), (200, 3), (90.4, 0), (90.5, 1), (90.6, 1), (40.5, 1),
            (130.5, 3),
        ]
    ],
    # Temperature: <=35.0 3, 35.1-36.0 1, 36.1-38.0 0, 38.1-39.0 1, >=39.1 2; rounded to one
    # decimal half-up first.
    *[
        ({"temperature": temp}, "temperature", points)
        for temp, points in [
            (30.0, 3), (35.0, 3), (35.1, 1), (36.0, 1), (36.1, 0), (38.0, 0), (38.1, 1),
            (39.0, 1), (39.1, 2), (42.0, 2), (35.04, 3), (35.05, 1), (36.04, 1), (36.05, 0),
            (38.049, 0), (38.05, 1), (39.049, 1), (39.05, 2), (37, 0), (35, 3), (39, 1),
        ]
    ],
    # ACVPU: alert 0; new confusion, voice, pain, unresponsive 3.
    *[
        ({"consciousness": level}, "consciousness", points)
        for level, points in [("A", 0), ("C", 3), ("V", 3), ("P", 3), ("U", 3)]
    ],
    # Air or oxygen: oxygen 2, air 0.
    ({"on_oxygen": False}, "air_or_oxygen", 0),
    ({"on_oxygen": True}, "air_or_oxygen", 2),
]  # fmt: skip


def test_the_edge_table_is_as_large_as_the_chart_needs() -> None:
    assert len(EDGES) >= 60


@pytest.mark.parametrize(("change", "component", "points"), EDGES)
def test_each_band_edge_of_the_chart(change: dict[str, Any], component: str, points: int) -> None:
    result = scored(**change)
    oxygen = 2 if change.get("on_oxygen") else 0
    assert result.components[component] == points
    assert result.components["air_or_oxygen"] == oxygen
    others = {name: p for name, p in result.components.items() if name != component}
    assert sum(p or 0 for p in others.values()) == (0 if component == "air_or_oxygen" else oxygen)
    expected_total = points if component == "air_or_oxygen" else points + oxygen
    assert result.total == expected_total
    assert result.single_parameter_3 is (points == 3)
    assert result.spo2_scale == change.get("spo2_scale", 1)


@pytest.mark.parametrize(
    ("change", "total", "risk", "single_3", "response"),
    [
        ({}, 0, "low", False, "zero"),
        ({"temperature": 38.5}, 1, "low", False, "low"),
        ({"resp_rate": 21, "pulse": 111}, 4, "low", False, "low"),
        ({"resp_rate": 25}, 3, "low-medium", True, "low-medium"),
        ({"consciousness": "C", "pulse": 95}, 4, "low-medium", True, "low-medium"),
        ({"resp_rate": 21, "pulse": 111, "temperature": 38.5}, 5, "medium", False, "medium"),
        ({"resp_rate": 25, "temperature": 39.5}, 5, "medium", True, "medium"),
        ({"on_oxygen": True, "spo2": 92, "pulse": 100}, 5, "medium", False, "medium"),
        ({"resp_rate": 21, "pulse": 111, "systolic_bp": 100}, 6, "medium", False, "medium"),
        ({"resp_rate": 21, "pulse": 111, "systolic_bp": 95, "temperature": 38.2}, 7, "high", False,
         "high"),
        ({"resp_rate": 25, "consciousness": "V", "on_oxygen": True}, 8, "high", True, "high"),
        ({"resp_rate": 30, "spo2": 85, "on_oxygen": True, "systolic_bp": 80, "pulse": 140,
          "consciousness": "U", "temperature": 34.0}, 20, "high", True, "high"),
        ({"spo2_scale": 2, "spo2": 90, "on_oxygen": True, "resp_rate": 22}, 4, "low", False,
         "low"),
        ({"spo2_scale": 2, "spo2": 97, "on_oxygen": True}, 5, "medium", True, "medium"),
    ],
)  # fmt: skip
def test_totals_and_risk_bands(
    change: dict[str, Any], total: int, risk: str, single_3: bool, response: str
) -> None:
    result = scored(**change)
    assert result.total == total
    assert result.risk == risk
    assert result.single_parameter_3 is single_3
    assert result.response == RESPONSES[response]
    assert result.missing == ()
    assert result.reason == ""


def test_the_responses_follow_the_rcp_table() -> None:
    assert "12-hourly" in scored().response
    assert "4–6-hourly" in scored(resp_rate=21).response
    assert "urgent ward-based review" in scored(resp_rate=25).response
    assert "within 1 h" in scored(resp_rate=21, pulse=111, temperature=38.5).response
    assert scored(resp_rate=30, pulse=140, consciousness="U").response.startswith("Continuous")


LABELS = {
    "resp_rate": "respiration rate",
    "spo2": "SpO2",
    "on_oxygen": "air/oxygen status",
    "systolic_bp": "systolic BP",
    "pulse": "pulse",
    "consciousness": "consciousness level",
    "temperature": "temperature",
}
COMPONENT_OF = {**{name: name for name in INPUTS}, "on_oxygen": "air_or_oxygen"}


@pytest.mark.parametrize("name", INPUTS)
def test_a_missing_input_is_named_and_never_imputed(name: str) -> None:
    result = scored(**{name: None})
    assert result.total is None
    assert result.risk is None
    assert result.response == ""
    assert result.missing == (name,)
    assert result.reason == f"incomplete: no {LABELS[name]}"
    assert result.components[COMPONENT_OF[name]] is None
    scored_ones = {k: v for k, v in result.components.items() if k != COMPONENT_OF[name]}
    assert scored_ones == dict.fromkeys(scored_ones, 0)


def test_several_missing_inputs_are_listed_in_chart_order() -> None:
    result = scored(temperature=None, consciousness=None, resp_rate=25)
    assert result.missing == ("consciousness", "temperature")
    assert result.reason == "incomplete: no consciousness level, no temperature"
    assert result.components["resp_rate"] == 3
    assert result.single_parameter_3 is True  # a known 3 is a fact, not a guess
    assert result.risk is None


def test_everything_missing() -> None:
    result = score(
        resp_rate=None,
        spo2=None,
        on_oxygen=None,
        systolic_bp=None,
        pulse=None,
        consciousness=None,
        temperature=None,
    )
    assert result.total is None
    assert result.missing == INPUTS
    assert result.components == dict.fromkeys(COMPONENTS)
    assert result.single_parameter_3 is False


@pytest.mark.parametrize(("spo2", "points"), [(80, 3), (87, 1), (92, 0), (93, None), (99, None)])
def test_scale_2_spo2_needs_the_oxygen_status_from_93_up(spo2: int, points: int | None) -> None:
    result = scored(spo2_scale=2, spo2=spo2, on_oxygen=None)
    assert result.components["spo2"] == points
    assert result.missing == ("on_oxygen",)
    assert result.total is None


def test_scale_1_spo2_is_scored_without_the_oxygen_status() -> None:
    assert scored(spo2=93, on_oxygen=None).components["spo2"] == 2


def test_the_chart_has_exactly_these_components() -> None:
    assert tuple(scored().components) == COMPONENTS


def test_the_result_is_frozen() -> None:
    result = scored()
    assign: Any = setattr  # a frozen dataclass refuses at run time what mypy refuses here
    with pytest.raises(AttributeError):
        assign(result, "total", 3)


def test_inputs_in_the_documented_order_or_by_name() -> None:
    # score(resp_rate, spo2, on_oxygen, systolic_bp, pulse, consciousness, temperature)
    by_position = score(26, 91, True, 90, 131, "V", 35.0)
    by_name = score(resp_rate=26, spo2=91, on_oxygen=True, systolic_bp=90, pulse=131,
                    consciousness="V", temperature=35.0)  # fmt: skip
    assert by_position == by_name
    assert by_position.total == 20


NAN, INF = math.nan, math.inf


@pytest.mark.parametrize(
    ("change", "message"),
    [
        *[({name: bad}, name) for name in ("resp_rate", "spo2", "systolic_bp", "pulse",
                                          "temperature") for bad in (NAN, INF, -INF)],
        *[({name: -1}, name) for name in ("resp_rate", "spo2", "systolic_bp", "pulse")],
        ({"temperature": -37.0}, "temperature"),
        ({"resp_rate": 101}, "resp_rate"),
        ({"spo2": 100.5}, "spo2"),
        ({"spo2": 101}, "spo2"),
        ({"systolic_bp": 351}, "systolic_bp"),
        ({"pulse": 301}, "pulse"),
        ({"temperature": 24.9}, "temperature"),
        ({"temperature": 45.1}, "temperature"),
        ({"temperature": 3700}, "temperature"),
        ({"pulse": True}, "pulse"),
        ({"pulse": "90"}, "pulse"),
        ({"temperature": "37.0"}, "temperature"),
        ({"consciousness": "a"}, "consciousness"),
        ({"consciousness": " A"}, "consciousness"),
        ({"consciousness": "X"}, "consciousness"),
        ({"consciousness": ""}, "consciousness"),
        ({"consciousness": "Alert"}, "consciousness"),
        ({"consciousness": 0}, "consciousness"),
        ({"on_oxygen": 1}, "on_oxygen"),
        ({"on_oxygen": 0}, "on_oxygen"),
        ({"on_oxygen": "yes"}, "on_oxygen"),
        ({"spo2_scale": 0}, "spo2_scale"),
        ({"spo2_scale": 3}, "spo2_scale"),
        ({"spo2_scale": True}, "spo2_scale"),
        ({"spo2_scale": 1.0}, "spo2_scale"),
        ({"spo2_scale": None}, "spo2_scale"),
    ],
)  # fmt: skip
def test_invalid_input_is_refused_naming_the_parameter(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        scored(**change)


def test_plausibility_limits_are_inclusive() -> None:
    result = scored(resp_rate=100, spo2=100, systolic_bp=350, pulse=300, temperature=45.0)
    assert result.total == 3 + 3 + 3 + 2
    assert scored(temperature=25.0).components["temperature"] == 3
    assert scored(resp_rate=0, spo2=0, systolic_bp=0, pulse=0).total == 12


# An independent reference: the chart as explicit closed intervals over exactly rounded values
# (fractions, not decimals), scored by search rather than by ordered thresholds.
REF_RR = [(0, 8, 3), (9, 11, 1), (12, 20, 0), (21, 24, 2), (25, 100, 3)]
REF_SPO2_1 = [(0, 91, 3), (92, 93, 2), (94, 95, 1), (96, 100, 0)]
REF_SPO2_2_AIR = [(0, 83, 3), (84, 85, 2), (86, 87, 1), (88, 100, 0)]
REF_SPO2_2_O2 = [(0, 83, 3), (84, 85, 2), (86, 87, 1), (88, 92, 0), (93, 94, 1), (95, 96, 2),
                 (97, 100, 3)]  # fmt: skip
REF_SBP = [(0, 90, 3), (91, 100, 2), (101, 110, 1), (111, 219, 0), (220, 350, 3)]
REF_PULSE = [(0, 40, 3), (41, 50, 1), (51, 90, 0), (91, 110, 1), (111, 130, 2), (131, 300, 3)]
REF_TEMP = [(Fraction(250, 10), Fraction(350, 10), 3), (Fraction(351, 10), Fraction(360, 10), 1),
            (Fraction(361, 10), Fraction(380, 10), 0), (Fraction(381, 10), Fraction(390, 10), 1),
            (Fraction(391, 10), Fraction(450, 10), 2)]  # fmt: skip


def ref_round(value: float, step: Fraction) -> Fraction:
    exact = Fraction(repr(float(value)))  # the decimal the value was written as
    return math.floor(exact / step + Fraction(1, 2)) * step


def ref_lookup(value: Fraction, table: list[tuple[Any, Any, int]]) -> int:
    hits = [points for low, high, points in table if low <= value <= high]
    assert len(hits) == 1, f"{value} in {len(hits)} intervals"
    return hits[0]


def reference(obs: dict[str, Any]) -> tuple[dict[str, int], int, str]:
    one = Fraction(1)
    if obs["spo2_scale"] == 1:
        spo2_table = REF_SPO2_1
    else:
        spo2_table = REF_SPO2_2_O2 if obs["on_oxygen"] else REF_SPO2_2_AIR
    points = {
        "resp_rate": ref_lookup(ref_round(obs["resp_rate"], one), REF_RR),
        "spo2": ref_lookup(ref_round(obs["spo2"], one), spo2_table),
        "air_or_oxygen": {True: 2, False: 0}[obs["on_oxygen"]],
        "systolic_bp": ref_lookup(ref_round(obs["systolic_bp"], one), REF_SBP),
        "pulse": ref_lookup(ref_round(obs["pulse"], one), REF_PULSE),
        "consciousness": {"A": 0, "C": 3, "V": 3, "P": 3, "U": 3}[obs["consciousness"]],
        "temperature": ref_lookup(ref_round(obs["temperature"], Fraction(1, 10)), REF_TEMP),
    }
    total = sum(points.values())
    if total >= 7:
        risk = "high"
    elif total >= 5:
        risk = "medium"
    elif 3 in points.values():
        risk = "low-medium"
    else:
        risk = "low"
    return points, total, risk


def number(low: int, high: int) -> st.SearchStrategy[float]:
    """Whole numbers, values near a half, and arbitrary floats, all in [low, high]."""
    return st.one_of(
        st.integers(low, high).map(float),
        st.integers(low * 100, high * 100).map(lambda n: n / 100),
        st.floats(low, high, allow_nan=False, allow_infinity=False),
    )


OBSERVATIONS = st.fixed_dictionaries(
    {
        "resp_rate": number(0, 100),
        "spo2": number(0, 100),
        "on_oxygen": st.booleans(),
        "systolic_bp": number(0, 350),
        "pulse": number(0, 300),
        "consciousness": st.sampled_from("ACVPU"),
        "temperature": st.one_of(
            st.integers(25_000, 45_000).map(lambda n: n / 1000), number(25, 45)
        ),
        "spo2_scale": st.sampled_from([1, 2]),
    }
)


@settings(max_examples=500, deadline=None)
@given(obs=OBSERVATIONS)
def test_score_agrees_with_an_independent_reference(obs: dict[str, Any]) -> None:
    points, total, risk = reference(obs)
    result = score(**obs)
    assert result.components == points
    assert result.total == total
    assert result.risk == risk
    assert result.single_parameter_3 is (3 in points.values())


@settings(max_examples=200, deadline=None)
@given(obs=OBSERVATIONS, gone=st.sets(st.sampled_from(INPUTS), min_size=1))
def test_any_missing_input_makes_the_score_incomplete(obs: dict[str, Any], gone: set[str]) -> None:
    result = score(**{**obs, **dict.fromkeys(gone)})
    assert result.total is None
    assert result.risk is None
    assert set(result.missing) == gone
    assert [name for name in INPUTS if name in gone] == list(result.missing)
