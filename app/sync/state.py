"""The sync's health per bed and for the station, as an immutable snapshot.

A bed (or the station) is ``ok`` while its last attempt succeeded, ``retrying`` after a
failure, and ``failing`` once it has failed continuously (no delivery at all) for
:data:`FAILING_AFTER`; any delivery ends the failure. A bed with a backlog but no attempt of
its own shares the station's failure (e.g. the EHR is unreachable).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from app.sync.delivery import RoundReport

FAILING_AFTER = 300.0  # s of continuous failure before the technical alarm
STATION = ""


class Health(enum.Enum):
    OK = "ok"
    RETRYING = "retrying"
    FAILING = "failing"


@dataclass(frozen=True, slots=True)
class SyncStatus:
    bed: str  # "" for the station
    health: Health = Health.OK
    backlog: int = 0  # rows waiting to be sent
    dead_letters: int = 0  # rows the EHR refused
    last_success: float | None = None
    last_error: str = ""  # since the last success
    failing_since: float | None = None


@dataclass(frozen=True, slots=True)
class SyncState:
    time: float
    station: SyncStatus
    beds: Mapping[str, SyncStatus] = field(default_factory=lambda: MappingProxyType({}))
    running: bool = False

    def for_bed(self, bed: str) -> SyncStatus:
        return self.beds.get(bed) or SyncStatus(bed)


@dataclass
class _Track:
    last_success: float | None = None
    last_error: str = ""
    since: float | None = None

    def success(self, now: float) -> None:
        self.last_success, self.last_error, self.since = now, "", None

    def failure(self, now: float, error: str) -> None:
        self.last_error = error
        self.since = now if self.since is None else self.since


class SyncTracker:
    """Turns round reports into :class:`SyncState`; used by the sync thread only."""

    def __init__(self, last_sent: Mapping[str, float] | None = None) -> None:
        self._station = _Track(max(last_sent.values(), default=None) if last_sent else None)
        self._beds = {bed: _Track(t) for bed, t in (last_sent or {}).items() if bed}

    def record(self, report: RoundReport, now: float) -> None:
        """Successes first, then the failure that ended the round."""
        if report.sent:
            self._station.success(now)
        for bed in report.sent_beds:
            self._bed(bed).success(now)
        for bed, error in report.failed_beds.items():
            self._bed(bed).failure(now, error)
        if report.failure is not None:
            self._station.failure(now, str(report.failure))

    def state(
        self, now: float, backlog: Mapping[str, int], dead: Mapping[str, int], running: bool
    ) -> SyncState:
        station = self._status(
            STATION, self._station, now, sum(backlog.values()), sum(dead.values())
        )
        beds = {}
        for bed in sorted(set(backlog) | set(dead) | set(self._beds)):
            if not bed:
                continue
            track = self._bed(bed)
            if backlog.get(bed) and track.since is None and self._station.since is not None:
                shared = track.last_success is None or track.last_success < self._station.since
                track = replace(self._station, last_success=track.last_success) if shared else track
            beds[bed] = self._status(bed, track, now, backlog.get(bed, 0), dead.get(bed, 0))
        return SyncState(now, station, MappingProxyType(beds), running)

    def _bed(self, bed: str) -> _Track:
        return self._beds.setdefault(bed, _Track())

    @staticmethod
    def _status(bed: str, track: _Track, now: float, backlog: int, dead: int) -> SyncStatus:
        if track.since is None:
            health = Health.OK
        elif now - track.since >= FAILING_AFTER:
            health = Health.FAILING
        else:
            health = Health.RETRYING
        return SyncStatus(
            bed, health, backlog, dead, track.last_success, track.last_error, track.since
        )
