"""One round of delivery: pending outbox rows → transaction bundles → each row's fate.

Bundles are **transactions of at most 8 conditional entries** (Medplum's cap), each led by
the Patient (and Device) its Observations refer to by ``urn:uuid``. Why transactions, not
batches: a transaction is self-contained — the server resolves the references inside it and
creates the Patient/Device first if it has never seen them (e.g. an EHR restored empty, or
the test server restarted) — whereas a batch may not refer between its entries, so it would
need a Patient and Device that already exist and would fail rows whose references are not
found. Repeating the context costs a conditional-create hit per bundle, never a duplicate.

A transaction is all or nothing, so a refused one (4xx with an OperationOutcome) is split:
each of its rows is sent alone, and only the ones refused alone are dead-lettered, with the
server's message. A transient failure (or an auth/config one) stops the round; its rows get
their backoff, and the caller waits before the next round.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.sync.bundles import MAX_CONDITIONAL_ENTRIES, bundles
from app.sync.client import FhirClient
from app.sync.errors import AuthError, ConfigError, RejectedError, SyncError, TransientError
from app.sync.naming import FhirNaming
from app.sync.outbox import Outbox, OutboxRow
from app.sync.payloads import Item, NotSendableError, RecordLookup, prepare

ROWS_PER_ROUND = 240  # rows read per round: state and stop requests are seen between rounds
Unit = list[Item]  # the rows that became the same resource (a duplicate row is sent once)


@dataclass
class RoundReport:
    rows: int = 0  # pending rows read
    sent: Counter[str] = field(default_factory=Counter)  # rows delivered, per kind
    sent_beds: Counter[str] = field(default_factory=Counter)
    dead: Counter[str] = field(default_factory=Counter)  # rows dead-lettered, per bed
    failed_beds: dict[str, str] = field(default_factory=dict)  # bed → the error
    failure: SyncError | None = None  # why the round stopped (or a row must be retried)


class Deliverer:
    def __init__(
        self,
        outbox: Outbox,
        client: FhirClient,
        naming: FhirNaming,
        rows_per_round: int = ROWS_PER_ROUND,
    ) -> None:
        self.outbox = outbox
        self.client = client
        self.naming = naming
        self.rows_per_round = rows_per_round
        self._verified = False  # the base URL leads to a FHIR R4 server
        self._sent: list[OutboxRow] = []  # delivered in this round, marked at its end

    def deliver(self, now: float, *, respect_schedule: bool = True) -> RoundReport:
        report = RoundReport()
        rows = self.outbox.pending(now, self.rows_per_round, respect_schedule=respect_schedule)
        report.rows = len(rows)
        if not rows:
            return report
        if not self._verified:
            # Before anything is judged: a wrong base URL must not dead-letter the outbox.
            try:
                self.client.capabilities()
            except (TransientError, AuthError, ConfigError) as err:
                report.failure = err
                return report
            self._verified = True
        self._sent = []
        try:
            for units in self._grouped(rows, now, report).values():
                room = MAX_CONDITIONAL_ENTRIES - len(units[0][0].context)
                for start in range(0, len(units), room):
                    if not self._send(units[start : start + room], now, report):
                        return report
        finally:
            # One write per round, not per bundle: the recorder's lock is taken 40× less
            # often. Should the process die first, the rows are sent again and found.
            self.outbox.mark_sent([r.id for r in self._sent], now)
            for row in self._sent:
                report.sent[row.kind] += 1
                report.sent_beds[row.bed] += 1
        return report

    def _grouped(
        self, rows: Sequence[OutboxRow], now: float, report: RoundReport
    ) -> dict[tuple[str, ...], list[Unit]]:
        """Rows as resources, by shared context, in the order they were recorded."""
        lookup = RecordLookup(self.outbox, self.naming)
        groups: dict[tuple[str, ...], dict[tuple[str, str, str], Unit]] = {}
        for row in rows:
            try:
                item = prepare(row, lookup, self.naming)
            except NotSendableError as err:
                self._dead([row], now, str(err), report)
                continue
            groups.setdefault(item.group, {}).setdefault(item.key, []).append(item)
        return {group: list(units.values()) for group, units in groups.items()}

    def _send(self, units: Sequence[Unit], now: float, report: RoundReport) -> bool:
        """Send one bundle; False when the round must stop."""
        context = units[0][0].context
        (bundle,) = bundles([u[0].mapped for u in units], context=context)
        try:
            outcomes = self.client.post_bundle(bundle)
        except RejectedError as err:
            if len(units) == 1:
                self._dead([i.row for i in units[0]], now, str(err), report)
                return True
            # All or nothing: find the culprit(s) by sending each row alone.
            return all(self._send([unit], now, report) for unit in units)
        except (TransientError, AuthError, ConfigError) as err:
            self._failed([i.row for u in units for i in u], now, err, report)
            return False
        sent: list[OutboxRow] = []
        for unit, outcome in zip(units, outcomes[len(context) :], strict=True):
            rows = [i.row for i in unit]
            if outcome.error is None:
                sent += rows
            elif isinstance(outcome.error, RejectedError):
                self._dead(rows, now, str(outcome.error), report)
            else:
                self._failed(rows, now, outcome.error, report)
        self._sent += sent
        return True

    def _dead(self, rows: Sequence[OutboxRow], now: float, error: str, report: RoundReport) -> None:
        self.outbox.mark_dead([r.id for r in rows], now, error)
        for row in rows:
            report.dead[row.bed] += 1

    def _failed(
        self, rows: Sequence[OutboxRow], now: float, error: SyncError, report: RoundReport
    ) -> None:
        wait = error.retry_after if isinstance(error, TransientError) else None
        self.outbox.mark_failed(rows, now, str(error), min_delay=wait or 0.0)
        for row in rows:
            report.failed_beds[row.bed] = str(error)
        report.failure = report.failure or error
