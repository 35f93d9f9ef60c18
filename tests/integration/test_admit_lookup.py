"""The admit dialog finds the patient in the EHR (the real FHIR server), fills the form from
the chosen match, and says so in words when the EHR cannot be searched."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from PySide6 import QtCore
from pytestqt.qtbot import QtBot

from app.model.ward import Ward
from app.sync.client import FhirClient
from app.sync.lookup import PatientMatch, find_patients
from tests.fakes.sync_record import MRN_SYSTEM
from tests.fhir_server.fixture import FhirServer
from tests.integration.test_sync_lookup import client as seeded_client  # the seeded EHR
from widgets.admit_dialog import AdmitDialog

__all__ = ["seeded_client"]
BED = "Bed 01"


@pytest.fixture
def dialog(qtbot: QtBot, seeded_client: FhirClient) -> Iterator[AdmitDialog]:
    def search(mrn: str, name: str) -> list[PatientMatch]:
        return find_patients(seeded_client, mrn or None, name or None, mrn_system=MRN_SYSTEM)

    box = AdmitDialog(Ward("Test ward", [BED]), BED, today=dt.date(2026, 11, 21), search=search)
    qtbot.addWidget(box)
    yield box
    assert box.lookup is not None
    assert box.lookup.wait(5.0)


def search_for(qtbot: QtBot, box: AdmitDialog, text: str) -> None:
    lookup = box.lookup
    assert lookup is not None
    lookup.query.setText(text)
    qtbot.mouseClick(lookup.find_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: lookup.find_button.isEnabled() and not lookup.searching, timeout=10000)


def test_a_patient_found_by_mrn_fills_the_form_and_is_admitted(
    qtbot: QtBot, dialog: AdmitDialog
) -> None:
    search_for(qtbot, dialog, "A1234567")
    lookup = dialog.lookup
    assert lookup is not None
    assert lookup.results.count() == 1
    assert "DOE, Jane" in lookup.results.item(0).text()
    lookup.results.itemActivated.emit(lookup.results.item(0))
    assert (dialog.family_name.text(), dialog.given_name.text(), dialog.mrn.text()) == (
        "Doe", "Jane", "A1234567"
    )  # fmt: skip
    assert dialog.date_of_birth.text() == "1970-01-02"
    assert dialog.sex.currentData() == "female"
    assert dialog.try_admit()


def test_a_name_search_lists_every_match(qtbot: QtBot, dialog: AdmitDialog) -> None:
    search_for(qtbot, dialog, "Do")
    lookup = dialog.lookup
    assert lookup is not None
    texts = sorted(lookup.results.item(i).text() for i in range(lookup.results.count()))
    assert [t.split(",")[0] for t in texts] == ["DODD", "DOE"]
    assert lookup.status.text().startswith("2 found")


def test_an_ehr_that_cannot_be_reached_is_said(
    qtbot: QtBot, dialog: AdmitDialog, fhir_server: FhirServer
) -> None:
    fhir_server.stop()
    search_for(qtbot, dialog, "A1234567")
    lookup = dialog.lookup
    assert lookup is not None
    assert lookup.status.text().startswith("EHR search failed: ")
    assert lookup.results.count() == 0
