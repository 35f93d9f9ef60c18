"""``main.py sync`` (``app.sync.cli``): ``--once`` exits 0 having drained the outbox and says
what it sent; it exits 1 with the reason when it cannot, 2 for bad arguments; without
``--once`` it runs until SIGTERM and stops cleanly."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.sync.cli import add_sync_parser, run_sync
from tests.fakes.sync_record import MRN_SYSTEM, BedRef, add_bed, fill_vitals, make_record
from tests.fhir_server.fixture import FhirServer

ROOT = Path(__file__).resolve().parents[2]
BED = BedRef("ICU-1", "A1234567", "SN-1")


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="main.py")
    add_sync_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["sync", *argv])


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "record.db"
    db = make_record(path)
    add_bed(db, BED)
    fill_vitals(db, BED, 3)
    db.close()
    return path


def sync_args(db_path: Path, base: str, *more: str) -> list[str]:
    return [
        "--db",
        str(db_path),
        "--fhir-base",
        base,
        "--mrn-system",
        MRN_SYSTEM,
        "--station-id",
        "station-7",
        *more,
    ]


def test_once_drains_and_says_what_it_sent(
    db_path: Path, fhir_server: FhirServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_sync(parse(*sync_args(db_path, fhir_server.base_url, "--once"))) == 0
    out = capsys.readouterr().out
    assert f"sent 12 vital to {fhir_server.base_url}" in out
    assert "outbox drained" in out
    assert fhir_server.stats()["Observation"] == 12
    assert run_sync(parse(*sync_args(db_path, fhir_server.base_url, "--once"))) == 0
    assert "sent nothing" in capsys.readouterr().out


def test_once_fails_with_the_reason_when_the_ehr_is_unreachable(
    db_path: Path, fhir_server: FhirServer, capsys: pytest.CaptureFixture[str]
) -> None:
    base = fhir_server.base_url
    fhir_server.stop()
    args = parse(*sync_args(db_path, base, "--once", "--retry-for", "0.5"))
    assert run_sync(args) == 1
    err = capsys.readouterr().err
    assert "main.py sync: cannot sync" in err
    assert "Connection refused" in err
    assert "12 items still waiting" in err


def test_once_fails_on_a_refused_token(
    db_path: Path, fhir_server: FhirServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = tmp_path / "token"
    token.write_text("wrong-token\n")
    fhir_server.inject(match="^POST", status=401)
    args = parse(
        *sync_args(
            db_path, fhir_server.base_url, "--once", "--auth", "bearer", "--token-file", str(token)
        )
    )
    assert run_sync(args) == 1
    err = capsys.readouterr().err
    assert "HTTP 401" in err
    assert "wrong-token" not in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--auth", "bearer"], "--auth bearer needs --token-file"),
        (["--auth", "smart", "--client-id", "x"], "--auth smart needs --key-file, --key-id"),
        (["--auth", "bearer", "--token-file", "/nonexistent/t"], "cannot read /nonexistent/t"),
        (["--timeout", "0"], "--timeout must be positive"),
        (["--ca-file", "/nonexistent/ca.pem"], "cannot use the CA bundle"),
        (
            [
                "--auth",
                "smart",
                "--client-id",
                "x",
                "--key-file",
                "/nonexistent/k.pem",
                "--key-id",
                "k",
            ],
            "cannot read the key file",
        ),
    ],
)
def test_bad_arguments_exit_2(
    db_path: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_sync(parse(*sync_args(db_path, "http://127.0.0.1:9/fhir", "--once", *extra))) == 2
    assert message in capsys.readouterr().err


def test_a_missing_record_or_base_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.db"
    assert run_sync(parse(*sync_args(missing, "http://127.0.0.1:9/fhir", "--once"))) == 2
    assert f"no record at {missing}" in capsys.readouterr().err
    assert not missing.exists()  # never created by the sync
    assert run_sync(parse(*sync_args(tmp_path, "ftp://x/fhir", "--once"))) == 2
    with pytest.raises(SystemExit) as exited:
        parse("--db", str(missing))
    assert exited.value.code == 2


def test_a_process_runs_until_sigterm_and_stops_cleanly(
    db_path: Path, fhir_server: FhirServer
) -> None:
    code = (
        "import argparse, sys; from app.sync.cli import add_sync_parser, run_sync; "
        "p = argparse.ArgumentParser(); add_sync_parser(p.add_subparsers()); "
        "sys.exit(run_sync(p.parse_args(sys.argv[1:])))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-c", code, "sync", *sync_args(db_path, fhir_server.base_url)]
    with subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            deadline = time.monotonic() + 20
            while fhir_server.stats().get("Observation", 0) < 12:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "the sync sent nothing"
                time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, err
    assert out.rstrip().endswith("stopped")


def test_once_in_a_process_exits_0(db_path: Path, fhir_server: FhirServer) -> None:
    code = (
        "import argparse, sys; from app.sync.cli import add_sync_parser, run_sync; "
        "p = argparse.ArgumentParser(); add_sync_parser(p.add_subparsers()); "
        "sys.exit(run_sync(p.parse_args(sys.argv[1:])))"
    )
    argv = [sys.executable, "-c", code, "sync", *sync_args(db_path, fhir_server.base_url, "--once")]
    done = subprocess.run(
        argv,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "sent 12 vital" in done.stdout
