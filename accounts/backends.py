"""Django's model backend, with the session's user kept in Redis, and in this process for about a second.

Every page a logged-in fan loads starts by reading their user row (the session holds only the id).
Through the ORM that read cost about 0.4 ms of CPU, the largest step of the queue page's poll; from
Redis it is one GET. A fan polls every few seconds, so the per-process copy (``core.local_cache``)
alone rarely helped: the shared copy does. Each request gets its own copy of the user, so nothing one
request changes on ``request.user`` leaks into another.

A save or delete of a user (password, deactivation, e-mail verified) replaces the shared copy with a
short-lived "stale" marker, at once and again when the transaction commits. While the marker lives the
row is read from PostgreSQL and not cached, and a copy is only ever *added* where nothing is, so a
request that read the row before the change cannot put the old row back. Other processes' own copies
end within ``LOCAL_CACHE_SECONDS``. If Redis fails, the row comes from PostgreSQL.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import logging
from functools import cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache as shared_cache
from django.db import DEFAULT_DB_ALIAS, transaction
from redis.exceptions import RedisError

from core.compiled_query import CompiledQuery
from core.local_cache import LocalCache

logger = logging.getLogger(__name__)

_users: LocalCache = LocalCache()
# ModelBackend's lookup, compiled once per process: a fan's first page reads the row from PostgreSQL.
_user_by_id: CompiledQuery = CompiledQuery(
    lambda user_id: get_user_model()._default_manager.filter(pk=user_id).order_by()[:1], user_id=int
)
STALE = "stale"
# Long enough to outlast the transaction that changed the user; the commit renews it.
STALE_SECONDS = 10


@cache
def _field_names() -> tuple[str, ...]:
    return tuple(field.attname for field in get_user_model()._meta.concrete_fields)


@cache
def _key_prefix() -> str:
    # A migration that changes the user's columns starts new keys instead of reading old rows.
    schema = hashlib.sha256(",".join(_field_names()).encode()).hexdigest()[:8]
    return f"accounts:user:{schema}:"


def _shared_key(user_id) -> str:
    return f"{_key_prefix()}{user_id}"


class CachedModelBackend(ModelBackend):
    def get_user(self, user_id):
        user = _users.get_or_load(str(user_id), lambda: self._shared_get_user(user_id))
        return copy.copy(user) if user is not None else None

    def _shared_get_user(self, user_id):
        if settings.USER_CACHE_SECONDS <= 0:
            return self._database_get_user(user_id)
        key = _shared_key(user_id)
        try:
            cached = shared_cache.get(key)
        except RedisError as error:
            logger.warning("User cache unavailable, reading the user from PostgreSQL: %s", error)
            return self._database_get_user(user_id)
        if isinstance(cached, tuple) and len(cached) == len(_field_names()):
            user = get_user_model().from_db(DEFAULT_DB_ALIAS, _field_names(), cached)
            return user if self.user_can_authenticate(user) else None
        user = self._database_get_user(user_id)
        if user is not None and cached is None:
            row = tuple(getattr(user, name) for name in _field_names())
            with contextlib.suppress(RedisError):  # then PostgreSQL again next time
                shared_cache.add(key, row, settings.USER_CACHE_SECONDS)
        return user

    def _database_get_user(self, user_id):
        """``ModelBackend.get_user``, with its query compiled once (``_user_by_id``)."""
        try:
            pk = int(user_id)
        except (TypeError, ValueError):  # a session without a usable id: logged out
            return None
        user = _user_by_id.first(user_id=pk)
        return user if user is not None and self.user_can_authenticate(user) else None


def _mark_stale(user_id) -> None:
    shared_cache.set(_shared_key(user_id), STALE, STALE_SECONDS)


def forget_cached_users(sender=None, instance=None, **_signal_kwargs) -> None:
    """Connected to the user model's saves and deletes (accounts.apps).

    If Redis cannot take the marker the save fails (and its transaction rolls back) rather than
    leave a deactivated fan logged in from a cached row.
    """
    _users.clear()
    if instance is None or instance.pk is None or settings.USER_CACHE_SECONDS <= 0:
        return
    user_id = instance.pk
    _mark_stale(user_id)
    transaction.on_commit(lambda: _mark_stale(user_id), robust=True)
