"""Review of one bed from the record: its trends, full disclosure, and its alarm log.

The dialog opens a reader of its own (never the writer's connection) and closes it when it
closes. Double-clicking an entry of the alarm log shows that moment in full disclosure. A
missing record, or a bed with nothing recorded, is said in words in the dialog.
"""

from __future__ import annotations

import math
import sqlite3
import time
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from app.alarms.visual import MARK
from app.export import export
from app.export_request import ExportError, ExportRequest, When
from app.storage.reader import RecordError
from app.storage.review import ReviewReader, priority_of
from app.storage.schema import SchemaError
from widgets import theme
from widgets.disclosure_view import DisclosureView
from widgets.strip_pdf import render_strip_pdf
from widgets.trend_view import TrendView

LOG_COLUMNS = ("Time", "Event", "Priority", "Alarm")
MAX_LOG_ROWS = 5000  # newest shown; older entries are still in the record
TIME_ROLE = QtCore.Qt.ItemDataRole.UserRole


def log_cells(row: dict[str, Any]) -> tuple[str, ...]:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(row["t"])))
    priority = priority_of(row.get("priority"))
    level = f"{MARK[priority]} {priority.text}" if priority else ""
    return (stamp, str(row["event"]), level, str(row.get("text") or row.get("code") or ""))


class ReviewDialog(QtWidgets.QDialog):
    """Trends, full disclosure and the alarm log of ``bed`` in the record at ``record_path``."""

    def __init__(
        self,
        record_path: Path,
        bed: str,
        parent: QtWidgets.QWidget | None = None,
        *,
        live: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Review — {bed}")
        self.resize(1400, 860)
        self.bed = bed
        self.record_path = record_path
        self.trends: TrendView | None = None
        self.disclosure: DisclosureView | None = None
        self.tabs: QtWidgets.QTabWidget | None = None
        self.alarm_list: QtWidgets.QTableWidget | None = None
        self._reader: ReviewReader | None = None
        column = QtWidgets.QVBoxLayout(self)
        self.message = QtWidgets.QLabel(self)
        self.message.setObjectName("errors")
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        column.addWidget(self.message)
        problem = self._open(record_path, bed)
        if problem:
            self._say(problem)
            column.addStretch(1)
            self.resize(640, 180)
        else:
            column.addWidget(self._body(live), 1)
        close = QtWidgets.QPushButton("Close")
        close.clicked.connect(self.accept)
        column.addWidget(close, 0, QtCore.Qt.AlignmentFlag.AlignRight)

    def _open(self, path: Path, bed: str) -> str:
        """Open the reader; the reason there is nothing to review, or "" if there is."""
        try:
            self._reader = ReviewReader(path)
            if not self._reader.has_bed(bed):
                return f"Nothing is recorded for {bed} in {path}."
        except (RecordError, SchemaError, sqlite3.Error) as error:
            self._close_reader()
            return f"Cannot review {bed}: {error}."
        return ""

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(True)

    def _body(self, live: bool) -> QtWidgets.QWidget:
        reader = self._reader
        if reader is None:
            raise RuntimeError("the review's reader is not open")
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal, self)
        self.tabs = QtWidgets.QTabWidget(splitter)
        self.trends = TrendView(reader, self.bed, live=live)
        self.tabs.addTab(self.trends, "Trends")
        if self.bed in reader.beds():
            self.disclosure = DisclosureView(reader, self.bed)
            self.tabs.addTab(self.disclosure, "Full disclosure")
            self.print_button = QtWidgets.QPushButton("Print strip (PDF)…")
            self.print_button.clicked.connect(self._print_clicked)
            self.tabs.setCornerWidget(self.print_button)
        else:
            note = QtWidgets.QLabel(f"No waveforms are recorded for {self.bed}.")
            note.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            self.tabs.addTab(note, "Full disclosure")
        splitter.addWidget(self.tabs)
        splitter.addWidget(self._log_panel(reader))
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([1000, 400])
        return splitter

    def _log_panel(self, reader: ReviewReader) -> QtWidgets.QWidget:
        panel = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(panel)
        column.setContentsMargins(0, 0, 0, 0)
        title = QtWidgets.QLabel("Alarm log (newest first) — double-click to review")
        title.setStyleSheet(f"color: {theme.TEXT_DIM};")
        title.setWordWrap(True)
        column.addWidget(title)
        table = QtWidgets.QTableWidget(0, len(LOG_COLUMNS), panel)
        table.setHorizontalHeaderLabels(LOG_COLUMNS)
        table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        table.verticalHeader().setVisible(False)
        header = table.horizontalHeader()
        for c in range(len(LOG_COLUMNS) - 1):
            header.setSectionResizeMode(c, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        table.setAccessibleName("alarm log")
        rows = reader.alarm_log(self.bed, -math.inf, math.inf)
        newest = rows[::-1][:MAX_LOG_ROWS]
        table.setRowCount(len(newest))
        for r, row in enumerate(newest):
            for c, text in enumerate(log_cells(row)):
                item = QtWidgets.QTableWidgetItem(text)
                item.setData(TIME_ROLE, float(row["t"]))
                table.setItem(r, c, item)
        table.cellDoubleClicked.connect(self._on_log_double_click)
        self.alarm_list = table
        column.addWidget(table, 1)
        if len(rows) > MAX_LOG_ROWS:
            more = QtWidgets.QLabel(f"{len(rows) - MAX_LOG_ROWS} older entries not listed")
            more.setStyleSheet(f"color: {theme.TEXT_DIM};")
            column.addWidget(more)
        return panel

    def log_time(self, row: int) -> float:
        """The time of the alarm-log entry in ``row`` of the list."""
        if self.alarm_list is None:
            raise IndexError(row)
        item = self.alarm_list.item(row, 0)
        if item is None:
            raise IndexError(row)
        return float(item.data(TIME_ROLE))

    def _on_log_double_click(self, row: int, _column: int) -> None:
        self.jump_to(self.log_time(row))

    def _print_clicked(self) -> None:
        self.print_strip()  # the button's "checked" flag is no file name

    def print_strip(self, out: Path | None = None) -> Path | None:
        """The 10 s starting at the full-disclosure window as a PDF strip (25 mm/s,
        10 mm/mV); asks where to save it unless ``out`` is given. The path, or None."""
        if self.disclosure is None:
            return None
        if out is None:
            name, _ = QtWidgets.QFileDialog.getSaveFileName(
                self, "Print strip", f"{self.bed} strip.pdf", "PDF (*.pdf)"
            )
            if not name:
                return None
            out = Path(name)
        request = ExportRequest(self.record_path, self.bed, When(self.disclosure.start), 10,
                                "pdf", out)  # fmt: skip
        try:
            export(request, render_strip_pdf)
        except ExportError as exc:
            QtWidgets.QMessageBox.critical(self, "Print strip", str(exc))
            return None
        return out

    def jump_to(self, t: float) -> None:
        """Show the moment ``t`` in full disclosure (its tab comes to the front)."""
        if self.disclosure is None or self.tabs is None:
            return
        self.tabs.setCurrentWidget(self.disclosure)
        self.disclosure.show_time(t)

    def _close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def done(self, result: int) -> None:
        self._close_reader()
        super().done(result)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self._close_reader()
        super().closeEvent(event)
