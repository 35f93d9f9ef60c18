"""Physiological state over time: the set-points a scenario drives the simulated patient to."""

from __future__ import annotations

import bisect
import dataclasses
import enum
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class Rhythm(enum.Enum):
    SINUS = "sinus"
    AFIB = "afib"
    VT = "vt"
    VF = "vf"
    ASYSTOLE = "asystole"


class Ectopy(enum.Enum):
    NONE = "none"
    RANDOM = "random"  # isolated PVCs at ``pvc_per_min``, some as couplets
    BIGEMINY = "bigeminy"  # N V N V ...
    TRIGEMINY = "trigeminy"  # N N V N N V ...


@dataclass(frozen=True, slots=True)
class PhysiologyState:
    """Where the simulated patient is at one moment. Rates per minute, pressures in mmHg."""

    rhythm: Rhythm = Rhythm.SINUS
    hr: float = 75.0  # sinus rate, or the ventricular rate in AF and VT
    ectopy: Ectopy = Ectopy.NONE
    pvc_per_min: float = 0.0
    spo2: float = 97.0
    rr: float = 14.0
    temp: float = 36.9
    sbp: float = 122.0
    dbp: float = 78.0
    perfusion: float = 1.0  # pleth pulse amplitude, relative
    battery: float = 90.0
    leads_off: bool = False
    probe_off: bool = False
    connected: bool = True


BASE = None  # a track point whose value is None holds the patient's baseline value


@functools.lru_cache(maxsize=256)
def _changed(baseline: PhysiologyState, changes: tuple[tuple[str, Any], ...]) -> PhysiologyState:
    # Cached: stepwise tracks give the same state for long stretches, and replace() is slow.
    return dataclasses.replace(baseline, **dict(changes))


@dataclass(frozen=True, slots=True)
class Track:
    """One field over time: linear between points when ``ramp`` is set, else stepwise."""

    points: tuple[tuple[float, Any], ...]
    ramp: bool = True
    times: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "times", tuple(p[0] for p in self.points))

    def at(self, t: float, baseline: Any) -> Any:
        i = bisect.bisect_right(self.times, t) - 1
        if i < 0:
            return baseline
        t0, v0 = self.points[i]
        v0 = baseline if v0 is BASE else v0
        if not self.ramp or i + 1 >= len(self.points):
            return v0
        t1, v1 = self.points[i + 1]
        v1 = baseline if v1 is BASE else v1
        return v0 + (v1 - v0) * (t - t0) / (t1 - t0)

    def scaled(self, factor: float) -> Track:
        return Track(tuple((t / factor, v) for t, v in self.points), self.ramp)


def ramp(*points: tuple[float, Any]) -> Track:
    return Track(tuple(points), ramp=True)


def step(*points: tuple[float, Any]) -> Track:
    return Track(tuple(points), ramp=False)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A documented timeline. Times are seconds from the start of the run."""

    name: str
    summary: str
    tracks: Mapping[str, Track]
    events: tuple[tuple[float, str], ...] = ()
    nibp_requests: tuple[float, ...] = ()  # on-demand NIBP measurements, as a nurse would start

    def state_at(self, t: float, baseline: PhysiologyState) -> PhysiologyState:
        if not self.tracks:
            return baseline
        changes = tuple(
            (name, track.at(t, getattr(baseline, name))) for name, track in self.tracks.items()
        )
        return _changed(baseline, changes)

    def compressed(self, factor: float) -> Scenario:
        """The same timeline run ``factor`` times faster (e.g. hours of sepsis in minutes)."""
        if factor <= 0:
            raise ValueError(f"compression factor must be positive, got {factor}")
        return Scenario(
            self.name,
            self.summary,
            {k: v.scaled(factor) for k, v in self.tracks.items()},
            tuple((t / factor, name) for t, name in self.events),
            tuple(t / factor for t in self.nibp_requests),
        )


def first_change(t0: float, t1: float, value: Callable[[float], object]) -> float:
    """The moment in ``(t0, t1]`` where ``value`` first differs from its value at ``t0``
    (bisection, to a microsecond), or ``t0`` if it does not change."""
    start = value(t0)
    if value(t1) == start:
        return t0
    lo, hi = t0, t1
    while hi - lo > 1e-6:
        mid = (lo + hi) / 2
        if value(mid) == start:
            lo = mid
        else:
            hi = mid
    return round(hi, 6)
