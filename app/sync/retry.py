"""Draining now (``--once``): passes until nothing is left, retrying a transient failure
with backoff until it has lasted ``give_up_after`` s. Shared by the FHIR sync and the HL7
feed, whose passes differ but whose patience is the same."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Protocol, TypeVar

from app.sync.errors import TransientError
from app.sync.outbox import backoff_delay

E_co = TypeVar("E_co", bound=Exception, covariant=True)
F = TypeVar("F", bound=Exception)


class PassResult(Protocol[E_co]):
    @property
    def rows(self) -> int: ...  # pending rows the pass read: 0 when nothing is left
    @property
    def failure(self) -> E_co | None: ...  # why it stopped short


def drain_with_retry(
    run_pass: Callable[[float], PassResult[F]],
    *,
    give_up_after: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    rng: random.Random,
    final: Callable[[F], bool] = lambda _error: False,
) -> F | None:
    """Run ``run_pass(now)`` until a pass finds nothing; the failure that ended it early
    (one ``final`` says will not clear, or one that lasted ``give_up_after``), or None."""
    failing_since: float | None = None
    failures = 0
    while True:
        now = clock()
        report = run_pass(now)
        failure = report.failure
        if failure is None:
            failing_since, failures = None, 0
            if report.rows == 0:
                return None
            continue
        failing_since = now if failing_since is None else failing_since
        if final(failure) or now - failing_since >= give_up_after:
            return failure
        failures += 1
        wait = backoff_delay(failures, rng)
        if isinstance(failure, TransientError) and failure.retry_after:
            wait = max(wait, failure.retry_after)
        sleep(min(wait, max(0.0, failing_since + give_up_after - now)))
