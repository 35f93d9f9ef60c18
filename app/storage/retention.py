"""How long the record keeps each kind of data, and the checks on a chosen setting."""

from __future__ import annotations

from dataclasses import dataclass

HOUR = 3600.0
DAY = 86400.0


class RetentionError(ValueError):
    """A retention setting that would lose data the station promises to keep."""


@dataclass(frozen=True, slots=True)
class Retention:
    """Seconds each kind of data is kept; pruning runs every ``prune_every`` s."""

    full_disclosure: float = 96 * HOUR  # waveforms, and the raw numeric readings beside them
    trends: float = 30 * DAY
    alarm_log: float = 90 * DAY  # also the events (rhythm, device status, conditions)
    prune_every: float = 600.0

    def __post_init__(self) -> None:
        if min(self.full_disclosure, self.trends, self.alarm_log, self.prune_every) <= 0:
            raise RetentionError("every retention must be a positive time")
        # A review of full disclosure shows the alarms and trends of the same stretch.
        if self.alarm_log < self.full_disclosure:
            raise RetentionError(
                f"the alarm log ({self.alarm_log / DAY:g} days) must be kept at least as long "
                f"as the full disclosure ({self.full_disclosure / HOUR:g} h)"
            )
        if self.trends < self.full_disclosure:
            raise RetentionError(
                f"trends ({self.trends / DAY:g} days) must be kept at least as long as the "
                f"full disclosure ({self.full_disclosure / HOUR:g} h)"
            )
