"""Reconnect delays: exponential with full jitter, reset after a healthy stretch (ble.md §6.2)."""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    def __init__(
        self,
        first: float = 1.0,
        cap: float = 30.0,
        healthy_after: float = 60.0,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.first = first
        self.cap = cap
        self.healthy_after = healthy_after
        self._rand = rand
        self._failures = 0

    def next_delay(self) -> float:
        """The wait before the next attempt: uniform in [0, min(cap, first·2ⁿ)], at least a
        tenth of ``first`` so that a failing device cannot spin."""
        ceiling = min(self.cap, self.first * 2.0**self._failures)
        self._failures += 1
        return max(self.first * 0.1, ceiling * self._rand())

    def streamed(self, seconds: float) -> None:
        """A connection delivered for ``seconds``; a long enough one resets the backoff."""
        if seconds >= self.healthy_after:
            self._failures = 0
