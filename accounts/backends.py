"""Django's model backend, with the user of a session kept per process for about a second.

Every page a logged-in fan loads starts by reading their user row (the session holds only the id).
During an on-sale the same fans reload the same pages many times a second, so the row is kept in
this process (``core.local_cache``) briefly: a change saved in this process (password, deactivation)
clears it at once; other processes see it within ``LOCAL_CACHE_SECONDS``. Each request gets its own
copy, so nothing one request changes on ``request.user`` leaks into another.
"""

from __future__ import annotations

import copy

from django.contrib.auth.backends import ModelBackend

from core.local_cache import LocalCache

_users: LocalCache = LocalCache()


class CachedModelBackend(ModelBackend):
    def get_user(self, user_id):
        user = _users.get_or_load(str(user_id), lambda: super(CachedModelBackend, self).get_user(user_id))
        return copy.copy(user) if user is not None else None


def forget_cached_users(**_signal_kwargs) -> None:
    """Connected to the user model's saves and deletes (accounts.apps)."""
    _users.clear()
