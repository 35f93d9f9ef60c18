"""The admit dialog's lookup finds the EHR's patients by MRN and by name."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from app.model.patient import Patient, PatientCategory, Sex
from app.sync.bundles import conditional_entry
from app.sync.client import FhirClient
from app.sync.lookup import PatientMatch, find_patients
from app.sync.naming import FhirNaming
from app.sync.resources import patient_resource
from tests.fakes.sync_record import MRN_SYSTEM
from tests.fhir_server.fixture import FhirServer

NAMING = FhirNaming(station_id="station-7", mrn_system=MRN_SYSTEM)
PEOPLE = [
    Patient("Doe", "Jane", "A1234567", dt.date(1970, 1, 2), Sex.FEMALE, PatientCategory.ADULT),
    Patient("Dodd", "John", "B7654321", dt.date(1951, 3, 4), Sex.MALE, PatientCategory.ADULT),
    Patient(
        "Smith", "Ann", "C1111111", dt.date(2020, 5, 6), Sex.FEMALE, PatientCategory.PAEDIATRIC
    ),
]


@pytest.fixture
def client(fhir_server: FhirServer) -> Iterator[FhirClient]:
    entries = [conditional_entry(patient_resource(p, NAMING)) for p in PEOPLE]
    seeder = FhirClient(fhir_server.base_url)
    seeder.post_bundle({"resourceType": "Bundle", "type": "transaction", "entry": entries})
    seeder.close()
    client = FhirClient(fhir_server.base_url)
    yield client
    client.close()


def test_by_mrn(client: FhirClient) -> None:
    (jane,) = find_patients(client, mrn="A1234567", mrn_system=MRN_SYSTEM)
    assert jane == PatientMatch(
        jane.fhir_id, "A1234567", "Doe", "Jane", dt.date(1970, 1, 2), Sex.FEMALE
    )
    assert jane.fhir_id
    assert [m.mrn for m in find_patients(client, mrn="B7654321")] == ["B7654321"]
    assert find_patients(client, mrn="Z0000000", mrn_system=MRN_SYSTEM) == []


def test_by_name(client: FhirClient) -> None:
    found = sorted((m.family_name, m.mrn) for m in find_patients(client, name="Do"))
    assert found == [("Dodd", "B7654321"), ("Doe", "A1234567")]
    assert [m.given_name for m in find_patients(client, name="smith")] == ["Ann"]
    assert find_patients(client, name="Nobody") == []
    with pytest.raises(ValueError, match="MRN or a name"):
        find_patients(client, name="  ")
