"""One asyncio loop, in its own thread, for every Bluetooth LE device of the process.

bleak objects belong to the loop that made them, and BlueZ copes badly with several clients
racing each other, so the scanner and every device supervisor share this one loop (ble.md
§6.1.9). Other threads hand it work with :meth:`BleLoop.submit`; nothing here blocks the loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class BleLoopError(RuntimeError):
    """The loop is not running (not started yet, or stopped)."""


class BleLoop:
    def __init__(self, name: str = "vigil-ble") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._closing = False

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        self._ready.wait()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(_log_unhandled)
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    @property
    def running(self) -> bool:
        return self._loop is not None and not self._closing and self._loop.is_running()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the loop; the future completes on the loop's thread."""
        loop = self._loop
        if loop is None or self._closing:
            coro.close()
            raise BleLoopError("the Bluetooth loop is not running")
        return asyncio.run_coroutine_threadsafe(coro, loop)

    def stop(self, timeout: float = 5.0) -> bool:
        """Cancel every task, let each finish its clean-up, stop the loop and join the thread.

        True when the thread ended within ``timeout``. Idempotent."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return True
        if not self._closing:
            self._closing = True
            try:
                asyncio.run_coroutine_threadsafe(_cancel_all(timeout * 0.8), loop)
            except RuntimeError:  # the loop already stopped
                return _join(thread, timeout)
        return _join(thread, timeout)


async def _cancel_all(grace: float) -> None:
    me = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not me]
    for task in tasks:
        task.cancel()
    if tasks:
        done, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            log.error("Bluetooth task %s did not end when cancelled", task.get_name())
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.error("Bluetooth task %s failed", task.get_name(), exc_info=task.exception())
    asyncio.get_running_loop().stop()


def _join(thread: threading.Thread, timeout: float) -> bool:
    thread.join(timeout)
    return not thread.is_alive()


def _log_unhandled(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """An exception nobody awaited (a bleak callback, a dropped task) must still be seen."""
    exc = context.get("exception")
    log.error("Bluetooth loop: %s", context.get("message", "unhandled error"), exc_info=exc)
