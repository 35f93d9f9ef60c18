"""The EHR sync on screen, against the real FHIR server: the top-bar line says how the sync
stands, and the details window lists what the EHR refused, with its message, to send again."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6 import QtCore, QtWidgets
from pytestqt.qtbot import QtBot

from app.sync.client import FhirClient
from app.sync.outbox import Outbox
from app.sync.service import SyncService
from app.sync.status_text import Level
from tests.fakes.sync_record import (
    POISON,
    T0,
    BedRef,
    add_bed,
    alarm,
    enqueue,
    fill_vitals,
    make_record,
    poisoned_alarm_observation,
)
from tests.fhir_server.fixture import FhirServer
from tests.integration.test_sync_service import NAMING
from widgets.sync_panel import SyncIndicator

BED = BedRef("ICU-1", "A1234567", "SN-1")


@pytest.fixture
def service(tmp_path: Path, fhir_server: FhirServer) -> Iterator[SyncService]:
    path = tmp_path / "record.db"
    db = make_record(path)
    add_bed(db, BED)
    fill_vitals(db, BED, 1)
    db.close()
    outbox = Outbox.open(path)
    client = FhirClient(fhir_server.base_url, timeout=5.0)
    sync = SyncService(outbox, client, NAMING, clock=lambda: T0 + 120)
    yield sync
    client.close()
    outbox.close()


def cell(table: QtWidgets.QTableWidget, row: int, column: int) -> str:
    item = table.item(row, column)
    assert item is not None, (row, column)
    return item.text()


def level(indicator: SyncIndicator) -> Level:
    """The indicator's level now (a function, so the type checker does not carry an
    earlier assertion over a refresh)."""
    return indicator.level


def test_without_a_sync_the_bar_says_it_is_off(qtbot: QtBot) -> None:
    indicator = SyncIndicator(None)
    qtbot.addWidget(indicator)
    assert indicator.text() == "EHR SYNC OFF"
    assert indicator.level is Level.OFF
    assert not indicator.isEnabled()


def test_the_bar_and_the_details_follow_the_sync(
    qtbot: QtBot, service: SyncService, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("app.sync.payloads.alarm_observation", poisoned_alarm_observation)
    indicator = SyncIndicator(service)
    qtbot.addWidget(indicator)
    service.tick()  # one round, as the sync thread would
    indicator.refresh(time.time())
    assert indicator.text().startswith("EHR OK · last ")
    assert level(indicator) is Level.OK
    db = make_record(tmp_path / "record.db")  # the recorder queues a refused alarm
    bad = enqueue(db, "alarm", {**alarm(BED, T0 + 20), "detail": POISON})
    db.close()
    service.tick()
    service.tick()  # the refused bundle's rows one by one: only the bad one is refused
    indicator.refresh(time.time())
    assert "1 refused" in indicator.text()
    assert level(indicator) is Level.WARNING
    qtbot.mouseClick(indicator, QtCore.Qt.MouseButton.LeftButton)
    dialog = indicator.dialog
    assert dialog is not None
    assert dialog.dead.rowCount() == 1
    row = [cell(dialog.dead, 0, c) for c in range(dialog.dead.columnCount())]
    assert row[:3] == [str(bad), "ICU-1", "alarm"]
    assert "vigilPoison" in row[4]  # the server's own message
    assert [cell(dialog.beds, 0, c) for c in range(3)] == ["ICU-1", "ok", "0"]
    dialog.dead.selectRow(0)
    qtbot.mouseClick(dialog.resend, QtCore.Qt.MouseButton.LeftButton)
    assert dialog.dead.rowCount() == 0
    assert service.outbox.backlog() == {"ICU-1": 1}
    dialog.close()
