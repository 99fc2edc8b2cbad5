"""Anonymous public pages are cached (Redis + process memory + HTTP headers) and invalidated."""

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from events.tests.factories import EventFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _caches_on(settings):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 60
    settings.PUBLIC_PAGE_LOCAL_SECONDS = 60
    settings.LOCAL_CACHE_SECONDS = 60
    from core import local_cache, public_cache

    public_cache._local.clear()
    local_cache.clear_all()
    yield
    public_cache._local.clear()
    local_cache.clear_all()


def test_anonymous_pages_carry_public_cache_headers_and_an_etag(client):
    event = EventFactory(name="Cached Night")

    response = client.get(event.get_absolute_url())

    assert response.status_code == 200
    assert "public" in response["Cache-Control"]
    assert "max-age=60" in response["Cache-Control"]
    assert response["ETag"]
    assert "Cookie" in response["Vary"]
    assert not response.cookies  # nothing personal: no CSRF or session cookie to share by mistake


def test_a_repeat_visit_with_the_etag_gets_304(client):
    event = EventFactory()
    first = client.get(event.get_absolute_url())

    again = client.get(event.get_absolute_url(), HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 304


def test_a_staff_edit_shows_on_the_next_anonymous_request(client):
    event = EventFactory(name="Old Name")
    assert b"Old Name" in client.get("/").content

    event.name = "New Name"
    event.save()

    body = client.get("/").content
    assert b"New Name" in body
    assert b"Old Name" not in body


def test_the_cached_page_is_served_without_rendering_again(client, django_assert_num_queries):
    event = EventFactory()
    client.get(event.get_absolute_url())

    with django_assert_num_queries(0):
        response = client.get(event.get_absolute_url())

    assert response.status_code == 200


def test_what_changes_by_itself_shows_once_the_caches_lapse(client, settings):
    """A sale opening is not a model change: the caches' short lifetimes bound its delay."""
    settings.PUBLIC_PAGE_CACHE_SECONDS = 1
    settings.PUBLIC_PAGE_LOCAL_SECONDS = 0.5
    settings.LOCAL_CACHE_SECONDS = 0.5
    event = EventFactory(sale_opens_at=timezone.now() + timedelta(hours=1))
    assert b"Sale opens in" in client.get(event.get_absolute_url()).content
    type(event).objects.filter(pk=event.pk).update(sale_opens_at=timezone.now() - timedelta(minutes=1))

    still_cached = client.get(event.get_absolute_url()).content
    time.sleep(1.2)
    after = client.get(event.get_absolute_url()).content

    assert b"Sale opens in" in still_cached
    assert b"Sale opens in" not in after


def test_logged_in_fans_get_a_fresh_private_page(client, fan):
    event = EventFactory()
    client.get(event.get_absolute_url())  # cached for anonymous visitors
    client.force_login(fan)

    response = client.get(event.get_absolute_url())

    assert "private" in response["Cache-Control"]
    assert b"Log out" in response.content
    assert b"Log in to join the queue" not in response.content


def test_a_visitor_with_pending_messages_is_not_served_or_stored_from_the_cache(client):
    event = EventFactory()
    client.cookies["messages"] = "anything"

    response = client.get(event.get_absolute_url())

    assert "private" in response["Cache-Control"]
    other = Client()
    assert "public" in other.get(event.get_absolute_url())["Cache-Control"]
