"""Patients, and the validation of an admission before anything is saved."""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar


class Sex(enum.Enum):
    """Administrative sex, as FHIR's AdministrativeGender."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class PatientCategory(enum.Enum):
    """Selects alarm-limit defaults and analysis settings."""

    ADULT = "adult"
    PAEDIATRIC = "paediatric"
    NEONATE = "neonate"


@dataclass(frozen=True, slots=True)
class Patient:
    family_name: str
    given_name: str
    mrn: str
    date_of_birth: dt.date
    sex: Sex
    category: PatientCategory

    @property
    def display_name(self) -> str:
        return f"{self.family_name.upper()}, {self.given_name}"

    def age_text(self, today: dt.date) -> str:
        days = (today - self.date_of_birth).days
        if days < 31:
            return f"{days} d"
        years = _whole_years(self.date_of_birth, today)
        if years < 2:
            months = (today.year - self.date_of_birth.year) * 12 + today.month
            months -= self.date_of_birth.month + (today.day < self.date_of_birth.day)
            return f"{months} mo"
        return f"{years} y"


def _whole_years(born: dt.date, today: dt.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


# Hospital MRN formats differ; this default accepts 6-20 letters and digits, with single
# hyphens inside (e.g. "A1234567", "2024-000123"). Sites configure their own pattern.
DEFAULT_MRN_PATTERN = r"[A-Z0-9](?:-?[A-Z0-9]){5,19}"
OLDEST_AGE_YEARS = 130
NEONATE_MAX_DAYS = 90  # neonatal mode also serves NICU infants past the first 28 days
PAEDIATRIC_MAX_YEARS = 18
ADULT_MIN_YEARS = 12


@dataclass(frozen=True, slots=True)
class AdmissionForm:
    """What the operator typed, unparsed."""

    family_name: str
    given_name: str
    mrn: str
    date_of_birth: str  # ISO 8601, YYYY-MM-DD
    sex: str
    category: str


class AdmissionError(ValueError):
    """Every problem with a form, by field, in words an operator can act on."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def validate_admission(
    form: AdmissionForm,
    today: dt.date,
    mrn_in_use: Callable[[str], str | None] = lambda _mrn: None,
    mrn_pattern: str = DEFAULT_MRN_PATTERN,
) -> Patient:
    """Return the patient the form describes, or raise :class:`AdmissionError`.

    ``mrn_in_use`` returns the label of a bed where that MRN is already admitted, if any.
    """
    errors: dict[str, str] = {}
    family, given = form.family_name.strip(), form.given_name.strip()
    if not family:
        errors["family_name"] = "Family name is required."
    if not given:
        errors["given_name"] = "Given name is required."
    mrn = form.mrn.strip().upper()
    if not mrn:
        errors["mrn"] = "MRN is required."
    elif not re.fullmatch(mrn_pattern, mrn):
        errors["mrn"] = (
            f"MRN {form.mrn.strip()!r} is not valid: use 6-20 letters or digits "
            "(single hyphens allowed inside)."
        )
    elif (bed := mrn_in_use(mrn)) is not None:
        errors["mrn"] = f"MRN {mrn} is already admitted in {bed}."
    born = _parse_date_of_birth(form.date_of_birth, today, errors)
    sex = _parse_enum(Sex, form.sex, "sex", "Sex", errors)
    category = _parse_enum(PatientCategory, form.category, "category", "Category", errors)
    if born is not None and category is not None:
        _check_category(born, today, category, errors)
    if errors:
        raise AdmissionError(errors)
    if born is None or sex is None or category is None:  # unreachable: errors were raised
        raise AdmissionError({"form": "Incomplete admission."})
    return Patient(family, given, mrn, born, sex, category)


def _iso_date(text: str) -> dt.date | None:
    """A calendar date written exactly YYYY-MM-DD (fromisoformat alone takes more forms)."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:  # e.g. 1961-02-30
        return None


def _parse_date_of_birth(text: str, today: dt.date, errors: dict[str, str]) -> dt.date | None:
    text = text.strip()
    if not text:
        errors["date_of_birth"] = "Date of birth is required."
        return None
    born = _iso_date(text)
    if born is None:
        errors["date_of_birth"] = f"Date of birth {text!r} is not a date: use YYYY-MM-DD."
        return None
    if born > today:
        errors["date_of_birth"] = f"Date of birth {born.isoformat()} is in the future."
        return None
    if _whole_years(born, today) > OLDEST_AGE_YEARS:
        errors["date_of_birth"] = f"Date of birth {born.isoformat()} is over 130 years ago."
        return None
    return born


E = TypeVar("E", bound=enum.Enum)


def _parse_enum(
    kind: type[E], text: str, field: str, label: str, errors: dict[str, str]
) -> E | None:
    try:
        return kind(text.strip().lower())
    except ValueError:
        choices = ", ".join(str(m.value) for m in kind)
        errors[field] = f"{label} must be one of: {choices}."
        return None


def _check_category(
    born: dt.date, today: dt.date, category: PatientCategory, errors: dict[str, str]
) -> None:
    days, years = (today - born).days, _whole_years(born, today)
    if category is PatientCategory.NEONATE and days > NEONATE_MAX_DAYS:
        errors["category"] = f"A neonate must be at most {NEONATE_MAX_DAYS} days old."
    elif category is PatientCategory.PAEDIATRIC and years >= PAEDIATRIC_MAX_YEARS:
        errors["category"] = f"A paediatric patient must be under {PAEDIATRIC_MAX_YEARS} years."
    elif category is PatientCategory.ADULT and years < ADULT_MIN_YEARS:
        errors["category"] = f"An adult patient must be at least {ADULT_MIN_YEARS} years old."
