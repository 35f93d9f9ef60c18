"""A private D-Bus daemon, and the fake BlueZ served from its own thread and loop.

bleak reaches "the system bus" through ``DBUS_SYSTEM_BUS_ADDRESS``, so pointing that at a
throw-away ``dbus-daemon`` swaps in the fake with no change to bleak (ble.md §2.1).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from tests.ble.fake_bluez import FakeBlueZ

T = TypeVar("T")
INSTALL_HINT = "dbus-daemon is missing: install Debian's dbus package (apt-get install dbus)"


class PrivateBus:
    """A session-type dbus-daemon on a socket in a temporary folder."""

    def __init__(self) -> None:
        daemon = shutil.which("dbus-daemon")
        if daemon is None:
            raise RuntimeError(INSTALL_HINT)
        self._dir = tempfile.mkdtemp(prefix="vigil-dbus-")
        read, write = os.pipe()
        self._proc = subprocess.Popen(
            [daemon, "--session", f"--address=unix:path={self._dir}/bus", "--nofork",
             f"--print-address={write}"],
            pass_fds=(write,), stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(write)
        with os.fdopen(read) as pipe:
            self.address = pipe.readline().strip()
        if not self.address:
            raise RuntimeError("dbus-daemon printed no address")

    def close(self) -> None:
        self._proc.terminate()
        self._proc.wait(5)
        shutil.rmtree(self._dir, ignore_errors=True)


class FakeBlueZThread:
    """The fake daemon on its own loop; :meth:`call` runs a function there and waits."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-bluez")
        self._thread.start()
        self.fake = self.run(FakeBlueZ().start())

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def call(self, fn: Callable[[], T], timeout: float = 10.0) -> T:
        async def wrapped() -> T:
            return fn()

        return self.run(wrapped(), timeout)

    def close(self) -> None:
        self.call(self.fake.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
