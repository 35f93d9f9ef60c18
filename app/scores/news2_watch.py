"""Per-bed NEWS2 alarm condition: a sustained rise alarms, a sustained fall clears.

Each result is observed as one of three levels: high (total at or above ``high_total``),
medium (total at or above ``medium_total``, or one parameter at ``single_parameter`` points)
or none. A level alarms once it has held for ``sustain_s``, so one outlying set of
observations does not page anyone; an active level drops (to the lower level, or clears) only
once the observations have stayed below it for ``clear_s``, so a score hovering at a threshold
does not chatter. An incomplete result counts as none: it never starts or sustains an alarm,
and an alarm it interrupts clears after ``clear_s`` like any other fall.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.scores.news2 import COMPONENT_LABELS, News2Result

_NONE, _MEDIUM, _HIGH = 0, 1, 2
_LEVEL_NAMES = {_MEDIUM: "medium", _HIGH: "high"}
_MAX_TOTAL = 20  # the NEWS2 aggregate range is 0-20


@dataclass(frozen=True, slots=True)
class News2AlarmConfig:
    medium_total: int = 5
    high_total: int = 7
    single_parameter: int = 3  # points in one parameter that alarm on their own
    sustain_s: float = 120.0  # the score must hold this long before it alarms (a sustained rise)
    clear_s: float = 60.0  # and be below for this long before the alarm condition ends

    def __post_init__(self) -> None:
        if not 0 < self.medium_total < self.high_total <= _MAX_TOTAL:
            raise ValueError(
                "NEWS2 alarm thresholds need 0 < medium_total < high_total <= 20, got "
                f"medium_total={self.medium_total}, high_total={self.high_total}"
            )
        if not 1 <= self.single_parameter <= 3:
            raise ValueError(f"single_parameter must be 1-3 points, got {self.single_parameter}")
        for name in ("sustain_s", "clear_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value}")


@dataclass(frozen=True, slots=True)
class News2Alarm:
    level: str  # "medium" or "high"
    text: str  # e.g. "NEWS2 7 (high risk) for 2 min" or "NEWS2 single parameter 3: SpO2"


class News2Watch:
    """The alarm condition of one bed from its stream of NEWS2 results (not thread-safe)."""

    def __init__(self, config: News2AlarmConfig = News2AlarmConfig()) -> None:
        self._config = config
        self._last_now: float | None = None
        self._active = _NONE
        # Per level: since when the observed level has been at or above it, or below it.
        self._above_since: dict[int, float | None] = {_MEDIUM: None, _HIGH: None}
        self._below_since: dict[int, float | None] = {_MEDIUM: None, _HIGH: None}

    def update(self, now: float, result: News2Result) -> News2Alarm | None:
        """Take the latest result at ``now`` (s, monotonic); the current alarm, or None."""
        if not math.isfinite(now):
            raise ValueError(f"now must be a finite time in seconds, got {now}")
        if self._last_now is not None and now < self._last_now:
            raise ValueError(f"time went backwards: {now} s after {self._last_now} s")
        self._last_now = now
        observed = self._observed(result)
        config = self._config
        level = _NONE
        for candidate in (_MEDIUM, _HIGH):
            if observed >= candidate:
                self._below_since[candidate] = None
                if self._above_since[candidate] is None:
                    self._above_since[candidate] = now
            else:
                self._above_since[candidate] = None
                if self._below_since[candidate] is None:
                    self._below_since[candidate] = now
            above, below = self._above_since[candidate], self._below_since[candidate]
            sustained = above is not None and now - above >= config.sustain_s
            kept = candidate <= self._active and (below is None or now - below < config.clear_s)
            if sustained or kept:
                level = candidate
        self._active = level
        if level == _NONE:
            return None
        return News2Alarm(_LEVEL_NAMES[level], self._text(now, level, observed, result))

    def _observed(self, result: News2Result) -> int:
        config = self._config
        if result.total is None:
            return _NONE
        if result.total >= config.high_total:
            return _HIGH
        if result.total >= config.medium_total or self._single_parameters(result):
            return _MEDIUM
        return _NONE

    def _single_parameters(self, result: News2Result) -> list[str]:
        threshold = self._config.single_parameter
        return [
            COMPONENT_LABELS[name]
            for name, points in result.components.items()
            if points is not None and points >= threshold
        ]

    def _text(self, now: float, level: int, observed: int, result: News2Result) -> str:
        if observed < level:
            now_text = "incomplete" if result.total is None else str(result.total)
            return f"NEWS2 {_LEVEL_NAMES[level]} risk, resolving (now {now_text})"
        if result.total is not None and result.total >= self._config.medium_total:
            since = self._above_since[level]
            held = 0.0 if since is None else now - since
            return f"NEWS2 {result.total} ({result.risk} risk) for {_duration(held)}"
        names = ", ".join(self._single_parameters(result))
        return f"NEWS2 single parameter {self._config.single_parameter}: {names}"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{int(seconds)} s"
    return f"{int(seconds // 60)} min"
