"""The loopback FHIR server the sync tests rely on: it starts, deduplicates conditional
creates, runs transactions and batches, restarts on the same port, stops without leaving a
process behind, and stores Vigil's mapped resources as they were built."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from app.alarms.log import LogEntry
from app.model.patient import Patient, PatientCategory, Sex
from app.scores.news2 import score
from app.sync.alarms import alarm_observation
from app.sync.bundles import bundles
from app.sync.naming import FhirNaming
from app.sync.resources import (
    ObservationContext,
    blood_pressure_observation,
    device_resource,
    local_reference,
    news2_observation,
    patient_resource,
    vital_observation,
)
from drivers.base import DeviceInfo, Quality, Reading
from tests.fhir_server.fixture import SERVER_DIR, FhirServer, FhirServerError
from tests.fhir_server.rest import request

MRN_SYSTEM = "urn:oid:1.2.36.146.595.217.0.1"


def a_patient(mrn: str = "A1234567") -> dict[str, Any]:
    return {"resourceType": "Patient", "identifier": [{"system": MRN_SYSTEM, "value": mrn}],
            "name": [{"family": "Doe", "given": ["Jane"]}]}  # fmt: skip


def found(server: FhirServer, query: str) -> int:
    total: int = request("GET", f"{server.base_url}/{query}&_summary=count").json()["total"]
    return total


def refuses_connections(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_the_server_answers_as_fhir_r4(fhir_server: FhirServer) -> None:
    meta = request("GET", fhir_server.base_url + "/metadata")
    assert meta.status == 200
    assert meta.json()["resourceType"] == "CapabilityStatement"
    assert meta.json()["fhirVersion"] == "4.0.1"
    assert fhir_server.base_url == f"http://127.0.0.1:{fhir_server.port}/fhir/R4"


def test_a_conditional_create_twice_keeps_one_patient(fhir_server: FhirServer) -> None:
    header = {"If-None-Exist": f"identifier={MRN_SYSTEM}|A1234567"}
    first = request("POST", fhir_server.base_url + "/Patient", a_patient(), header)
    again = request("POST", fhir_server.base_url + "/Patient", a_patient(), header)
    assert (first.status, again.status) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert found(fhir_server, f"Patient?identifier={MRN_SYSTEM}|A1234567") == 1
    assert fhir_server.stats() == {"Patient": 1}


def test_a_transaction_applies_all_or_nothing_and_a_batch_each(fhir_server: FhirServer) -> None:
    def entry(mrn: str) -> dict[str, Any]:
        condition = f"identifier={MRN_SYSTEM}|{mrn}"
        request_ = {"method": "POST", "url": "Patient", "ifNoneExist": condition}
        return {"resource": a_patient(mrn), "request": request_}

    bad = {"resource": {**a_patient("B2"), "birthDate": "1970-13-45"},
           "request": {"method": "POST", "url": "Patient"}}  # fmt: skip
    ok = {"resourceType": "Bundle", "type": "transaction", "entry": [entry("A1"), entry("A2")]}
    for expected in ("201", "200"):  # sent twice: created, then found
        resp = request("POST", fhir_server.base_url, ok)
        assert resp.json()["type"] == "transaction-response"
        assert [e["response"]["status"] for e in resp.json()["entry"]] == [expected] * 2
    failed = request("POST", fhir_server.base_url, {**ok, "entry": [entry("A3"), bad]})
    assert failed.status == 400
    assert failed.json()["resourceType"] == "OperationOutcome"
    assert fhir_server.stats() == {"Patient": 2}  # A3 was rolled back
    batch = request("POST", fhir_server.base_url, {**ok, "type": "batch",
                                                   "entry": [entry("A3"), bad]})  # fmt: skip
    first, second = (e["response"]["status"] for e in batch.json()["entry"])
    assert (first, second[:3]) == ("201", "400")
    assert fhir_server.stats() == {"Patient": 3}


def test_a_restart_keeps_the_port_and_starts_empty(fhir_server: FhirServer) -> None:
    port, pid = fhir_server.port, fhir_server.pid
    request("POST", fhir_server.base_url + "/Patient", a_patient())
    fhir_server.restart()
    assert (fhir_server.port, fhir_server.running) == (port, True)
    assert fhir_server.pid != pid
    assert fhir_server.stats() == {}  # in memory: an outage test's server forgets everything
    fhir_server.kill()  # a crash, then back on the same port
    assert refuses_connections(port)
    fhir_server.start()
    assert request("GET", fhir_server.base_url + "/metadata").status == 200


def test_stopping_ends_the_process_and_frees_the_port(fhir_server: FhirServer) -> None:
    port = fhir_server.port
    assert fhir_server.stop() == 0  # SIGTERM: a clean exit
    assert not fhir_server.running
    assert refuses_connections(port)
    assert fhir_server.stop() == 0  # stopping a stopped server is harmless


def test_missing_npm_packages_fail_with_the_command_to_run(tmp_path: Path) -> None:
    bare = tmp_path / "server"
    bare.mkdir()
    shutil.copy(SERVER_DIR / "server.cjs", bare)
    with pytest.raises(FhirServerError, match="npm packages are missing") as err:
        FhirServer(tmp_path / "work", server_dir=bare).start()
    assert "make test" in str(err.value)
    assert "npm ci" in str(err.value)


ORPHAN_SCRIPT = """
import os, sys
from pathlib import Path
from tests.fhir_server.fixture import FhirServer
server = FhirServer(Path(sys.argv[1]))
server.start()
print(server.pid, flush=True)
os._exit(0)  # dies without stopping its server, as a killed test run would
"""


def test_a_server_whose_test_run_died_exits_by_itself(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", ORPHAN_SCRIPT, str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=True,
        cwd=SERVER_DIR.parents[1], env={**os.environ, "PYTHONPATH": str(SERVER_DIR.parents[1])},
    )  # fmt: skip
    pid = int(done.stdout.split()[0])
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid), f"the orphaned server {pid} is still running"


def _alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        state = next(ln for ln in status.read_text().splitlines() if ln.startswith("State:"))
    except FileNotFoundError:
        return False
    return " Z " not in state + " "  # a zombie has exited; its reaper is init, not us


NAMING = FhirNaming(station_id="station-7", mrn_system=MRN_SYSTEM)
T = 1_795_300_000.0


def mapped_bundles() -> list[dict[str, Any]]:
    person = Patient("Doe", "Jane", "A1234567", dt.date(1970, 1, 2), Sex.FEMALE,
                     PatientCategory.ADULT)  # fmt: skip
    patient = patient_resource(person, NAMING)
    device = device_resource(DeviceInfo("simulator", "Vigil", "Sim", "SIM 1,2", True), NAMING)
    ctx = ObservationContext("ICU-1", local_reference(patient), local_reference(device),
                             "SIM 1,2", simulated=True)  # fmt: skip
    items = []
    for minute in range(2):
        t = T + 60 * minute
        for code, value, unit in [("HR", 72.0, "/min"), ("PR", 71.0, "/min"),
                                  ("SPO2", 97.0, "%"), ("RR", 16.0, "/min"),
                                  ("TEMP", 37.2, "Cel")]:  # fmt: skip
            items.append(vital_observation(Reading(code, value, unit, t, Quality.VALID), ctx,
                                           NAMING))  # fmt: skip
        items.append(vital_observation(Reading("SPO2", None, "%", t + 1, Quality.UNAVAILABLE),
                                       ctx, NAMING))  # fmt: skip
    nibp = [Reading(c, v, "mm[Hg]", T, Quality.VALID)
            for c, v in [("NIBP_SYS", 120), ("NIBP_DIA", 80), ("NIBP_MEAN", 93)]]  # fmt: skip
    items.append(blood_pressure_observation(nibp, ctx, NAMING))
    items.append(news2_observation(score(18, 97, False, 120, 72, "A", 37.2), T, ctx, NAMING))
    items.append(alarm_observation(LogEntry(T, "ICU-1", "start", code="SPO2_LOW"), ctx, NAMING))
    return bundles(items, context=[patient, device])


def test_mapped_resources_are_stored_once_however_often_sent(fhir_server: FhirServer) -> None:
    sent = mapped_bundles()
    assert len(sent) == 3  # 15 Observations, 6 per bundle beside the Patient and Device
    for expected in ("201", "200"):
        for bundle in sent:
            resp = request("POST", fhir_server.base_url, bundle)
            assert resp.status == 200, json.dumps(resp.json())[:2000]
            statuses = [e["response"]["status"] for e in resp.json()["entry"]]
            assert set(statuses[2:]) == {expected}
    assert fhir_server.stats() == {"Patient": 1, "Device": 1, "Observation": 15}


def test_mapped_resources_read_back_as_built(fhir_server: FhirServer) -> None:
    sent = mapped_bundles()
    for bundle in sent:
        assert request("POST", fhir_server.base_url, bundle).status == 200
    observations = [e["resource"] for b in sent for e in b["entry"][2:]]
    bp = next(o for o in observations if o["code"]["text"] == "Blood pressure (non-invasive)")
    query = "Observation?identifier=" + bp["identifier"][0]["system"] + "|"
    stored = request("GET", f"{fhir_server.base_url}/{query}{bp['identifier'][0]['value']}")
    [entry] = stored.json()["entry"]
    assert entry["resource"]["component"] == bp["component"]
    assert entry["resource"]["subject"]["reference"].startswith("Patient/")
    assert entry["resource"]["device"]["reference"].startswith("Device/")
    patient_id = entry["resource"]["subject"]["reference"]
    assert found(fhir_server, f"Observation?subject={patient_id}&code=http://loinc.org|8867-4") == 4
    assert found(fhir_server, "Observation?code=urn:iso:std:iso:11073:10101|150456") == 4
    assert found(fhir_server, "Observation?component-code=http://loinc.org|8480-6") == 1
    device = sent[0]["entry"][1]
    assert found(fhir_server, "Device?" + device["request"]["ifNoneExist"]) == 1
