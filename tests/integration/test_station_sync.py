"""The station end to end with an EHR: what it records reaches the FHIR server while it runs
(readings → record → outbox → sync thread → server), and the top bar says so."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.fhir_server.fixture import FhirServer

ROOT = Path(__file__).resolve().parents[2]


def test_the_running_station_sends_its_patients_vitals_to_the_ehr(
    tmp_path: Path, fhir_server: FhirServer
) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    args = [sys.executable, str(ROOT / "main.py"), "--beds", "2", "--db", str(tmp_path / "r.db"),
            "--fhir-base", fhir_server.base_url, "--mrn-system", "urn:oid:1.2.3.4",
            "--quit-after", "12", "--screenshot", str(tmp_path / "s.png")]  # fmt: skip
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    stats = fhir_server.stats()
    assert stats.get("Patient") == 2  # the demo ward's two admitted patients
    assert stats.get("Observation", 0) >= 2 * 4  # at least HR, SpO2, RR, temperature each
    assert stats.get("Device", 0) >= 2
    record = sqlite3.connect(tmp_path / "r.db")
    try:
        refused = record.execute("SELECT last_error FROM outbox WHERE dead_at IS NOT NULL")
        assert refused.fetchall() == []
        sent = record.execute("SELECT DISTINCT kind FROM outbox WHERE sent_at IS NOT NULL")
        assert {"vital"} <= {r[0] for r in sent}
    finally:
        record.close()
