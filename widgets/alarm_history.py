"""The alarm history: every entry of the alarm log, newest first, for one bed or the station.

It reads the log by cursor, so each refresh adds only what is new; a gap in the log (entries
lost to its capacity) is shown as a row of its own, never skipped quietly.
"""

from __future__ import annotations

import time

from PySide6 import QtCore, QtWidgets

from app.alarms.log import AlarmLog, LogEntry
from app.alarms.visual import MARK

COLUMNS = ("Time", "Bed", "Event", "Priority", "Alarm", "Who", "Detail")
MAX_ROWS = 500  # newest kept on screen; the log itself keeps more


def entry_cells(entry: LogEntry) -> tuple[str, ...]:
    stamp = time.strftime("%H:%M:%S", time.localtime(entry.t))
    priority = f"{MARK[entry.priority]} {entry.priority.text}" if entry.priority else ""
    kind = f" ({entry.kind.value})" if entry.kind else ""
    return (stamp, entry.bed or "station", entry.event, priority + kind,
            entry.text or entry.code, entry.user, entry.detail)  # fmt: skip


class AlarmHistory(QtWidgets.QTableWidget):
    """Double-clicking an entry of a bed asks for that moment (``moment_requested``), which
    the station answers by opening the bed's full disclosure there."""

    moment_requested = QtCore.Signal(str, float)

    def __init__(
        self, log: AlarmLog, bed: str | None = None, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self._log = log
        self._bed = bed
        self._cursor = 0
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        for column in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(column, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.setAccessibleName("alarm history")
        self.cellDoubleClicked.connect(self._on_double_click)
        self.refresh()

    def refresh(self) -> None:
        entries, self._cursor, missed = self._log.since(self._cursor)
        if missed:
            self._prepend(("", "", "LOG GAP", "", f"{missed} older entries not shown", "", ""))
        for entry in entries:
            if self._bed is None or entry.bed == self._bed:
                self._prepend(entry_cells(entry), (entry.bed, entry.t))
        while self.rowCount() > MAX_ROWS:
            self.removeRow(self.rowCount() - 1)

    def _prepend(self, cells: tuple[str, ...], moment: tuple[str, float] | None = None) -> None:
        self.insertRow(0)
        for column, text in enumerate(cells):
            item = QtWidgets.QTableWidgetItem(text)
            item.setFlags(item.flags() & ~QtCore.Qt.ItemFlag.ItemIsEditable)
            if moment is not None:
                item.setData(QtCore.Qt.ItemDataRole.UserRole, moment)
            self.setItem(0, column, item)

    def moment(self, row: int) -> tuple[str, float] | None:
        """The bed and time of a row's entry (None for a gap row or a station-wide one)."""
        item = self.item(row, 0)
        data = item.data(QtCore.Qt.ItemDataRole.UserRole) if item is not None else None
        if not data or not data[0]:
            return None
        return str(data[0]), float(data[1])

    def _on_double_click(self, row: int, _column: int) -> None:
        moment = self.moment(row)
        if moment is not None:
            self.moment_requested.emit(*moment)

    def row_texts(self, row: int) -> list[str]:
        items = (self.item(row, c) for c in range(self.columnCount()))
        return [item.text() if item is not None else "" for item in items]


class HistoryDialog(QtWidgets.QDialog):
    """The station's (or one bed's) alarm history in a window of its own."""

    def __init__(
        self, log: AlarmLog, bed: str | None = None, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Alarm history — {bed or 'station'}")
        self.resize(1000, 600)
        column = QtWidgets.QVBoxLayout(self)
        self.table = AlarmHistory(log, bed, self)
        column.addWidget(self.table)
        close = QtWidgets.QPushButton("Close")
        close.clicked.connect(self.accept)
        column.addWidget(close, 0, QtCore.Qt.AlignmentFlag.AlignRight)
