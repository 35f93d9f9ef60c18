"""Admission validation: required fields, date of birth, MRN format and uniqueness, category."""

from __future__ import annotations

import datetime as dt

import pytest

from app.model.patient import (
    AdmissionError,
    AdmissionForm,
    Patient,
    PatientCategory,
    Sex,
    validate_admission,
)

TODAY = dt.date(2026, 11, 21)


def form(**changes: str) -> AdmissionForm:
    fields = {
        "family_name": "Okafor",
        "given_name": "Ngozi",
        "mrn": "a1234567",
        "date_of_birth": "1961-04-30",
        "sex": "female",
        "category": "adult",
    } | changes
    return AdmissionForm(**fields)


def errors_of(f: AdmissionForm, in_use: str | None = None) -> dict[str, str]:
    with pytest.raises(AdmissionError) as caught:
        validate_admission(f, TODAY, lambda _mrn: in_use)
    return caught.value.errors


def test_a_good_form_gives_a_patient_with_a_normalised_mrn() -> None:
    patient = validate_admission(form(family_name="  Okafor "), TODAY)
    assert patient == Patient(
        "Okafor", "Ngozi", "A1234567", dt.date(1961, 4, 30), Sex.FEMALE, PatientCategory.ADULT
    )
    assert patient.display_name == "OKAFOR, Ngozi"
    assert patient.age_text(TODAY) == "65 y"


@pytest.mark.parametrize("field", ["family_name", "given_name", "mrn", "date_of_birth"])
def test_required_fields_are_required(field: str) -> None:
    errors = errors_of(form(**{field: "   "}))
    assert field in errors
    assert "required" in errors[field]


def test_every_problem_is_reported_at_once() -> None:
    errors = errors_of(form(family_name="", mrn="x!", date_of_birth="yesterday", sex=""))
    assert set(errors) == {"family_name", "mrn", "date_of_birth", "sex"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2027-01-01", "in the future"),
        ("2026-11-22", "in the future"),
        ("1890-01-01", "over 130 years"),
        ("30/04/1961", "YYYY-MM-DD"),
        ("1961-02-30", "YYYY-MM-DD"),
        ("19610430", "YYYY-MM-DD"),
        ("1961-W17-7", "YYYY-MM-DD"),
    ],
)
def test_date_of_birth_must_be_a_real_past_date(text: str, message: str) -> None:
    assert message in errors_of(form(date_of_birth=text))["date_of_birth"]


def test_born_today_is_allowed_for_a_neonate() -> None:
    patient = validate_admission(form(date_of_birth="2026-11-21", category="neonate"), TODAY)
    assert patient.age_text(TODAY) == "0 d"


@pytest.mark.parametrize("mrn", ["12345", "A" * 21, "AB CD12", "-A12345", "A12345-", "A1--2345"])
def test_malformed_mrns_are_rejected(mrn: str) -> None:
    assert "not valid" in errors_of(form(mrn=mrn))["mrn"]


@pytest.mark.parametrize("mrn", ["123456", "2024-000123", "abc123def", "A" * 20])
def test_wellformed_mrns_are_accepted(mrn: str) -> None:
    assert validate_admission(form(mrn=mrn), TODAY).mrn == mrn.upper()


def test_an_mrn_admitted_elsewhere_is_rejected_naming_the_bed() -> None:
    assert "already admitted in Bed 07" in errors_of(form(), in_use="Bed 07")["mrn"]


@pytest.mark.parametrize(
    ("born", "category", "ok"),
    [
        ("2026-09-01", "neonate", True),
        ("2026-05-01", "neonate", False),
        ("2015-01-01", "paediatric", True),
        ("2000-01-01", "paediatric", False),
        ("2010-01-01", "adult", True),
        ("2020-01-01", "adult", False),
    ],
)
def test_category_must_fit_the_age(born: str, category: str, ok: bool) -> None:
    f = form(date_of_birth=born, category=category)
    if ok:
        assert validate_admission(f, TODAY).category.value == category
    else:
        assert "category" in errors_of(f)


def test_unknown_sex_or_category_lists_the_choices() -> None:
    errors = errors_of(form(sex="x", category="elder"))
    assert errors["sex"] == "Sex must be one of: female, male, other, unknown."
    assert errors["category"] == "Category must be one of: adult, paediatric, neonate."


def test_age_text_uses_days_months_then_years() -> None:
    def age(born: dt.date) -> str:
        return Patient("A", "B", "A12345", born, Sex.MALE, PatientCategory.ADULT).age_text(TODAY)

    assert age(dt.date(2026, 11, 1)) == "20 d"
    assert age(dt.date(2026, 2, 21)) == "9 mo"
    assert age(dt.date(2025, 1, 22)) == "21 mo"
    assert age(dt.date(2024, 11, 21)) == "2 y"
