"""Admit a patient to a bed. Input is checked by the domain rules before anything is saved;
a bad form keeps the dialog open, marks the fields and says what is wrong in words."""

from __future__ import annotations

import datetime as dt

from PySide6 import QtCore, QtWidgets

from app.model.patient import (
    AdmissionError,
    AdmissionForm,
    PatientCategory,
    Sex,
    validate_admission,
)
from app.model.ward import Ward
from app.sync.lookup import PatientMatch
from widgets.ehr_lookup import EhrLookup, Search
from widgets.form_parts import accept_cancel, error_label

FIELDS = ("family_name", "given_name", "mrn", "date_of_birth", "sex", "category")


class AdmitDialog(QtWidgets.QDialog):
    def __init__(
        self,
        ward: Ward,
        bed_label: str,
        *,
        today: dt.date | None = None,
        search: Search | None = None,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        """``search``: a patient search in the EHR (None: no EHR configured)."""
        super().__init__(parent)
        self.setWindowTitle(f"Admit patient to {bed_label}")
        self.setModal(True)
        self.setMinimumWidth(460)
        self._ward = ward
        self._bed_label = bed_label
        self._today = today
        form = QtWidgets.QFormLayout()
        self.family_name = QtWidgets.QLineEdit()
        self.given_name = QtWidgets.QLineEdit()
        self.mrn = QtWidgets.QLineEdit()
        self.mrn.setPlaceholderText("e.g. A1234567")
        self.date_of_birth = QtWidgets.QLineEdit()
        self.date_of_birth.setPlaceholderText("YYYY-MM-DD")
        self.sex = QtWidgets.QComboBox()
        self.sex.addItem("— choose —", "")
        for sex in Sex:
            self.sex.addItem(sex.value.capitalize(), sex.value)
        self.category = QtWidgets.QComboBox()
        for category in PatientCategory:
            self.category.addItem(category.value.capitalize(), category.value)
        form.addRow("Family name *", self.family_name)
        form.addRow("Given name *", self.given_name)
        form.addRow("MRN *", self.mrn)
        form.addRow("Date of birth *", self.date_of_birth)
        form.addRow("Sex *", self.sex)
        form.addRow("Category *", self.category)
        self.errors = error_label("Admission errors")
        self.buttons, self.admit_button, _ = accept_cancel(self, "Admit", self.try_admit)
        layout = QtWidgets.QVBoxLayout(self)
        self.lookup = EhrLookup(search, self) if search is not None else None
        if self.lookup is not None:
            self.lookup.chosen.connect(self.fill_from)
            layout.addWidget(self.lookup)
        layout.addLayout(form)
        layout.addWidget(self.errors)
        layout.addWidget(self.buttons)

    def fill_from(self, match: PatientMatch) -> None:
        """The EHR's record of the patient into the form (checked again on Admit)."""
        self.family_name.setText(match.family_name)
        self.given_name.setText(match.given_name)
        self.mrn.setText(match.mrn or "")
        if match.date_of_birth is not None:
            self.date_of_birth.setText(match.date_of_birth.isoformat())
        if match.sex is not None:
            self.sex.setCurrentIndex(self.sex.findData(match.sex.value))

    def done(self, result: int) -> None:
        if self.lookup is not None:
            self.lookup.wait(1.0)  # a search in flight ends at the client's time-out
        super().done(result)

    def form(self) -> AdmissionForm:
        return AdmissionForm(
            family_name=self.family_name.text(),
            given_name=self.given_name.text(),
            mrn=self.mrn.text(),
            date_of_birth=self.date_of_birth.text(),
            sex=str(self.sex.currentData()),
            category=str(self.category.currentData()),
        )

    def try_admit(self) -> bool:
        """Validate and admit; on bad input show why, keep the dialog open, save nothing."""
        today = self._today or dt.date.today()
        try:
            patient = validate_admission(self.form(), today, self._ward.bed_of_mrn)
            self._ward.admit(self._bed_label, patient)
        except AdmissionError as exc:
            self._show_errors(exc.errors)
            return False
        except ValueError as exc:  # the ward refused (bed occupied meanwhile, MRN elsewhere)
            self._show_errors({"form": str(exc)})
            return False
        self.accept()
        return True

    def _show_errors(self, errors: dict[str, str]) -> None:
        for name in FIELDS:
            widget = getattr(self, name)
            widget.setProperty("invalid", name in errors)
            widget.style().unpolish(widget)
            widget.style().polish(widget)
        self.errors.setText("\n".join(f"• {message}" for message in errors.values()))
        self.errors.show()
        first = next((getattr(self, n) for n in FIELDS if n in errors), None)
        if first is not None:
            first.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)
