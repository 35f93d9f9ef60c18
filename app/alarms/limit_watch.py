"""One side of one alarm limit: the condition delay before it holds, the hysteresis before it ends.

The condition starts when the value has stayed beyond the limit for the delay (timed from the
first reading beyond it), and ends only once the value is back inside the limit by the
hysteresis, so that a value hovering at the limit raises one alarm, not a chatter of them. A
missing value ends it: the technical alarm that explains the missing value takes over.
"""

from __future__ import annotations


class LimitWatch:
    def __init__(self, above: bool) -> None:
        self.above = above  # True for a high limit
        self.since: float | None = None  # time of the first reading beyond the limit
        self.active = False

    def update(
        self,
        now: float,
        value: float | None,
        stamp: float,
        *,
        limit: float | None,
        delay: float,
        hysteresis: float,
    ) -> bool:
        """Whether the condition holds at ``now``, given the latest ``value`` (measured at
        ``stamp``; None when there is no trustworthy value)."""
        if value is None or limit is None:
            self.since, self.active = None, False
            return False
        beyond = value > limit if self.above else value < limit
        if self.active:
            back = value <= limit - hysteresis if self.above else value >= limit + hysteresis
            if back:
                self.since, self.active = None, False
            return self.active
        if not beyond:
            self.since = None
            return False
        if self.since is None:
            self.since = min(stamp, now)
        self.active = now - self.since >= delay
        return self.active

    def reset(self) -> None:
        self.since, self.active = None, False
