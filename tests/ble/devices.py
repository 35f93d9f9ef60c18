"""Fake wearables for the fake BlueZ: what each exposes, as a real one does."""

from __future__ import annotations

from drivers.ble import pmd
from tests.ble.fake_bluez import Char1, CharSpec, ServiceSpec
from tests.fakes import ble_payloads

HR_STRAP = "C0:FF:EE:00:00:01"
OXIMETER = "C0:FF:EE:00:00:02"
CUFF = "C0:FF:EE:00:00:03"
POLAR_H10 = "A0:9E:1A:00:00:10"


def heart_rate_strap() -> list[ServiceSpec]:
    return [
        ServiceSpec("180d", [CharSpec("2a37", ["notify"])]),
        ServiceSpec("180f", [CharSpec("2a19", ["read"], ble_payloads.battery(87))]),
    ]


def pulse_oximeter() -> list[ServiceSpec]:
    return [ServiceSpec("1822", [CharSpec("2a5f", ["notify"])])]


def blood_pressure_cuff() -> list[ServiceSpec]:
    return [
        ServiceSpec("1810", [CharSpec("2a35", ["indicate"])]),
        ServiceSpec("180f", [CharSpec("2a19", ["read", "notify"], ble_payloads.battery(55))]),
    ]


def polar_h10() -> list[ServiceSpec]:
    """HRS, battery and the PMD service; its control point answers the ECG start command."""
    return [
        ServiceSpec("180d", [CharSpec("2a37", ["notify"])]),
        ServiceSpec("180f", [CharSpec("2a19", ["read"], ble_payloads.battery(93))]),
        ServiceSpec(
            pmd.SERVICE_UUID,
            [
                CharSpec(
                    pmd.CONTROL_POINT_UUID,
                    ["read", "write", "indicate"],
                    b"\x0f\x05\x00",
                    on_write=answer_pmd_command,
                ),
                CharSpec(pmd.DATA_UUID, ["notify"]),
            ],
        ),
    ]


def answer_pmd_command(char: Char1, value: bytes) -> None:
    """The H10's control point: every command succeeds, answered by an indication."""
    char.notify(ble_payloads.pmd_cp_response(value[0], value[1] & 0x3F, 0))
