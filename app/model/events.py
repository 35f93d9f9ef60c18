"""A minimal synchronous observer, so views can subscribe to models without models knowing Qt.

Callbacks run on the thread that emits. Models emit only from the thread that owns them (the
GUI thread in the station, the runner's thread headless); driver threads never emit here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Emitter(Generic[T]):
    def __init__(self) -> None:
        self._callbacks: list[Callable[[T], None]] = []

    def connect(self, callback: Callable[[T], None]) -> None:
        if callback not in self._callbacks:
            self._callbacks.append(callback)

    def disconnect(self, callback: Callable[[T], None]) -> None:
        self._callbacks.remove(callback)

    def emit(self, value: T) -> None:
        # Exceptions propagate: a view that fails to update must not go unnoticed.
        for callback in list(self._callbacks):
            callback(value)
