"""A small read-through cache that empties itself when the change watcher's version moves."""

from __future__ import annotations

import time
from typing import Generic, TypeVar

from relaydesk.infra.changes import ChangeWatcher

K = TypeVar("K")
V = TypeVar("V")


class EpochCache(Generic[K, V]):
    def __init__(self, watcher: ChangeWatcher, *, max_age: float, max_size: int = 100_000) -> None:
        self._watcher = watcher
        self._max_age = max_age
        self._max_size = max_size
        self._version: int | None = None
        self._items: dict[K, tuple[float, V]] = {}

    def _current(self) -> bool:
        version = self._watcher.version()
        if version is None:
            self._items.clear()
            self._version = None
            return False
        if version != self._version:
            self._items.clear()
            self._version = version
        return True

    def version(self) -> int | None:
        """Take before reading the source of truth; pass to :meth:`put`."""
        return self._version if self._current() else None

    def get(self, key: K) -> V | None:
        if not self._current():
            return None
        item = self._items.get(key)
        if item is None:
            return None
        stored_at, value = item
        if time.monotonic() - stored_at > self._max_age:
            del self._items[key]
            return None
        return value

    def put(self, key: K, value: V, version: int | None) -> None:
        """Store ``value`` read while ``version`` was current; dropped if a change came since."""
        if version is None or not self._current() or version != self._version:
            return
        if len(self._items) >= self._max_size:
            self._items.clear()
        self._items[key] = (time.monotonic(), value)

    def clear(self) -> None:
        self._items.clear()
