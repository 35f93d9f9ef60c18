"""Alarm limits per bed: defaults per patient category, and validation of what an operator sets.

Every limited parameter has physiological bounds for its limits, a condition delay (how long
a value must stay beyond a limit before it alarms) with its allowed range, and a hysteresis
(how far back inside the limit a value must come before the alarm condition ends), so that a
value hovering at a limit does not chatter. The numbers follow the defaults vendors ship and
``clinical-reference.md`` §4; every one of them is disclosed in the README.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from app.model.patient import PatientCategory


class LimitError(ValueError):
    """A limit setting that cannot be accepted; the message says why, in words."""


@dataclass(frozen=True, slots=True)
class Parameter:
    code: str  # the numeric's code: "HR", "SPO2", ...
    label: str  # what the operator reads: "HR", "SpO2"
    unit: str  # as displayed
    bounds: tuple[float, float]  # no limit may be set outside these
    decimals: int
    hysteresis: float  # in the parameter's unit
    max_delay: float  # s; the longest condition delay an operator may set
    default_delay: float  # s


@dataclass(frozen=True, slots=True)
class Limits:
    """One parameter's alarm settings on one bed. ``None`` switches one side off (e.g. no
    SpO2 high limit for an adult); switching a whole alarm off is an operator action with
    its own confirmation, indicator and reminder (``app.alarms.engine``)."""

    low: float | None
    high: float | None
    delay: float
    # The extreme limits (HR: extreme brady / tachy; SpO2: desaturation) raise a high-priority
    # alarm; None where the parameter has none.
    extreme_low: float | None = None
    extreme_high: float | None = None


PARAMETERS: dict[str, Parameter] = {
    p.code: p
    for p in (
        Parameter("HR", "HR", "bpm", (15, 300), 0, 2, 10, 5),
        Parameter("PR", "PR", "bpm", (15, 300), 0, 2, 10, 5),
        Parameter("SPO2", "SpO2", "%", (50, 100), 0, 1, 15, 10),
        Parameter("RR", "RR", "rpm", (1, 150), 0, 1, 30, 10),
        Parameter("NIBP_SYS", "NIBP sys", "mmHg", (20, 300), 0, 2, 0, 0),
        Parameter("NIBP_DIA", "NIBP dia", "mmHg", (10, 250), 0, 2, 0, 0),
        Parameter("NIBP_MEAN", "NIBP mean", "mmHg", (15, 270), 0, 2, 0, 0),
        Parameter("TEMP", "Temp", "°C", (25, 45), 1, 0.1, 60, 10),
        Parameter("PVC", "PVC", "/min", (1, 100), 0, 1, 30, 0),
    )
}

_L = Limits
# (low, high, extreme low, extreme high) per category. NIBP is measured now and then, so a
# measurement beyond a limit alarms at once (no delay).
_DEFAULTS: dict[PatientCategory, dict[str, Limits]] = {
    PatientCategory.ADULT: {
        "HR": _L(50, 120, 5, extreme_low=40, extreme_high=160),
        "PR": _L(50, 120, 5),
        "SPO2": _L(90, None, 10, extreme_low=80),
        "RR": _L(8, 30, 10),
        "NIBP_SYS": _L(90, 160, 0),
        "NIBP_DIA": _L(50, 90, 0),
        "NIBP_MEAN": _L(60, 110, 0),
        "TEMP": _L(35.5, 38.5, 10),
        "PVC": _L(None, 10, 0),
    },
    PatientCategory.PAEDIATRIC: {
        "HR": _L(75, 160, 5, extreme_low=50, extreme_high=200),
        "PR": _L(75, 160, 5),
        "SPO2": _L(90, None, 10, extreme_low=80),
        "RR": _L(10, 40, 10),
        "NIBP_SYS": _L(70, 120, 0),
        "NIBP_DIA": _L(40, 70, 0),
        "NIBP_MEAN": _L(50, 90, 0),
        "TEMP": _L(35.5, 38.5, 10),
        "PVC": _L(None, 5, 0),
    },
    PatientCategory.NEONATE: {
        "HR": _L(100, 200, 5, extreme_low=80, extreme_high=220),
        "PR": _L(100, 200, 5),
        "SPO2": _L(88, 95, 10, extreme_low=80),  # a high limit against hyperoxia
        "RR": _L(20, 80, 10),
        "NIBP_SYS": _L(50, 90, 0),
        "NIBP_DIA": _L(30, 60, 0),
        "NIBP_MEAN": _L(35, 70, 0),
        "TEMP": _L(36.0, 38.0, 10),
        "PVC": _L(None, 5, 0),
    },
}


def default_limits(category: PatientCategory) -> dict[str, Limits]:
    return dict(_DEFAULTS[category])


def parameter(code: str) -> Parameter:
    try:
        return PARAMETERS[code]
    except KeyError:
        raise LimitError(f"{code!r} has no alarm limits") from None


def validated(code: str, limits: Limits) -> Limits:
    """``limits`` if they can be applied to ``code``; otherwise LimitError saying why."""
    p = parameter(code)
    lo_bound, hi_bound = p.bounds
    named = (
        ("low limit", limits.low),
        ("high limit", limits.high),
        ("extreme low limit", limits.extreme_low),
        ("extreme high limit", limits.extreme_high),
    )
    for name, value in named:
        if value is None:
            continue
        if not math.isfinite(value):
            raise LimitError(f"{p.label} {name} must be a number")
        if not lo_bound <= value <= hi_bound:
            raise LimitError(
                f"{p.label} {name} {value:g} {p.unit} is outside {lo_bound:g}-{hi_bound:g} {p.unit}"
            )
    if limits.low is not None and limits.high is not None and not limits.low < limits.high:
        raise LimitError(
            f"{p.label} low limit {limits.low:g} must be below the high limit {limits.high:g}"
        )
    low, extreme_low = limits.low, limits.extreme_low
    if extreme_low is not None and low is not None and not extreme_low < low:
        raise LimitError(f"{p.label} extreme low limit must be below the low limit")
    high, extreme_high = limits.high, limits.extreme_high
    if extreme_high is not None and high is not None and not extreme_high > high:
        raise LimitError(f"{p.label} extreme high limit must be above the high limit")
    if p.max_delay == 0 and limits.delay != 0:
        raise LimitError(f"{p.label} alarms have no delay: each measurement is judged at once")
    if not (math.isfinite(limits.delay) and 0 <= limits.delay <= p.max_delay):
        raise LimitError(f"{p.label} alarm delay must be 0-{p.max_delay:g} s, got {limits.delay:g}")
    if limits.low is None and limits.high is None:
        raise LimitError(f"{p.label} needs a low or a high limit; switch its alarm off instead")
    return limits


def parse_limit(text: str) -> float | None:
    """What an operator typed into a limit field: a number, or "" / "off" for no limit."""
    cleaned = text.strip().lower()
    if cleaned in ("", "off", "-", "---"):
        return None
    try:
        value = float(cleaned.replace(",", "."))
    except ValueError:
        raise LimitError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise LimitError(f"{text!r} is not a number")
    return value


class BedLimits:
    """The limits of one bed: the category's defaults until an operator changes them."""

    def __init__(self, category: PatientCategory = PatientCategory.ADULT) -> None:
        self.category = category
        self._limits = default_limits(category)

    def __getitem__(self, code: str) -> Limits:
        return self._limits[code]

    def get(self, code: str) -> Limits | None:
        return self._limits.get(code)

    def __contains__(self, code: object) -> bool:
        return code in self._limits

    def items(self) -> list[tuple[str, Limits]]:
        return list(self._limits.items())

    def as_mapping(self) -> Mapping[str, Limits]:
        return dict(self._limits)

    def set(self, code: str, limits: Limits) -> None:
        """Replace one parameter's limits, all-or-nothing: nothing changes on an error."""
        self._limits[code] = validated(code, limits)

    def reset(self, category: PatientCategory) -> None:
        self.category = category
        self._limits = default_limits(category)
