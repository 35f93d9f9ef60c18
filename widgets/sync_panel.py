"""The EHR sync on screen: an indicator in the top bar, and a window with each bed's state
and the items the EHR refused (with the server's message), which can be sent again."""

from __future__ import annotations

import time

from PySide6 import QtCore, QtWidgets

from app.sync.service import SyncService
from app.sync.status_text import Level, clock_text, sync_line
from widgets import theme

LEVEL_STYLE = {
    Level.OFF: f"color: {theme.TEXT_DIM};",
    Level.OK: "color: #000; background: #3fae5a;",
    Level.WARNING: f"color: #000; background: {theme.WARNING};",
    Level.FAULT: f"color: #000; background: {theme.FAULT};",
}


class SyncIndicator(QtWidgets.QPushButton):
    """One line: the sync's health, backlog and refused items; a click opens the details."""

    def __init__(self, service: SyncService | None) -> None:
        super().__init__()
        self.service = service
        self.level = Level.OFF
        self.setFlat(service is None)
        self.setEnabled(service is not None)
        self.clicked.connect(self.open_details)
        self.dialog: SyncDialog | None = None
        self.refresh(time.time())

    def refresh(self, now: float) -> None:
        state = self.service.state if self.service is not None else None
        text, level = sync_line(state, now)
        if text != self.text():
            self.setText(text)
        if level is not self.level or not self.styleSheet():
            self.level = level
            self.setStyleSheet(
                f"{LEVEL_STYLE[level]} font-weight: bold; padding: 3px 10px; border-radius: 3px;"
            )

    def open_details(self) -> SyncDialog | None:
        if self.service is None:
            return None
        if self.dialog is None:
            self.dialog = SyncDialog(self.service, self)
        self.dialog.reload()
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog


class SyncDialog(QtWidgets.QDialog):
    def __init__(self, service: SyncService, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.setWindowTitle("EHR sync")
        self.resize(900, 560)
        layout = QtWidgets.QVBoxLayout(self)
        self.summary = QtWidgets.QLabel()
        layout.addWidget(self.summary)
        self.beds = _table(("Bed", "State", "Waiting", "Refused", "Last sent", "Last error"))
        layout.addWidget(self.beds, 1)
        layout.addWidget(QtWidgets.QLabel("Refused by the EHR (dead letters):"))
        self.dead = _table(("#", "Bed", "What", "Refused at", "The EHR's message"))
        layout.addWidget(self.dead, 1)
        buttons = QtWidgets.QHBoxLayout()
        self.resend = QtWidgets.QPushButton("Send the selected item again")
        self.resend.clicked.connect(self.requeue_selected)
        close = QtWidgets.QPushButton("Close")
        close.clicked.connect(self.close)
        buttons.addWidget(self.resend)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout.addLayout(buttons)

    def reload(self) -> None:
        """Read the state and the dead letters afresh."""
        state = self.service.state
        line, _ = sync_line(state, time.time())
        error = state.station.last_error
        self.summary.setText(line + (f"\nLast error: {error}" if error else ""))
        beds = sorted(state.beds.values(), key=lambda s: s.bed)
        self.beds.setRowCount(len(beds))
        for row, status in enumerate(beds):
            cells = (status.bed, status.health.value, str(status.backlog),
                     str(status.dead_letters), clock_text(status.last_success),
                     status.last_error)  # fmt: skip
            _fill(self.beds, row, cells)
        dead = self.service.dead_letters()
        self.dead.setRowCount(len(dead))
        for row, letter in enumerate(dead):
            _fill(self.dead, row, (str(letter.id), letter.bed or "station", letter.kind,
                                   clock_text(letter.dead_at), letter.error))  # fmt: skip
        self.resend.setEnabled(bool(dead))

    def requeue_selected(self) -> None:
        rows = {i.row() for i in self.dead.selectedIndexes()}
        for row in sorted(rows):
            item = self.dead.item(row, 0)
            if item is not None:
                self.service.requeue(int(item.text()))
        self.reload()


def _table(headers: tuple[str, ...]) -> QtWidgets.QTableWidget:
    table = QtWidgets.QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.horizontalHeader().setStretchLastSection(True)
    table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
    table.verticalHeader().hide()
    return table


def _fill(table: QtWidgets.QTableWidget, row: int, cells: tuple[str, ...]) -> None:
    for column, text in enumerate(cells):
        item = QtWidgets.QTableWidgetItem(text)
        item.setToolTip(text)
        align = QtCore.Qt.AlignmentFlag
        item.setTextAlignment(align.AlignLeft | align.AlignVCenter)
        table.setItem(row, column, item)
