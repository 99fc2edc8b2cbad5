"""The session user is kept per process for a moment, and never outlives a change to the account."""

import pytest
from django.db import transaction
from django.test import Client

from accounts.backends import CachedModelBackend


@pytest.fixture(autouse=True)
def _local_cache_on(settings):
    settings.LOCAL_CACHE_SECONDS = 60
    from core import local_cache

    local_cache.clear_all()
    yield
    local_cache.clear_all()


def test_the_user_row_is_read_once_and_each_request_gets_its_own_copy(fan, django_assert_num_queries):
    backend = CachedModelBackend()
    first = backend.get_user(fan.pk)

    with django_assert_num_queries(0):
        second = backend.get_user(fan.pk)

    assert first == second
    assert first is not second
    first.first_name = "Changed in one request only"
    assert backend.get_user(fan.pk).first_name != "Changed in one request only"


def test_a_deactivated_fan_is_logged_out_on_the_next_request(fan):
    client = Client()
    client.force_login(fan, backend="accounts.backends.CachedModelBackend")
    assert client.get("/bookings/").status_code == 200  # the user row is now cached

    fan.is_active = False
    fan.save()

    assert client.get("/bookings/").status_code == 302  # to the log-in page


def test_a_password_change_ends_other_sessions_at_once(fan):
    other_device = Client()
    other_device.force_login(fan, backend="accounts.backends.CachedModelBackend")
    assert other_device.get("/bookings/").status_code == 200

    fan.set_password("a-brand-new-passphrase-42")
    fan.save()

    assert other_device.get("/bookings/").status_code == 302


# --- The copy shared by every process (Redis) -----------------------------------------------------------


def _another_process() -> None:
    """What a request in another web process starts with: none of this process's copies."""
    from core import local_cache

    local_cache.clear_all()


def _saved_a_while_ago(user) -> None:
    """The "stale" marker of the user's last save has expired (it lives ``STALE_SECONDS``)."""
    from accounts import backends

    assert backends.shared_cache.get(backends._shared_key(user.pk)) == backends.STALE
    backends.shared_cache.delete(backends._shared_key(user.pk))


def _shared_by_an_earlier_request(user) -> CachedModelBackend:
    """The user's row is in Redis, put there by a request in another process."""
    _saved_a_while_ago(user)
    backend = CachedModelBackend()
    backend.get_user(user.pk)
    _another_process()
    return backend


def test_other_processes_read_the_user_from_redis_not_postgresql(fan, django_assert_num_queries):
    backend = _shared_by_an_earlier_request(fan)

    with django_assert_num_queries(0):
        user = backend.get_user(fan.pk)

    assert user == fan
    assert (user.email, user.password, user.is_active) == (fan.email, fan.password, True)
    assert user._state.adding is False
    assert user._state.db == "default"


def test_a_save_in_another_process_is_seen_at_once_and_not_cached_back(fan, django_assert_num_queries):
    backend = _shared_by_an_earlier_request(fan)
    with django_assert_num_queries(0):
        backend.get_user(fan.pk)

    fan.first_name = "Renamed"
    fan.save()
    _another_process()

    with django_assert_num_queries(1):
        assert backend.get_user(fan.pk).first_name == "Renamed"
    _another_process()
    with django_assert_num_queries(1):  # the "stale" marker holds: PostgreSQL again, nothing re-cached
        backend.get_user(fan.pk)


def test_a_row_read_before_a_deactivation_is_not_put_back_after_it(fan, monkeypatch):
    """A request reads the row, then staff deactivate the fan, then the request caches what it read:
    the old, active row must not be what the next request finds."""
    from accounts.models import User

    _saved_a_while_ago(fan)
    read_the_row = CachedModelBackend._database_get_user

    def read_then_deactivated_elsewhere(self, user_id):
        user = read_the_row(self, user_id)
        staff_copy = User.objects.get(pk=user_id)
        staff_copy.is_active = False
        staff_copy.save()
        return user

    monkeypatch.setattr(CachedModelBackend, "_database_get_user", read_then_deactivated_elsewhere)
    assert CachedModelBackend().get_user(fan.pk) is not None  # the racing request still had it
    monkeypatch.setattr(CachedModelBackend, "_database_get_user", read_the_row)
    _another_process()

    assert CachedModelBackend().get_user(fan.pk) is None


def test_a_deleted_user_is_gone_from_the_shared_copy(fan):
    _saved_a_while_ago(fan)
    backend = CachedModelBackend()
    backend.get_user(fan.pk)
    fan.delete()
    _another_process()

    assert backend.get_user(fan.pk) is None


def test_redis_down_reads_the_user_from_postgresql(fan, monkeypatch, django_assert_num_queries):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from accounts import backends

    def unreachable(*args, **kwargs):
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(backends.shared_cache, "get", unreachable)
    monkeypatch.setattr(backends.shared_cache, "add", unreachable)

    with django_assert_num_queries(1):
        assert CachedModelBackend().get_user(fan.pk) == fan


def test_a_user_save_fails_rather_than_leave_a_stale_copy_when_redis_is_down(fan, monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from accounts import backends
    from accounts.models import User

    def unreachable(*args, **kwargs):
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(backends.shared_cache, "set", unreachable)
    fan.is_active = False
    with pytest.raises(RedisConnectionError), transaction.atomic():  # as the admin saves
        fan.save()

    assert User.objects.get(pk=fan.pk).is_active is True
