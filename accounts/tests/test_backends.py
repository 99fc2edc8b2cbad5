"""The session user is kept per process for a moment, and never outlives a change to the account."""

import pytest
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
