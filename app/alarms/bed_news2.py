"""NEWS2 on a monitored bed: the current vitals plus what the nurse enters.

The monitor gives respiration rate, SpO2, systolic pressure (the last NIBP while it is not
stale), pulse and temperature; the nurse gives the level of consciousness (ACVPU), whether
the patient is on supplemental oxygen, and the SpO2 scale (scale 2 only for confirmed
hypercapnic respiratory failure). An entry older than ``OBSERVATION_VALID`` no longer counts:
the score becomes incomplete and says why, it is never computed from a guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.alarms.bed_view import BedView
from app.scores.news2 import CONSCIOUSNESS, SCALES, News2Result, score
from app.scores.news2_watch import News2Alarm, News2AlarmConfig, News2Watch
from drivers.base import Quality

OBSERVATION_VALID = 12 * 3600.0  # s: NEWS2 0 asks for observations at least 12-hourly
RESCORE = 1.0  # s between scores: vitals arrive about once a second


@dataclass(frozen=True, slots=True)
class NurseObservation:
    consciousness: str  # "A", "C", "V", "P" or "U"
    on_oxygen: bool
    spo2_scale: int  # 1, or 2 for confirmed hypercapnic respiratory failure
    entered_at: float
    entered_by: str

    def __post_init__(self) -> None:
        if self.consciousness not in CONSCIOUSNESS:
            raise ValueError(f"consciousness must be one of {', '.join(CONSCIOUSNESS)}")
        if self.spo2_scale not in SCALES:
            raise ValueError("the SpO2 scale must be 1 or 2")
        if not self.entered_by.strip():
            raise ValueError("an observation needs the name of who entered it")


def _current(view: BedView, code: str, now: float) -> float | None:
    value = view.value(code, now)
    if value is None or value.quality is not Quality.VALID:
        return None
    return value.value


class BedNews2:
    def __init__(self, config: News2AlarmConfig | None = None) -> None:
        self.watch = News2Watch(config or News2AlarmConfig())
        self.observation: NurseObservation | None = None
        self.result: News2Result | None = None
        self.alarm: News2Alarm | None = None
        self._scored_at = float("-inf")

    def observe(self, observation: NurseObservation) -> None:
        """A new entry from the nurse: scored at the next update."""
        self.observation = observation
        self._scored_at = float("-inf")

    def update(self, view: BedView, now: float) -> News2Alarm | None:
        if now - self._scored_at < RESCORE:
            return self.alarm
        self._scored_at = now
        obs = self.observation
        if obs is not None and now - obs.entered_at > OBSERVATION_VALID:
            obs = None
        pulse = _current(view, "HR", now)
        scale = obs.spo2_scale if obs else 1
        try:
            self.result = score(
                resp_rate=_current(view, "RR", now),
                spo2=_current(view, "SPO2", now),
                on_oxygen=obs.on_oxygen if obs else None,
                systolic_bp=_current(view, "NIBP_SYS", now),
                pulse=pulse if pulse is not None else _current(view, "PR", now),
                consciousness=obs.consciousness if obs else None,
                temperature=_current(view, "TEMP", now),
                spo2_scale=scale,
            )
        except ValueError as exc:  # a device sent an implausible value: no score, and why
            reason = f"incomplete: {exc}"
            self.result = News2Result(None, None, {}, ("plausible vitals",), reason, "", scale,
                                      False)  # fmt: skip
        self.alarm = self.watch.update(now, self.result)
        return self.alarm
