"""Looking a patient up in the EHR for the admit dialog: by MRN or by name.

A bounded job: run it off the GUI thread (e.g. a superqt worker) with a client of its own.
Errors are the client's (:mod:`app.sync.errors`); their messages are fit to show.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from app.model.patient import Sex
from app.sync.client import FhirClient

MAX_MATCHES = 20
MR_TYPE = "MR"  # HL7 v2-0203 "Medical record number"


@dataclass(frozen=True, slots=True)
class PatientMatch:
    fhir_id: str
    mrn: str | None
    family_name: str
    given_name: str
    date_of_birth: dt.date | None
    sex: Sex | None


def find_patients(
    client: FhirClient,
    mrn: str | None = None,
    name: str | None = None,
    *,
    mrn_system: str | None = None,
    limit: int = MAX_MATCHES,
) -> list[PatientMatch]:
    """Patients whose MRN is ``mrn`` (in ``mrn_system`` when given) and/or whose name matches
    ``name`` (the server's rules: usually a case-insensitive prefix of any name part)."""
    mrn, name = (mrn or "").strip(), (name or "").strip()
    if not mrn and not name:
        raise ValueError("give an MRN or a name to look for")
    params = {"_count": str(limit)}
    if mrn:
        params["identifier"] = f"{mrn_system}|{mrn}" if mrn_system else mrn
    if name:
        params["name"] = name
    return [_match(p, mrn_system) for p in client.search("Patient", params)]


def _match(resource: dict[str, Any], mrn_system: str | None) -> PatientMatch:
    names = resource.get("name") or [{}]
    official = next((n for n in names if n.get("use") == "official"), names[0])
    born = resource.get("birthDate")
    gender = resource.get("gender")
    return PatientMatch(
        fhir_id=str(resource.get("id", "")),
        mrn=_mrn(resource.get("identifier") or [], mrn_system),
        family_name=str(official.get("family", "")),
        given_name=" ".join(official.get("given") or []),
        date_of_birth=_date(born),
        sex=Sex(gender) if gender in {s.value for s in Sex} else None,
    )


def _mrn(identifiers: list[dict[str, Any]], system: str | None) -> str | None:
    def is_mr(i: dict[str, Any]) -> bool:
        codings = (i.get("type") or {}).get("coding") or []
        return any(c.get("code") == MR_TYPE for c in codings)

    for wanted in (lambda i: system is not None and i.get("system") == system, is_mr):
        found = next((i for i in identifiers if wanted(i) and i.get("value")), None)
        if found is not None:
            return str(found["value"])
    return None


def _date(text: object) -> dt.date | None:
    # FHIR allows a partial birthDate (1970 or 1970-01): only a full date is one.
    if not isinstance(text, str) or len(text) != 10:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None
