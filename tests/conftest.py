"""Shared test set-up: headless Qt, and failure on threads or timers a test leaves running."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

# Before anything imports Qt: tests never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True, scope="session")
def _private_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The station's default record goes to a scratch data directory, never the user's."""
    before = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("xdg-data"))
    yield
    if before is None:
        del os.environ["XDG_DATA_HOME"]
    else:
        os.environ["XDG_DATA_HOME"] = before


@pytest.fixture(autouse=True)
def _no_dangling_threads() -> Iterator[None]:
    """Every thread a test starts must have ended when the test ends (drivers included)."""
    before = set(threading.enumerate())
    yield
    leftover = []
    for thread in set(threading.enumerate()) - before:
        thread.join(timeout=3.0)
        if thread.is_alive():
            leftover.append(thread.name)
    if leftover:
        pytest.fail(f"threads left running: {', '.join(sorted(leftover))}")


@pytest.fixture(autouse=True)
def _no_dangling_qtimers(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """A QTimer started in a test must be stopped (or deleted) by the end of it."""
    if "qtbot" not in request.fixturenames and "qapp" not in request.fixturenames:
        yield
        return
    from PySide6 import QtCore

    started: list[Any] = []
    original = QtCore.QTimer.start

    def recording_start(timer: QtCore.QTimer, *args: Any) -> None:
        started.append(timer)
        original(timer, *args)

    monkeypatch.setattr(QtCore.QTimer, "start", recording_start)
    yield
    monkeypatch.undo()
    running = []
    for timer in started:
        try:
            if timer.isActive():
                running.append(timer.objectName() or repr(timer))
                timer.stop()
        except RuntimeError:  # the C++ timer was deleted with its parent: it cannot run
            continue
    if running:
        pytest.fail(f"QTimers left running: {', '.join(running)}")
