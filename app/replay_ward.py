"""A ward of recorded ECGs: one bed per WFDB record, replayed in real time.

Beds are labelled R1, R2, ...; each shows its record's de-identified subject (database, record,
age and sex from the header) instead of a patient, and in its detail view the record's
reference annotations in rows under the primary lead: rhythm changes, then beat labels.
Analysis can add its own row to a bed with :meth:`app.model.ward.Bed.add_mark_source`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.model.ward import Ward
from app.signals.marks import MarkSource
from app.signals.stream import DeviceStream
from app.station import Station
from drivers.base import Mark
from drivers.replay import ReplayMonitor, ReplaySource, load_source
from drivers.replay.source import record_path
from drivers.sim.host import SimulationHost

MAX_RECORDS = 32
# The folder a record sits in names its database (PhysioNet's short names).
DATABASES = {"mitdb": "MIT-BIH", "cinc2017": "CinC 2017"}
RHYTHM_PREFIX = "("  # WFDB rhythm names: "(N", "(AFIB", "(VFL", ...
REFERENCE_COLOUR = "#f2f2f2"
RHYTHM_COLOUR = "#ffc46b"


@dataclass(frozen=True, slots=True)
class ReplayConfig:
    records: tuple[Path, ...]
    loop: bool = False
    speed: float | None = 1.0  # None: as fast as possible (tests, analysis off-line)


def replay_bed_labels(n: int) -> list[str]:
    return [f"R{i + 1}" for i in range(n)]


def subject_text(path: Path, source: ReplaySource) -> str:
    """E.g. "MIT-BIH 208 · 23 F": the database, the record, and the age and sex the header's
    first comment gives (MIT-BIH style, "23 F 2546 N/A x1"), where it gives them."""
    database = DATABASES.get(record_path(path).parent.name.lower())
    name = f"{database} {source.name}" if database else source.name
    fields = source.comments[0].split() if source.comments else []
    age = fields[0] if fields and fields[0].isdigit() else ""
    sex = fields[1].upper() if len(fields) > 1 and fields[1].upper() in ("M", "F") else ""
    person = " ".join(part for part in (age, sex) if part)
    return f"{name}  ·  {person}" if person else name


def reference_sources(stream: DeviceStream, channel: str) -> list[MarkSource]:
    """The rows of a replayed record's reference annotations: rhythm changes, then beats and
    the other single-symbol annotations (flutter waves, noise, artefacts)."""

    def rhythm(t_from: float, t_to: float) -> list[Mark]:
        return [m for m in stream.marks(channel, t_from, t_to) if _is_rhythm(m)]

    def beats(t_from: float, t_to: float) -> list[Mark]:
        return [m for m in stream.marks(channel, t_from, t_to) if not _is_rhythm(m)]

    return [
        MarkSource(channel, "Rhythm", RHYTHM_COLOUR, rhythm),
        MarkSource(channel, "Ref", REFERENCE_COLOUR, beats),
    ]


def _is_rhythm(mark: Mark) -> bool:
    return mark.label.startswith(RHYTHM_PREFIX)


def load_sources(records: tuple[Path, ...]) -> list[ReplaySource]:
    """Every record read before anything starts; the first that cannot be raises
    :class:`drivers.wfdb.header.WfdbFormatError` with the reason."""
    if not 1 <= len(records) <= MAX_RECORDS:
        raise ValueError(f"replay takes 1 to {MAX_RECORDS} records, got {len(records)}")
    return [load_source(path) for path in records]


def build_replay_station(
    config: ReplayConfig, *, epoch: float | None = None, clock: Callable[[], float] = time.time
) -> Station:
    """A station with one replay bed per record, sharing one pacing thread."""
    sources = load_sources(config.records)
    labels = replay_bed_labels(len(sources))
    station = Station(Ward("Recorded ECG replay", labels), clock)
    host = SimulationHost("replay-ward")
    for label, path, source in zip(labels, config.records, sources, strict=True):
        driver = ReplayMonitor(
            source, speed=config.speed, loop=config.loop, epoch=epoch, clock=clock, host=host
        )
        stream = station.attach(label, driver)
        bed = station.ward.bed(label)
        bed.set_subject(subject_text(path, source))
        if source.annotated:
            for mark_source in reference_sources(stream, source.primary.key):
                bed.add_mark_source(mark_source)
    return station
