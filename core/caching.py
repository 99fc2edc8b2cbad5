"""One cache client per process, shared by every thread, request and socket.

Django keeps its cache objects in an ``asgiref.local.Local``: per thread *and* per asyncio context.
Under our server every HTTP request runs Django in a copied context on a pool thread
(``ticketing.asgi``), and every WebSocket lives in its own task, so each request built a new cache
object, a new django-redis client and a new redis-py client (a 170-entry command table: about 13 KiB
and tens of microseconds), and each socket kept one for its lifetime. The backends we configure are
thread-safe (redis-py clients share one connection pool; LocMemCache locks), so one object each per
process is enough.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import caches
from django.core.signals import setting_changed

# Backends whose instances may be shared by threads and tasks.
THREAD_SAFE_BACKENDS = frozenset(
    {
        "django_redis.cache.RedisCache",
        "django.core.cache.backends.redis.RedisCache",
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.dummy.DummyCache",
    }
)


class _ProcessWideStorage:
    """Plain attribute storage: what ``Local`` would be with one thread and one context."""


def share_cache_connections() -> bool:
    """Make ``caches[alias]`` one object per process when every configured backend is thread-safe."""
    if any(config.get("BACKEND") not in THREAD_SAFE_BACKENDS for config in caches.settings.values()):
        return False
    caches._connections = _ProcessWideStorage()  # type: ignore[attr-defined]
    return True


def _share_again(*, setting: str, **kwargs: Any) -> None:
    # Django's own receiver resets the storage to a Local when a test overrides CACHES.
    if setting == "CACHES":
        share_cache_connections()


def install() -> None:
    share_cache_connections()
    setting_changed.connect(_share_again, dispatch_uid="core.caching.share_again")
