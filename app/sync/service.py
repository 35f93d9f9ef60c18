"""The sync worker: drains the outbox to the EHR on its own thread, and ``sync_once``.

:class:`SyncService` runs :class:`app.periodic.PeriodicThread`; each pass delivers rounds
until the outbox is empty, a failure stops it, or the service is stopping. After a failure
it leaves the EHR alone for an exponential backoff with full jitter (1 s doubling to at most
5 min, never less than the server's ``Retry-After``), so an outage costs one attempt per
backoff, not one per row. :attr:`SyncService.state` is an immutable snapshot, safe to read
from any thread. Failing continuously for 5 min raises the technical alarm
``EHR_SYNC_FAILING`` through the optional callbacks, and the first delivery clears it.

:func:`sync_once` is the command line's: drain now, and stop at a failure that does not clear
(credentials, configuration, or an EHR unreachable for ``give_up_after`` seconds).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from app.periodic import PeriodicThread
from app.sync.client import FhirClient
from app.sync.delivery import ROWS_PER_ROUND, Deliverer, RoundReport
from app.sync.errors import AuthError, ConfigError, SyncError, TransientError
from app.sync.naming import FhirNaming
from app.sync.outbox import BACKOFF_CAP, DeadLetter, Outbox, backoff_delay
from app.sync.retry import drain_with_retry
from app.sync.state import Health, SyncState, SyncStatus, SyncTracker

log = logging.getLogger(__name__)

ALARM_CODE = "EHR_SYNC_FAILING"
PERIOD = 1.0  # s between passes when idle: new rows leave within about a second
DEAD_REFRESH = 30.0  # s: dead letters are recounted at least this often (and after changes)

RaiseTechnical = Callable[[str, str], None]
ClearTechnical = Callable[[str], None]


class SyncService:
    def __init__(
        self,
        outbox: Outbox,
        client: FhirClient,
        naming: FhirNaming,
        *,
        clock: Callable[[], float] = time.time,
        raise_technical: RaiseTechnical | None = None,
        clear_technical: ClearTechnical | None = None,
        period: float = PERIOD,
        rows_per_round: int = ROWS_PER_ROUND,
        rng: random.Random | None = None,
        max_backoff: float = BACKOFF_CAP,
    ) -> None:
        self.outbox = outbox
        self._deliverer = Deliverer(outbox, client, naming, rows_per_round)
        self._clock = clock
        self._raise = raise_technical
        self._clear = clear_technical
        self._rng = rng or random.Random()
        self._max_backoff = max_backoff
        self._tracker = SyncTracker(outbox.last_sent())
        self._thread = PeriodicThread("ehr-sync", period, self.tick)
        self._lock = threading.Lock()
        self._state = SyncState(clock(), SyncStatus(""))
        self._hold_until = 0.0  # no attempt before this (backoff after a failure)
        self._failures = 0  # consecutive failed rounds
        self._alarm_raised = False
        self._dead: Mapping[str, int] = {}
        self._dead_checked: float | None = None  # None: recount at the next publish
        self._running = False

    @property
    def state(self) -> SyncState:
        with self._lock:
            return self._state

    def start(self) -> None:
        self._running = True
        self._thread.start()

    def stop(self, timeout: float | None = None) -> bool:
        """Stop after the request in flight (at most the client's time-out); True if ended."""
        self._running = False
        wait = timeout if timeout is not None else self._deliverer.client.timeout + 2.0
        return self._thread.stop(wait)

    def dead_letters(self, limit: int = 500) -> list[DeadLetter]:
        return self.outbox.dead_letters(limit)

    def requeue(self, row_id: int) -> bool:
        """Operator action: send a dead letter again, at the next pass."""
        done = self.outbox.requeue(row_id)
        if done:
            with self._lock:
                self._dead_checked = None
        return done

    def tick(self) -> None:
        """One pass: deliver while there is something due and nothing fails, then publish.
        The thread calls it; tests with an injected clock may call it directly."""
        now = self._clock()
        while now >= self._hold_until and not self._thread.stopping:
            report = self._deliverer.deliver(now)
            self._tracker.record(report, now)
            if report.dead:
                self._dead_checked = None
            if report.failure is not None:
                self._back_off(report.failure, now)
            else:
                self._failures = 0
            self._publish(now)
            if report.failure is not None or report.rows < self._deliverer.rows_per_round:
                break
            now = self._clock()
        else:
            self._publish(now)

    def _back_off(self, failure: SyncError, now: float) -> None:
        self._failures += 1
        wait = backoff_delay(self._failures, self._rng, cap=self._max_backoff)
        if isinstance(failure, TransientError) and failure.retry_after:
            # The server's wish, but never longer than the cap: a recovered EHR is found soon.
            wait = max(wait, min(failure.retry_after, self._max_backoff))
        self._hold_until = now + wait
        log.warning("EHR sync: %s; next try in %.1f s", failure, wait)

    def _publish(self, now: float) -> None:
        with self._lock:
            recount = self._dead_checked is None or now - self._dead_checked >= DEAD_REFRESH
        if recount:
            self._dead, self._dead_checked = self.outbox.dead_counts(), now
        state = self._tracker.state(now, self.outbox.backlog(), self._dead, self._running)
        with self._lock:
            self._state = state
        self._alarm(state.station, now)

    def _alarm(self, station: SyncStatus, now: float) -> None:
        failing = station.health is Health.FAILING
        if failing and not self._alarm_raised:
            self._alarm_raised = True
            since = station.failing_since or now
            log.error("EHR sync failing for %.0f s: %s", now - since, station.last_error)
            if self._raise is not None:
                self._raise(ALARM_CODE, f"EHR sync failing: {station.last_error}"[:200])
        elif not failing and self._alarm_raised:
            self._alarm_raised = False
            log.info("EHR sync recovered")
            if self._clear is not None:
                self._clear(ALARM_CODE)


@dataclass
class SyncReport:
    """What ``sync_once`` did: rows sent per kind, rows dead-lettered, and why it stopped
    early (None when the outbox was drained)."""

    sent: Counter[str] = field(default_factory=Counter)
    dead_letters: int = 0
    backlog: int = 0  # rows still pending
    error: SyncError | None = None

    @property
    def drained(self) -> bool:
        return self.error is None


def sync_once(
    outbox: Outbox,
    client: FhirClient,
    naming: FhirNaming,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    give_up_after: float = 30.0,
    rng: random.Random | None = None,
    rows_per_round: int = ROWS_PER_ROUND,
) -> SyncReport:
    """Drain the outbox now (retry times ignored). Transient failures are retried with
    backoff until they have lasted ``give_up_after`` s; auth and configuration errors stop
    at once."""
    deliverer = Deliverer(outbox, client, naming, rows_per_round)
    result = SyncReport()

    def run_pass(now: float) -> RoundReport:
        report = deliverer.deliver(now, respect_schedule=False)
        _add(result, report)
        return report

    result.error = drain_with_retry(
        run_pass, give_up_after=give_up_after, clock=clock, sleep=sleep,
        rng=rng or random.Random(),
        final=lambda error: isinstance(error, AuthError | ConfigError),
    )  # fmt: skip
    result.backlog = sum(outbox.backlog().values())
    return result


def _add(result: SyncReport, report: RoundReport) -> None:
    result.sent.update(report.sent)
    result.dead_letters += sum(report.dead.values())
