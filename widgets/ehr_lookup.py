"""Finding a patient in the EHR from the admit dialog: by MRN or name, off the GUI thread.

The search runs on a thread of its own (the EHR may be slow); its answer comes back through
a queued signal. A failure is shown in words, never hidden; choosing a match fills the form,
which the nurse still checks and confirms.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6 import QtCore, QtWidgets

from app.sync.errors import SyncError
from app.sync.lookup import PatientMatch

# (mrn, name) -> matches; raises SyncError (or ValueError for an empty query) with a message
Search = Callable[[str, str], list[PatientMatch]]


class _Answer(QtCore.QObject):
    done = QtCore.Signal(object, str)  # matches (list) or None, error text


class EhrLookup(QtWidgets.QGroupBox):
    chosen = QtCore.Signal(object)  # PatientMatch

    def __init__(self, search: Search, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Find in the EHR", parent)
        self._search = search
        self._thread: threading.Thread | None = None
        self._answer = _Answer(self)
        self._answer.done.connect(self._show)
        self.query = QtWidgets.QLineEdit()
        self.query.setPlaceholderText("MRN, or family name")
        self.find_button = QtWidgets.QPushButton("Search")
        self.find_button.clicked.connect(self.start_search)
        self.query.returnPressed.connect(self.start_search)
        self.results = QtWidgets.QListWidget()
        self.results.setMaximumHeight(120)
        self.results.itemActivated.connect(self._choose)
        self.status = QtWidgets.QLabel("")
        self.status.setWordWrap(True)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.query, 1)
        row.addWidget(self.find_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.results)
        layout.addWidget(self.status)
        self.matches: list[PatientMatch] = []

    def start_search(self) -> None:
        text = self.query.text().strip()
        if not text or self.searching:
            return
        # An MRN has a digit; a name has none.
        mrn, name = (text, "") if any(c.isdigit() for c in text) else ("", text)
        self.find_button.setEnabled(False)
        self.status.setText("Searching the EHR…")
        self._thread = threading.Thread(
            target=self._run, args=(mrn, name), name="ehr-lookup", daemon=True
        )
        self._thread.start()

    @property
    def searching(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float) -> bool:
        """For closing (and tests): True once no search is running."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.searching

    def _run(self, mrn: str, name: str) -> None:
        try:
            found = self._search(mrn, name)
        except (SyncError, ValueError) as exc:
            self._answer.done.emit(None, str(exc))
            return
        self._answer.done.emit(found, "")

    def _show(self, found: list[PatientMatch] | None, error: str) -> None:
        self.find_button.setEnabled(True)
        self.results.clear()
        self.matches = found or []
        if found is None:
            self.status.setText(f"EHR search failed: {error}")
            return
        for match in self.matches:
            born = match.date_of_birth.isoformat() if match.date_of_birth else "born ?"
            self.results.addItem(f"{match.family_name.upper()}, {match.given_name} · "
                                 f"MRN {match.mrn or '?'} · {born}")  # fmt: skip
        self.status.setText(f"{len(self.matches)} found; double-click one to fill the form"
                            if self.matches else "No patient found in the EHR")  # fmt: skip

    def _choose(self, item: QtWidgets.QListWidgetItem) -> None:
        self.chosen.emit(self.matches[self.results.row(item)])
