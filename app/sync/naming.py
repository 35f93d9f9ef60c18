"""Identifier systems and deterministic identifiers of the resources Vigil sends.

Every resource carries an identifier that is a function of what it describes, never of when it
was sent: a Patient its MRN, a Device a UUIDv5 of its serial, an Observation a UUIDv5 of
(station, bed, source device, parameter, measurement time in ms). Resending after a time-out or
a restart
therefore names the same resource, and a conditional create (``ifNoneExist``) finds it instead
of duplicating it. The value is left out of the key on purpose: a resend is the same
measurement even if a later Vigil rounded it differently.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from dataclasses import dataclass

# Vigil's UUIDv5 namespace (uuid5(NAMESPACE_URL, "urn:vigil:fhir")). Never change it: every
# identifier ever sent derives from it.
NAMESPACE = uuid.UUID("0020547b-4d13-5513-8b72-438943692b16")


@dataclass(frozen=True, slots=True)
class FhirNaming:
    """The identifier and code systems of one station's resources (site settings).

    ``mrn_system`` is the hospital's MRN assigning authority, as its EHR names it (e.g.
    ``urn:oid:1.2.36.146.595.217.0.1``); it has no default because a wrong one would attach
    data to nobody, or to the wrong patient. Vigil's own systems default to ``urn:vigil:…``.
    """

    station_id: str
    mrn_system: str
    vigil_base: str = "urn:vigil:fhir"
    device_system: str = ""  # "" = f"{vigil_base}:device-serial"

    def __post_init__(self) -> None:
        for name in ("station_id", "mrn_system", "vigil_base"):
            if not getattr(self, name).strip():
                raise ValueError(f"FhirNaming.{name} must not be empty")

    @property
    def serial_system(self) -> str:
        return self.device_system or f"{self.vigil_base}:device-serial"

    @property
    def device_id_system(self) -> str:
        return f"{self.vigil_base}:device"

    @property
    def observation_system(self) -> str:
        return f"{self.vigil_base}:observation"

    def code_system(self, name: str) -> str:
        """One of Vigil's own code systems, e.g. ``alarm`` or ``alarm-priority``."""
        return f"{self.vigil_base}:{name}"


def stable_uuid(*parts: str) -> uuid.UUID:
    """The same parts always give the same UUID; different parts (even ones containing any
    separator) never collide, because the parts are encoded as a JSON list."""
    return uuid.uuid5(NAMESPACE, json.dumps(list(parts), ensure_ascii=False))


def time_key(t: float) -> str:
    """A measurement time as whole milliseconds: float noise must not change an identifier."""
    if not math.isfinite(t):
        raise ValueError(f"time {t!r} is not a finite number")
    return str(round(t * 1000))


def fhir_instant(t: float) -> str:
    """Seconds since the epoch as a FHIR dateTime in UTC, to the millisecond."""
    text = dt.datetime.fromtimestamp(int(time_key(t)) / 1000, dt.UTC).isoformat(
        timespec="milliseconds"
    )
    return text.replace("+00:00", "Z")
