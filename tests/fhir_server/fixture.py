"""The loopback FHIR R4 test server (``server.cjs``) as a process a test owns, and its fixtures.

:class:`FhirServer` starts ``node server.cjs`` on a free loopback port, waits until it answers,
and stops it; it can be stopped, killed and started again on the same port mid-test (outage
tests), and steered through the server's admin hooks (reset, fault injection, request log).
Use the fixtures by naming this module in a test module's ``pytest_plugins``:

- ``fhir_server``: the session's server, running and empty at the start of each test;
- ``fhir_server_factory``: servers of a test's own, e.g. with ``FHIR_AUTH=smart``, stopped at
  its end.

A machine without Node.js or without the server's npm packages fails these tests with the
command that fixes it; it never skips them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypedDict, Unpack

import pytest

from tests.fhir_server.rest import request

SERVER_DIR = Path(__file__).resolve().parent
HOST = "127.0.0.1"
BASE_PATH = "/fhir/R4"
INSTALL_HINT = (
    "run `make test` (it installs them) or `npm ci --no-audit --no-fund` in tests/fhir_server"
)
EXIT_PORT_IN_USE = 3  # server.cjs's exit status when it cannot bind the port


class FhirServerError(RuntimeError):
    """The server cannot be started; the message says why and what to do."""


class Fault(TypedDict, total=False):
    """One injected fault (server.cjs ``/admin/faults``; README.md has the details)."""

    match: str  # regex on "METHOD /path"; default: every FHIR and token request
    times: int  # how many requests it hits; default: until cleared
    delay_ms: int  # wait before handling
    status: int  # answer with this status instead of the server's answer
    body: str  # answer with this raw body (default: an OperationOutcome)
    content_type: str
    headers: dict[str, str]
    drop: bool  # close the connection without an answer
    truncate: bool  # send half the answer, then close
    process: bool  # handle the request (commit it) even though the answer is a fault


class FhirServer:
    """One ``node server.cjs`` process on loopback; the port is kept across restarts."""

    def __init__(
        self,
        workdir: Path,
        env: Mapping[str, str] | None = None,
        port: int = 0,
        server_dir: Path = SERVER_DIR,
        start_timeout: float = 30.0,
    ) -> None:
        self._workdir = workdir
        self._env = dict(env or {})
        self._port = port  # 0 until the first start picks a free one
        self._server_dir = server_dir
        self._start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None  # of the last process, once it has ended
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def port(self) -> int:
        if not self._port:
            raise FhirServerError("the server has not been started yet")
        return self._port

    @property
    def root_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """The FHIR base, e.g. ``http://127.0.0.1:40123/fhir/R4``."""
        return self.root_url + BASE_PATH

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def log_path(self) -> Path:
        return self._workdir / "server.log"

    def start(self) -> None:
        """Start the server and return once it answers; the store starts empty."""
        if self.running:
            raise FhirServerError("the server is already running")
        node = self._check_installation()
        deadline = time.monotonic() + self._start_timeout
        while True:
            proc = self._spawn(node)
            outcome = self._await_ready(proc, deadline)
            if outcome == "ready":
                self._proc = proc
                return
            # The port of a server just stopped can be taken for a moment by another
            # process's ephemeral connection; try again until the deadline.
            if outcome == "port in use" and self._port and time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            raise FhirServerError(f"the FHIR test server {outcome}:\n{self._log_tail()}")

    def stop(self, timeout: float = 5.0) -> int | None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout``); its exit status."""
        proc, self._proc = self._proc, None
        if proc is None:
            return self.returncode
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.returncode = proc.returncode
        return self.returncode

    def kill(self) -> None:
        """End the server abruptly (SIGKILL), as a crash would."""
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            self.returncode = proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> FhirServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Admin hooks of server.cjs (loopback test helpers, unauthenticated in every auth mode).
    def reset(self) -> None:
        """Empty the store and clear faults and the request log."""
        self._admin("POST", "/admin/reset")

    def inject(self, **fault: Unpack[Fault]) -> int:
        """Add a fault; its id (the request log names the fault that hit a request)."""
        ids: list[int] = self._admin("POST", "/admin/faults", dict(fault))["ids"]
        return ids[0]

    def clear_faults(self) -> None:
        self._admin("DELETE", "/admin/faults")

    def faults(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._admin("GET", "/admin/faults")["faults"]
        return found

    def requests(self) -> list[dict[str, Any]]:
        """FHIR and token requests since the last reset, oldest first (admin calls left out)."""
        found: list[dict[str, Any]] = self._admin("GET", "/admin/requests")["requests"]
        return found

    def stats(self) -> dict[str, int]:
        """How many resources of each type the store holds."""
        counts: dict[str, int] = self._admin("GET", "/admin/stats")
        return counts

    def revoke_tokens(self) -> int:
        """Forget every issued access token (SMART mode): the next request gets a 401."""
        revoked: int = self._admin("POST", "/admin/revoke-tokens")["revoked"]
        return revoked

    def _admin(self, method: str, path: str, body: object = None) -> Any:
        resp = request(method, self.root_url + path, body)
        if resp.status >= 300:
            raise FhirServerError(f"{method} {path}: HTTP {resp.status} {resp.body!r}")
        return resp.json()

    def _check_installation(self) -> str:
        node = shutil.which("node")
        if node is None:
            raise FhirServerError(
                "Node.js is not installed (the FHIR test server needs node >= 20.19): install "
                "it, e.g. `apt-get install nodejs npm`, then " + INSTALL_HINT
            )
        if not (self._server_dir / "node_modules" / "@medplum" / "fhir-router").is_dir():
            raise FhirServerError(
                f"the FHIR test server's npm packages are missing "
                f"({self._server_dir / 'node_modules'}): {INSTALL_HINT}"
            )
        return node

    def _spawn(self, node: str) -> subprocess.Popen[bytes]:
        port_file = self._workdir / "server.port"
        port_file.unlink(missing_ok=True)
        env = {
            **os.environ,
            **self._env,
            "FHIR_HOST": HOST,
            "FHIR_PORT": str(self._port),
            "FHIR_PORT_FILE": str(port_file),
            "FHIR_EXIT_WITH_PARENT": "1",
        }
        # A file, not a pipe: nobody reads a pipe while the server runs, and a full one
        # would block the server (FHIR_LOG=1 writes a line per request).
        with self.log_path.open("ab") as log:
            return subprocess.Popen(
                [node, str(self._server_dir / "server.cjs")],
                cwd=self._server_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def _await_ready(self, proc: subprocess.Popen[bytes], deadline: float) -> str:
        port_file = self._workdir / "server.port"
        while time.monotonic() < deadline:
            code = proc.poll()
            if code is not None:
                self.returncode = code
                return "port in use" if code == EXIT_PORT_IN_USE else f"exited with {code}"
            if port_file.is_file() and self._answers(int(port_file.read_text())):
                return "ready"
            time.sleep(0.05)
        proc.kill()
        self.returncode = proc.wait()
        return f"did not answer within {self._start_timeout:.0f} s"

    def _answers(self, port: int) -> bool:
        try:
            ok = request("GET", f"http://{HOST}:{port}/healthcheck", timeout=2.0).status == 200
        except OSError:  # not accepting connections yet
            return False
        if ok:
            self._port = port
        return ok

    def _log_tail(self, lines: int = 30) -> str:
        if not self.log_path.is_file():
            return "(no server log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _started(server: FhirServer) -> FhirServer:
    try:
        server.start()
    except FhirServerError as err:
        pytest.fail(str(err), pytrace=False)
    return server


@pytest.fixture(scope="session")
def fhir_server_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FhirServer]:
    """The session's one server (about 1 s to start); tests use ``fhir_server``."""
    server = FhirServer(tmp_path_factory.mktemp("fhir-server"))
    try:
        yield _started(server)
    finally:
        server.stop()


@pytest.fixture
def fhir_server(fhir_server_session: FhirServer) -> FhirServer:
    """The session's server, running (again, if a test stopped it) and empty."""
    if not fhir_server_session.running:
        _started(fhir_server_session)
    fhir_server_session.reset()
    return fhir_server_session


@pytest.fixture
def fhir_server_factory(tmp_path: Path) -> Iterator[Callable[..., FhirServer]]:
    """Start servers of the test's own (``make(env={"FHIR_AUTH": "static", ...})``)."""
    made: list[FhirServer] = []

    def make(env: Mapping[str, str] | None = None) -> FhirServer:
        server = FhirServer(tmp_path / f"fhir-server-{len(made)}", env=env)
        made.append(server)
        return _started(server)

    try:
        yield make
    finally:
        for server in made:
            server.stop()
