"""``core.local_cache``: per-process copies of public data for about a second, with a bound on keys."""

from __future__ import annotations

from types import SimpleNamespace

from core import local_cache
from core.local_cache import LocalCache


def test_values_are_kept_for_local_cache_seconds_and_past_max_entries_it_starts_again(settings):
    settings.LOCAL_CACHE_SECONDS = 60
    cache: LocalCache[str] = LocalCache(max_entries=2)
    loads: list[str] = []

    def load(key: str):
        return lambda: loads.append(key) or key.upper()

    assert [cache.get_or_load(key, load(key)) for key in ("a", "b", "a", "b")] == ["A", "B", "A", "B"]
    assert loads == ["a", "b"]

    cache.get_or_load("c", load("c"))  # a third key: the two others are let go
    cache.get_or_load("a", load("a"))

    assert loads == ["a", "b", "c", "a"]


def test_with_local_cache_seconds_zero_every_call_loads(settings):
    settings.LOCAL_CACHE_SECONDS = 0
    cache: LocalCache[int] = LocalCache()
    loads: list[int] = []

    cache.get_or_load("k", lambda: loads.append(1) or 1)
    cache.get_or_load("k", lambda: loads.append(2) or 2)

    assert loads == [1, 2]


def test_a_full_cache_reloads_an_expired_key_without_letting_the_others_go(settings, monkeypatch):
    settings.LOCAL_CACHE_SECONDS = 1
    clock = [100.0]
    monkeypatch.setattr(local_cache, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    cache: LocalCache[str] = LocalCache(max_entries=2)
    loads: list[str] = []
    cache.get_or_load("a", lambda: loads.append("a") or "A")
    clock[0] += 0.5
    cache.get_or_load("b", lambda: loads.append("b") or "B")

    clock[0] += 0.7  # "a" has expired, "b" has not
    cache.get_or_load("a", lambda: loads.append("a again") or "A")
    cache.get_or_load("b", lambda: loads.append("b again") or "B")

    assert loads == ["a", "b", "a again"]
