"""The waiting list over the API (the error envelope, never a 500) and on the pages, and in the admin."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import jwt_client_for
from core import local_cache
from waitlist.models import WaitlistEntry
from waitlist.services import waitlist_offer_seats
from waitlist.tests.conftest import sell


def _sold_out(event, seats, make_fans) -> None:
    sell(event, make_fans(1)[0], seats)


def test_joining_while_seats_are_on_sale_is_refused_in_the_envelope(event, seats, fan_api):
    response = fan_api.post("/api/waitlist/join", {"eventId": event.pk}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "SEATS_AVAILABLE"
    assert not WaitlistEntry.objects.exists()


def test_fans_join_a_sold_out_event_once_and_see_their_place(event, seats, make_fans, fan, other_fan):
    _sold_out(event, seats, make_fans)
    first, second = jwt_client_for(fan), jwt_client_for(other_fan)

    joined = first.post("/api/waitlist/join", {"eventId": event.pk}, format="json")
    again = first.post("/api/waitlist/join", {"eventId": event.pk}, format="json")
    behind = second.post("/api/waitlist/join", {"eventId": event.pk}, format="json")

    assert (joined.status_code, again.status_code, behind.status_code) == (201, 200, 201)
    assert joined.json() == {"eventId": event.pk, "state": "waiting", "position": 1, "offerExpiresAt": None}
    assert behind.json()["position"] == 2
    assert second.get(f"/api/waitlist/{event.pk}").json()["position"] == 2
    assert first.delete(f"/api/waitlist/leave/{event.pk}").status_code == 204
    assert second.get(f"/api/waitlist/{event.pk}").json()["position"] == 1
    missing = first.get(f"/api/waitlist/{event.pk}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NOT_ON_WAITLIST"


def test_the_api_refuses_bad_input_and_strangers_without_a_500(event, api_client, fan_api):
    assert api_client.post("/api/waitlist/join", {"eventId": event.pk}, format="json").status_code == 401
    for body in ({}, {"eventId": "x"}, {"eventId": 0}):
        response = fan_api.post("/api/waitlist/join", body, format="json")
        assert response.status_code == 400
        assert "error" in response.json()
    unknown = fan_api.post("/api/waitlist/join", {"eventId": 999_999}, format="json")
    assert unknown.status_code == 404
    assert fan_api.delete(f"/api/waitlist/leave/{event.pk}").json()["error"]["code"] == "NOT_ON_WAITLIST"


def test_an_admitted_fan_is_told_to_choose_seats_instead(event, seats, make_fans, fan, fan_api):
    from bookings.tests.conftest import admit

    admit(event, fan)
    _sold_out(event, seats, make_fans)

    response = fan_api.post("/api/waitlist/join", {"eventId": event.pk}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ALREADY_ADMITTED"


@pytest.mark.parametrize("local_cache_seconds", [0, 60])
def test_the_event_page_offers_the_list_then_shows_the_place_and_the_offer(
    event, seats, make_fans, fan, django_capture_on_commit_callbacks, settings, local_cache_seconds
):
    # Also with the per-process caches on: joining and the offer clear what this process kept.
    settings.LOCAL_CACHE_SECONDS = local_cache_seconds
    local_cache.clear_all()
    booking = sell(event, make_fans(1)[0], seats[:1])
    _sold_out(event, seats[1:], make_fans)
    client = Client()
    client.force_login(fan)

    sold_out_page = client.get(event.get_absolute_url()).content.decode()
    nobody_listed = client.get(reverse("queueing:page", args=[event.slug])).content.decode()
    client.post(reverse("waitlist:join", args=[event.slug]))
    waiting_page = client.get(event.get_absolute_url()).content.decode()
    booking.items.update(is_active=False)  # the seat is free again; the offering job finds it
    with django_capture_on_commit_callbacks(execute=True):
        waitlist_offer_seats(event=event)
    offer_page = client.get(event.get_absolute_url()).content.decode()
    queue_page = client.get(reverse("queueing:page", args=[event.slug])).content.decode()

    assert "Join the waiting list" in sold_out_page
    assert "offer" not in nobody_listed.lower()
    assert "You are number <strong>1</strong> on the waiting list" in waiting_page
    assert "You have an offer until" in offer_page
    assert "You have an offer until" in queue_page


def test_staff_see_the_waiting_list_in_the_admin(event, seats, make_fans, fan, staff_user):
    _sold_out(event, seats, make_fans)
    WaitlistEntry.objects.create(event=event, user=fan)
    client = Client()
    client.force_login(staff_user)

    page = client.get(reverse("admin:waitlist_waitlistentry_changelist"))

    assert page.status_code == 200
    assert fan.email in page.content.decode()


def test_a_logged_in_event_page_asks_nothing_of_the_list_while_seats_remain_and_nobody_is_listed(
    event, seats, fan, settings
):
    settings.LOCAL_CACHE_SECONDS = 60
    local_cache.clear_all()
    client = Client()
    client.force_login(fan)
    assert client.get(event.get_absolute_url()).status_code == 200

    with CaptureQueriesContext(connection) as queries:
        page = client.get(event.get_absolute_url())

    assert page.status_code == 200
    assert "waiting list" not in page.content.decode()
    assert not [
        query["sql"] for query in queries if "waitlist" in query["sql"] or "events_seat" in query["sql"]
    ]
