"""Conditional-create entries and transaction/batch bundles of a size servers accept.

Every entry is a POST with ``ifNoneExist: identifier=<system>|<value>``: the server creates
the resource only if none has that identifier, so a resend answers 200 with the existing one.
Medplum refuses a transaction with more than 8 conditional entries (``Transaction requires
strict isolation but has too many entries``), so bundles hold at most 8 entries.

Within a transaction an Observation refers to its Patient and Device by their ``urn:uuid``
fullUrls, which the server rewrites to the ids it resolved. A reference only resolves inside
its own bundle, so ``bundles`` repeats the context (the Patient and Device entries) in every
bundle; each of those is itself a conditional create, so the repeats cost a lookup, never a
duplicate. A batch does not resolve references between its entries: use
``conditional_reference`` there (the Patient and Device must then exist already).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import quote

from app.sync.resources import Mapped, Reference, Resource

MAX_CONDITIONAL_ENTRIES = 8  # Medplum's cap for conditional transactions
BundleType = Literal["transaction", "batch"]


def search_token(system: str, value: str) -> str:
    """``system|value`` for a token search, escaped and URL-encoded.

    FHIR search escapes ``\\``, ``|``, ``,`` and ``$`` inside a value with a backslash (a bare
    comma would mean "or"); the result is then percent-encoded, keeping ``:``, ``/`` and the
    separating ``|`` readable.
    """

    def escaped(text: str) -> str:
        for char in ("\\", "|", ",", "$"):
            text = text.replace(char, "\\" + char)
        return text

    return quote(f"{escaped(system)}|{escaped(value)}", safe=":/|")


def identifier_query(mapped: Mapped) -> str:
    """The search that finds the resource again: ``identifier=<system>|<value>``."""
    return "identifier=" + search_token(*mapped.identifier)


def conditional_reference(mapped: Mapped) -> Reference:
    """A reference by identifier (``Patient?identifier=…``), resolved by the server."""
    return {"reference": f"{mapped.resource_type}?{identifier_query(mapped)}"}


def conditional_entry(mapped: Mapped) -> dict[str, Any]:
    """The bundle entry that creates ``mapped`` unless a resource with its identifier exists."""
    return {
        "fullUrl": mapped.full_url,
        "resource": mapped.resource,
        "request": {
            "method": "POST",
            "url": mapped.resource_type,
            "ifNoneExist": identifier_query(mapped),
        },
    }


def bundles(
    items: Sequence[Mapped],
    context: Sequence[Mapped] = (),
    bundle_type: BundleType = "transaction",
    max_entries: int = MAX_CONDITIONAL_ENTRIES,
) -> list[Resource]:
    """``items`` in bundles of at most ``max_entries`` conditional entries, each bundle led by
    the ``context`` entries its items refer to. Nothing to send gives no bundle; context alone
    gives one bundle (e.g. at admission)."""
    room = max_entries - len(context)
    if room < 1:
        raise ValueError(f"{len(context)} context entries leave no room in {max_entries}")
    keys = [(m.resource_type, m.identifier) for m in (*context, *items)]
    if len(set(keys)) != len(keys):
        # Two entries creating the same resource in one bundle is a caller's error, and
        # servers disagree on what to do with it.
        raise ValueError("the same resource appears twice among the entries")
    if not items:
        return [_bundle(context, bundle_type)] if context else []
    return [
        _bundle([*context, *items[start : start + room]], bundle_type)
        for start in range(0, len(items), room)
    ]


def _bundle(entries: Sequence[Mapped], bundle_type: BundleType) -> Resource:
    return {
        "resourceType": "Bundle",
        "type": bundle_type,
        "entry": [conditional_entry(m) for m in entries],
    }
