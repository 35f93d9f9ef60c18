"""Which profiles a wearable gets, from the services it advertised when it was paired."""

from __future__ import annotations

from collections.abc import Callable

from drivers.ble import pmd
from drivers.ble.glucose_profiles import CgmProfile, GlucoseProfile
from drivers.ble.polar_ecg import PolarEcgProfile
from drivers.ble.profile import Profile
from drivers.ble.vital_profiles import (
    BatteryProfile,
    BloodPressureProfile,
    HeartRateProfile,
    PulseOximeterProfile,
    ThermometerProfile,
    WeightProfile,
)

_BY_SERVICE: dict[str, Callable[[], Profile]] = {
    HeartRateProfile.service_uuid: HeartRateProfile,
    PulseOximeterProfile.service_uuid: PulseOximeterProfile,
    BloodPressureProfile.service_uuid: BloodPressureProfile,
    ThermometerProfile.service_uuid: ThermometerProfile,
    WeightProfile.service_uuid: WeightProfile,
    GlucoseProfile.service_uuid: GlucoseProfile,
    CgmProfile.service_uuid: CgmProfile,
    pmd.SERVICE_UUID: PolarEcgProfile,
}


def profiles_for(name: str, service_uuids: tuple[str, ...]) -> list[Profile]:
    """The profiles of the advertised services, in a fixed order, and the battery always (it
    is optional). A Polar H10 does not advertise its PMD service, so its name brings it."""
    wanted = {u.lower() for u in service_uuids}
    if name.startswith("Polar H10"):
        wanted.add(pmd.SERVICE_UUID)
    profiles = [make() for uuid, make in _BY_SERVICE.items() if uuid in wanted]
    return [*profiles, BatteryProfile()]


def supported(service_uuids: tuple[str, ...], name: str = "") -> bool:
    """Whether Vigil can take anything from a device advertising these services."""
    return len(profiles_for(name, service_uuids)) > 1


def kind_of(name: str, service_uuids: tuple[str, ...]) -> str:
    """A short description for the device list, e.g. "heart rate, Polar ECG"."""
    names = [p.name for p in profiles_for(name, service_uuids)[:-1]]
    return ", ".join(names) if names else "not supported"
