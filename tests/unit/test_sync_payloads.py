"""Outbox rows in the producer's formats become valid R4 resources (checked with
fhir.resources' R4B models) with the right context; rows that cannot are refused."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.observation import Observation
from sqlite_utils import Database

from app.sync.naming import FhirNaming
from app.sync.outbox import Outbox
from app.sync.payloads import Item, NotSendableError, RecordLookup, prepare
from tests.fakes.sync_record import (
    MRN_SYSTEM,
    T0,
    BedRef,
    add_bed,
    alarm,
    blood_pressure,
    enqueue,
    make_record,
    news2,
    vital,
)

NAMING = FhirNaming(station_id="station-7", mrn_system=MRN_SYSTEM)
REAL = BedRef("ICU-1", "A1234567", "SN-1")
SIM = BedRef("ICU-2", "B7654321", "SIM-2")


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[tuple[Database, Outbox]]:
    db = make_record(tmp_path / "r.db")
    add_bed(db, REAL)
    add_bed(db, SIM, simulated=True)
    box = Outbox.open(tmp_path / "r.db", rng=random.Random(1))
    yield db, box
    box.close()
    db.close()


def item(db: Database, box: Outbox, kind: str, payload: dict[str, Any]) -> Item:
    enqueue(db, kind, payload)
    row = box.pending(T0, 1000)[-1]
    return prepare(row, RecordLookup(box, NAMING), NAMING)


@pytest.mark.parametrize(
    ("kind", "payload", "context"),
    [
        ("vital", vital(REAL, "SPO2", 96.4, "%", T0), ("Patient", "Device")),
        ("blood_pressure", blood_pressure(REAL, T0), ("Patient", "Device")),
        ("news2", news2(REAL, T0), ("Patient",)),
        ("alarm", alarm(REAL, T0), ("Patient",)),
    ],
)
def test_each_kind_is_a_valid_observation_with_its_context(
    outbox: tuple[Database, Outbox], kind: str, payload: dict[str, Any], context: tuple[str, ...]
) -> None:
    made = item(*outbox, kind, payload)
    Observation.model_validate(made.mapped.resource)
    assert tuple(m.resource_type for m in made.context) == context
    assert made.mapped.resource["subject"] == {"reference": made.context[0].full_url}
    assert "meta" not in made.mapped.resource or "security" not in made.mapped.resource["meta"]


def test_data_from_a_simulated_bed_is_labelled_test_data(outbox: tuple[Database, Outbox]) -> None:
    for kind, payload in [("vital", vital(SIM, "HR", 80, "/min", T0)), ("news2", news2(SIM, T0))]:
        labels = item(*outbox, kind, payload).mapped.resource["meta"]["security"]
        assert [x["code"] for x in labels] == ["HTEST"]


def test_the_same_reading_twice_is_the_same_resource(outbox: tuple[Database, Outbox]) -> None:
    a = item(*outbox, "vital", vital(REAL, "HR", 80, "/min", T0))
    b = item(*outbox, "vital", vital(REAL, "HR", 81, "/min", T0))
    assert (a.key, a.group) == (b.key, b.group)


@pytest.mark.parametrize(
    ("kind", "payload", "reason"),
    [
        ("vital", vital(BedRef("X", "NOPE0000", "SN-1"), "HR", 1, "/min", T0), "not in the record"),
        ("vital", vital(BedRef("X", REAL.mrn, "GONE"), "HR", 1, "/min", T0), "device 'GONE'"),
        ("vital", vital(REAL, "ETCO2", 30, "mm[Hg]", T0), "no FHIR mapping"),
        ("vital", {"bed": "ICU-1"}, "cannot be sent"),
        ("alarm", alarm(REAL, T0, event="ack"), "is not sent"),
        ("blood_pressure", blood_pressure(REAL, T0, ()), "NIBP measurement"),
    ],
)
def test_rows_that_cannot_be_resources_are_refused(
    outbox: tuple[Database, Outbox], kind: str, payload: dict[str, Any], reason: str
) -> None:
    with pytest.raises(NotSendableError, match=reason):
        item(*outbox, kind, payload)
