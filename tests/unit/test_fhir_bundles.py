"""Conditional-create entries and bundles of at most 8 entries (Medplum's cap)."""

from __future__ import annotations

import datetime as dt

import pytest
from fhir.resources.R4B.bundle import Bundle

from app.model.patient import Patient, PatientCategory, Sex
from app.sync.bundles import (
    MAX_CONDITIONAL_ENTRIES,
    bundles,
    conditional_entry,
    conditional_reference,
    search_token,
)
from app.sync.naming import FhirNaming
from app.sync.resources import (
    Mapped,
    ObservationContext,
    device_resource,
    local_reference,
    patient_resource,
    vital_observation,
)
from drivers.base import DeviceInfo, Quality, Reading

NAMING = FhirNaming(station_id="station-7", mrn_system="urn:oid:1.2.3")
PATIENT = patient_resource(
    Patient("Doe", "Jane", "A1234567", dt.date(1970, 1, 2), Sex.FEMALE, PatientCategory.ADULT),
    NAMING,
)
DEVICE = device_resource(DeviceInfo("ble", "Acme", "V3", "SN-1", simulated=False), NAMING)
CTX = ObservationContext("ICU-1", local_reference(PATIENT), local_reference(DEVICE), "SN-1", False)


def observations(n: int) -> list[Mapped]:
    return [
        vital_observation(Reading("HR", 60 + i, "/min", 1e9 + i, Quality.VALID), CTX, NAMING)
        for i in range(n)
    ]


def test_an_entry_is_a_post_that_creates_only_if_none_exists() -> None:
    entry = conditional_entry(PATIENT)
    assert entry["fullUrl"] == PATIENT.full_url
    assert entry["resource"] is PATIENT.resource
    assert entry["request"] == {
        "method": "POST",
        "url": "Patient",
        "ifNoneExist": "identifier=urn:oid:1.2.3|A1234567",
    }


def test_search_tokens_are_escaped_and_encoded() -> None:
    assert search_token("urn:oid:1.2", "A-1") == "urn:oid:1.2|A-1"
    assert search_token("http://x.org/s", "a,b|c$d\\e") == (
        "http://x.org/s|a%5C%2Cb%5C|c%5C%24d%5C%5Ce"
    )
    assert search_token("urn:x", "a b&c=d#e") == "urn:x|a%20b%26c%3Dd%23e"


def test_a_conditional_reference_names_the_identifier() -> None:
    assert conditional_reference(DEVICE) == {
        "reference": f"Device?identifier={NAMING.device_id_system}|{DEVICE.identifier[1]}"
    }


@pytest.mark.parametrize("count", [1, 5, 6, 7, 12, 20])
def test_bundles_hold_at_most_8_entries_and_every_item_once(count: int) -> None:
    items = observations(count)
    made = bundles(items, context=[PATIENT, DEVICE])
    assert len(made) == -(-count // 6)  # 6 items fit beside the 2 context entries
    sent = []
    for bundle in made:
        Bundle.model_validate(bundle)
        entries = bundle["entry"]
        assert bundle["type"] == "transaction"
        assert len(entries) <= MAX_CONDITIONAL_ENTRIES == 8
        # The context leads every bundle, so its urn:uuid references resolve inside it.
        assert [e["fullUrl"] for e in entries[:2]] == [PATIENT.full_url, DEVICE.full_url]
        sent += [e["fullUrl"] for e in entries[2:]]
    assert sent == [m.full_url for m in items]


def test_bundles_without_context_and_as_batch() -> None:
    made = bundles(observations(17), bundle_type="batch")
    assert [len(b["entry"]) for b in made] == [8, 8, 1]
    assert {b["type"] for b in made} == {"batch"}
    assert [len(b["entry"]) for b in bundles(observations(9), max_entries=3)] == [3, 3, 3]


def test_context_alone_is_one_bundle_and_nothing_is_none() -> None:
    assert [len(b["entry"]) for b in bundles([], context=[PATIENT, DEVICE])] == [2]
    assert bundles([]) == []


def test_impossible_bundles_are_refused() -> None:
    with pytest.raises(ValueError, match="no room"):
        bundles(observations(1), context=[PATIENT, DEVICE], max_entries=2)
    with pytest.raises(ValueError, match="twice"):
        bundles([*observations(2), *observations(1)])
    with pytest.raises(ValueError, match="twice"):
        bundles(observations(1), context=[PATIENT, PATIENT])
