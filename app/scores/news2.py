"""NEWS2 (Royal College of Physicians, December 2017): the chart, the risk bands, the response.

Inputs are rounded before scoring, because the chart has integer bands (one decimal for
temperature) and a monitor sends floats: temperature to one decimal, everything else to the
nearest integer, both half-up on the value's shortest decimal form (``repr``), so 38.05 is 38.1
and 90.5 is 91 with no binary floating-point artefact. Plausibility limits apply to the value
as given, before rounding. A missing input (None) is never imputed: the score is then
incomplete, with a total and risk of None, and the parameters that could still be scored are
kept in ``components``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeAlias

CONSCIOUSNESS = ("A", "C", "V", "P", "U")  # ACVPU; C is new confusion
SCALES = (1, 2)

# Human names, used in the incompleteness reason and in alarm texts.
INPUT_LABELS: dict[str, str] = {
    "resp_rate": "respiration rate",
    "spo2": "SpO2",
    "on_oxygen": "air/oxygen status",
    "systolic_bp": "systolic BP",
    "pulse": "pulse",
    "consciousness": "consciousness level",
    "temperature": "temperature",
}
COMPONENT_LABELS: dict[str, str] = {
    **INPUT_LABELS,
    "air_or_oxygen": "supplemental oxygen",
}

# The RCP clinical response for each band: monitoring frequency, then who responds.
RESPONSES: dict[str, str] = {
    "zero": "Monitoring at least 12-hourly; continue routine NEWS2 monitoring.",
    "low": "Monitoring 4–6-hourly; a registered nurse assesses the patient.",
    "low-medium": "Monitoring at least 1-hourly; urgent ward-based review.",
    "medium": (
        "Monitoring at least 1-hourly; urgent response within 1 h by a clinician competent "
        "in the assessment of acute illness."
    ),
    "high": (
        "Continuous vital-sign monitoring; emergency assessment by a team with critical-care "
        "competencies; consider transfer to level 2/3 care."
    ),
}

# Chart bands as (highest value in the band, points), ascending; above the last band scores
# the given top. Temperature is in tenths of a degree so that every band edge is an integer.
_Chart: TypeAlias = tuple[tuple[tuple[int, int], ...], int | None]
_RESP_RATE: _Chart = ((8, 3), (11, 1), (20, 0), (24, 2)), 3
_SPO2_SCALE_1: _Chart = ((91, 3), (93, 2), (95, 1)), 0
_SPO2_SCALE_2_LOW: _Chart = ((83, 3), (85, 2), (87, 1), (92, 0)), None  # >= 93: depends on O2
_SPO2_SCALE_2_ON_O2: _Chart = ((94, 1), (96, 2)), 3
_SYSTOLIC_BP: _Chart = ((90, 3), (100, 2), (110, 1), (219, 0)), 3
_PULSE: _Chart = ((40, 3), (50, 1), (90, 0), (110, 1), (130, 2)), 3
_TEMPERATURE_TENTHS: _Chart = ((350, 3), (360, 1), (380, 0), (390, 1)), 2

# Plausibility limits (inclusive) on the values as given; outside them is a data error.
_LIMITS: dict[str, tuple[int, int]] = {
    "resp_rate": (0, 100),
    "spo2": (0, 100),
    "systolic_bp": (0, 350),
    "pulse": (0, 300),
    "temperature": (25, 45),
}


@dataclass(frozen=True, slots=True)
class News2Result:
    total: int | None  # None when any input is missing
    risk: str | None  # "low", "low-medium", "medium" or "high"; None when incomplete
    components: dict[str, int | None]  # points per parameter; None when it cannot be scored
    missing: tuple[str, ...]  # input names, in chart order
    reason: str  # "" when complete, e.g. "incomplete: no temperature"
    response: str  # the RCP clinical response for the band; "" when incomplete
    spo2_scale: int
    single_parameter_3: bool  # any scored parameter at 3 points (known even when incomplete)


def score(
    resp_rate: float | None,
    spo2: float | None,
    on_oxygen: bool | None,
    systolic_bp: float | None,
    pulse: float | None,
    consciousness: str | None,
    temperature: float | None,
    spo2_scale: int = 1,
) -> News2Result:
    """Score one set of observations on the RCP 2017 NEWS2 chart.

    Raises:
        ValueError: an input is not a finite number in its plausible range, consciousness is
            not one of A, C, V, P, U, ``on_oxygen`` is not a bool, or ``spo2_scale`` is not 1 or 2.
    """
    _check_choices(on_oxygen, consciousness, spo2_scale)
    components: dict[str, int | None] = {
        "resp_rate": _scored("resp_rate", resp_rate, _RESP_RATE),
        "spo2": _spo2_points(_rounded("spo2", spo2), on_oxygen, spo2_scale),
        "air_or_oxygen": None if on_oxygen is None else (2 if on_oxygen else 0),
        "systolic_bp": _scored("systolic_bp", systolic_bp, _SYSTOLIC_BP),
        "pulse": _scored("pulse", pulse, _PULSE),
        "consciousness": None if consciousness is None else (0 if consciousness == "A" else 3),
        "temperature": _scored("temperature", temperature, _TEMPERATURE_TENTHS, tenths=True),
    }
    inputs = (resp_rate, spo2, on_oxygen, systolic_bp, pulse, consciousness, temperature)
    # INPUT_LABELS lists the inputs in this (chart) order.
    missing = tuple(name for name, value in zip(INPUT_LABELS, inputs, strict=True) if value is None)
    single_3 = any(points == 3 for points in components.values())
    if missing:
        reason = "incomplete: " + ", ".join(f"no {INPUT_LABELS[name]}" for name in missing)
        return News2Result(None, None, components, missing, reason, "", spo2_scale, single_3)
    total = sum(points for points in components.values() if points is not None)
    risk = _risk(total, single_3)
    response = RESPONSES["zero" if total == 0 else risk]
    return News2Result(total, risk, components, (), "", response, spo2_scale, single_3)


def _check_choices(on_oxygen: object, consciousness: object, spo2_scale: object) -> None:
    # bool is an int and 1.0 == 1: only a true int names a scale.
    if type(spo2_scale) is not int or spo2_scale not in SCALES:
        raise ValueError(f"spo2_scale must be 1 or 2, got {spo2_scale!r}")
    if on_oxygen is not None and not isinstance(on_oxygen, bool):
        raise ValueError(f"on_oxygen must be True, False or None, got {on_oxygen!r}")
    if consciousness is not None and consciousness not in CONSCIOUSNESS:
        raise ValueError(f"consciousness must be one of A, C, V, P, U, got {consciousness!r}")


def _risk(total: int, single_parameter_3: bool) -> str:
    if total >= 7:
        return "high"
    if total >= 5:
        return "medium"
    return "low-medium" if single_parameter_3 else "low"


def _spo2_points(spo2: int | None, on_oxygen: bool | None, scale: int) -> int | None:
    if spo2 is None:
        return None
    if scale == 1:
        return _band(spo2, *_SPO2_SCALE_1)
    points = _band(spo2, *_SPO2_SCALE_2_LOW)
    if points is not None:
        return points
    # Scale 2 at 93 % or more: 0 on air, 1-3 on oxygen; unknown without the oxygen status.
    if on_oxygen is None:
        return None
    return _band(spo2, *_SPO2_SCALE_2_ON_O2) if on_oxygen else 0


def _scored(name: str, value: object, chart: _Chart, *, tenths: bool = False) -> int | None:
    rounded = _rounded(name, value, tenths=tenths)
    return None if rounded is None else _band(rounded, *chart)


def _band(value: int, bands: tuple[tuple[int, int], ...], top: int | None) -> int | None:
    for highest, points in bands:
        if value <= highest:
            return points
    return top


def _rounded(name: str, value: object, *, tenths: bool = False) -> int | None:
    """The value half-up rounded to an integer (or to integer tenths); None when missing."""
    if value is None:
        return None
    # bool is an int to Python, but True is no heart rate.
    real = None if isinstance(value, bool) else value
    real = real if isinstance(real, numbers.Real) else None
    if real is None:  # ValueError for every bad input, types included: one to catch
        raise ValueError(f"{name} must be a number, got {value!r}")
    if isinstance(real, numbers.Integral):
        exact = Decimal(int(real))
    else:
        number = float(real)
        if not math.isfinite(number):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
        exact = Decimal(repr(number))  # the shortest decimal form: 38.05, not 38.0499999...
    low, high = _LIMITS[name]
    if exact < 0:
        raise ValueError(f"{name} must not be negative, got {value!r}")
    if not low <= exact <= high:
        raise ValueError(f"{name} {value!r} is outside the plausible range {low}–{high}")
    if tenths:
        exact *= 10
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
