"""Station-wide alarm settings, each with the range an operator may choose from."""

from __future__ import annotations

from dataclasses import dataclass

from app.alarms.priority import Priority

AUDIO_PAUSE_RANGE = (60.0, 180.0)
MAX_REMINDER = 120.0  # s: an indefinite ALARM OFF is recalled at least this often


@dataclass(frozen=True, slots=True)
class AlarmConfig:
    tick: float = 0.25  # s between engine passes (the bound)
    audio_pause: float = 120.0  # s of AUDIO PAUSED
    reminder: float = 120.0  # s between reminders of a parameter's ALARM OFF
    reannounce: float = 60.0  # s between re-announcements of an unacknowledged alarm
    escalate_high: float | None = 30.0  # s unacknowledged before secondary notification
    escalate_medium: float | None = 120.0
    escalate_low: float | None = None
    event_hold: float = 10.0  # s a momentary event (a pause, AF onset) stays an alarm
    af_repeat_gap: float = 60.0  # s out of AF before a return to AF is a new onset
    waveform_silence: float = 5.0  # s without waveform samples: NO DATA
    numeric_silence: float = 30.0  # s without readings from a numerics-only device
    poor_signal_sqi: float = 0.5  # signal-quality index below this is poor
    poor_signal_clear: float = 5.0  # s of good signal before a poor-signal alarm ends
    display_frozen: float = 3.0  # s without a repaint before the screen counts as frozen

    def __post_init__(self) -> None:
        lo, hi = AUDIO_PAUSE_RANGE
        if not lo <= self.audio_pause <= hi:
            raise ValueError(f"audio pause must be {lo:g}-{hi:g} s, got {self.audio_pause:g}")
        if not 0 < self.reminder <= MAX_REMINDER:
            raise ValueError(f"the alarm-off reminder must come every 1-{MAX_REMINDER:g} s")
        if not 0 < self.tick <= 0.25:
            raise ValueError("the alarm engine must tick at least every 0.25 s")
        for name in ("escalate_high", "escalate_medium", "escalate_low"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive or None (never)")
        positive = ("reannounce", "event_hold", "waveform_silence", "numeric_silence",
                    "display_frozen")  # fmt: skip
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")

    def escalate_after(self, priority: Priority) -> float | None:
        return {
            Priority.HIGH: self.escalate_high,
            Priority.MEDIUM: self.escalate_medium,
            Priority.LOW: self.escalate_low,
        }[priority]
