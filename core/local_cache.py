"""Per-process caches of shared, public data for about a second (``LOCAL_CACHE_SECONDS``).

The pages every fan reloads during an on-sale need the same few objects each time: the event, its
prices and seat counts, the event list. Keeping them in this process's memory for a second turns
thousands of identical queries per second into one per second per process. A model change made in
this process clears them at once (``clear_all``, connected with the public page cache); other
processes see it within the second. ``LOCAL_CACHE_SECONDS = 0`` turns them off (the test settings do).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from django.conf import settings

T = TypeVar("T")
_MAX_ENTRIES = 1_000
_caches: list[LocalCache] = []


class LocalCache(Generic[T]):
    """``max_entries``: past this many keys the cache starts again empty (expired entries are not
    swept otherwise), so large values (drawn seat maps) get a smaller bound."""

    def __init__(self, *, max_entries: int = _MAX_ENTRIES) -> None:
        self._entries: dict[Hashable, tuple[float, T]] = {}
        self._max_entries = max_entries
        _caches.append(self)

    def get_or_load(self, key: Hashable, load: Callable[[], T]) -> T:
        seconds = settings.LOCAL_CACHE_SECONDS
        if seconds <= 0:
            return load()
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        value = load()
        if key not in self._entries and len(self._entries) >= self._max_entries:
            self._entries.clear()
        self._entries[key] = (now + seconds, value)
        return value

    def clear(self) -> None:
        self._entries.clear()


def clear_all() -> None:
    for cache in _caches:
        cache.clear()
