"""The seat map page, its htmx hold / release / checkout requests, and the fan's booking pages."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bookings import views as bookings_views
from bookings.models import Booking, SeatHold
from bookings.services import booking_confirm_paid, booking_create, seats_hold
from bookings.tests.conftest import admit, time_passes_beyond_the_window
from core import local_cache
from events.models import Event
from events.services import seat_map_generate
from events.tests.factories import EventFactory, categories_for, seat_map_spec
from queueing.services import queue_leave

HTMX = {"HTTP_HX_REQUEST": "true"}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _url(name: str, event: Event) -> str:
    return reverse(f"bookings:{name}", kwargs={"slug": event.slug})


def _seat_button(html: str, seat_id: int) -> str:
    match = re.search(rf'<button id="s{seat_id}" [^>]*>', html)
    assert match, f"seat {seat_id} is not drawn"
    return match.group(0)


def _summary(html: str) -> dict[str, list[int]]:
    held = re.search(r'data-held-ids="([^"]*)"', html)
    taken = re.search(r'data-taken-ids="([^"]*)"', html)
    assert held
    assert taken
    unescape = lambda text: text.replace("&quot;", '"')  # noqa: E731
    return {"held": json.loads(unescape(held.group(1))), "taken": json.loads(unescape(taken.group(1)))}


def _hold(client: Client, event: Event, *seats, **extra):
    return client.post(_url("hold", event), {"seat_ids": [seat.pk for seat in seats]}, **HTMX, **extra)


@pytest.fixture
def fan_client(admitted_fan) -> Client:
    return _client(admitted_fan)


# --- Who may see the seat map ---------------------------------------------------------------------


def test_the_seat_map_asks_anonymous_visitors_to_log_in_first(event, seats):
    response = Client().get(_url("seat_map", event))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert f"next=/events/{event.slug}/seats/" in response["Location"]


def test_a_fan_without_an_admission_pass_is_told_to_queue_first(event, seats, fan):
    response = _client(fan).get(_url("seat_map", event))

    assert response.status_code == 403
    html = response.content.decode()
    assert "Join the queue first" in html
    assert f'href="/events/{event.slug}/queue/"' in html
    assert "seat-grid" not in html


def test_an_unknown_or_draft_event_has_no_seat_map(fan):
    draft = EventFactory(draft=True)

    assert _client(fan).get("/events/no-such-event/seats/").status_code == 404
    assert _client(fan).get(_url("seat_map", draft)).status_code == 404


# --- Drawing --------------------------------------------------------------------------------------


def test_the_seat_map_shows_categories_prices_and_every_seat_state(
    event, seats, categories, fan_client, admitted_fan, admitted_other_fan
):
    seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk])
    seats_hold(user=admitted_other_fan, event=event, seat_ids=[seats[2].pk])
    buyer = admit(event, *_fans(1))[0].user
    seats_hold(user=buyer, event=event, seat_ids=[seats[5].pk])
    booking_confirm_paid(booking=booking_create(user=buyer, event=event))

    response = fan_client.get(_url("seat_map", event))

    assert response.status_code == 200
    html = response.content.decode()
    for name, price in (("Platinum", "₹12,500"), ("Gold", "₹7,500"), ("Silver", "₹2,500")):
        assert re.search(rf'class="legend-category">.*{name} <strong>{price}</strong>', html)
    assert "Held by another fan" in html
    assert "Sold" in html
    mine = _seat_button(html, seats[0].pk)
    assert "s-held_by_me" in mine
    assert 'aria-label="Section A, Row 1, Seat 1, Platinum ₹12,500, selected by you"' in mine
    assert 'aria-pressed="true"' in mine
    assert "s-held" in _seat_button(html, seats[2].pk)
    assert 'aria-disabled="true"' in _seat_button(html, seats[2].pk)
    assert "s-sold" in _seat_button(html, seats[5].pk)
    available = _seat_button(html, seats[9].pk)
    assert "s-available" in available
    assert 'aria-label="Section A, Row 1, Seat 10, Silver ₹2,500, available"' in available
    assert f"c{categories[2].pk}" in available  # coloured by its category
    # Each category's colour, and a text colour readable on it (white on Platinum's dark purple).
    assert f".seat-page .c{categories[2].pk}{{--cat:#9ca3af;--cat-ink:#111111}}" in html
    assert 'class="row-label"' in html
    assert "Section A" in html
    # The summary: the fan's seat, its total, the countdown and the checkout button.
    assert _summary(html)["held"] == [seats[0].pk]
    assert "data-expires-at=" in html
    assert 'Continue<span class="seat-continue-more"> to payment</span>' in html
    assert f'data-ws-path="/ws/events/{event.pk}/seats/"' in html


def _fans(count: int):
    from accounts.tests.factories import UserFactory

    return [UserFactory() for _ in range(count)]


def test_section_names_and_rows_are_escaped(event, categories, fan_client):
    from events.tests.factories import SeatFactory

    seat = SeatFactory(event=event, category=categories[0], section="<b>VIP</b>", row="<i>", number=1)

    html = fan_client.get(_url("seat_map", event)).content.decode()

    assert "<b>VIP</b>" not in html
    assert "&lt;b&gt;VIP&lt;/b&gt;" in html
    assert "Row &lt;i&gt;, Seat 1" in _seat_button(html, seat.pk)


@pytest.fixture
def big_event(db) -> Event:
    """5,000 seats: four sections of 25 rows of 50."""
    event = EventFactory(max_seats_per_order=6)
    platinum, gold, silver = categories_for(event)
    spec = seat_map_spec(
        sections=("North", "East", "South", "West"),
        rows_per_section=25,
        seats_per_row=50,
        category_rows=[(1, 5, platinum), (6, 15, gold), (16, 25, silver)],
    )
    assert seat_map_generate(event=event, spec=spec) == 5000
    return event


def test_a_5000_seat_map_renders_in_a_bounded_number_of_queries(
    big_event, fan, django_assert_max_num_queries
):
    admit(big_event, fan)
    client = _client(fan)

    with django_assert_max_num_queries(16):
        response = client.get(_url("seat_map", big_event), {"section": "all"})

    assert response.status_code == 200
    assert response.content.decode().count('<button id="s') == 5000


def test_a_big_venue_opens_on_its_first_section_and_tabs_switch_it_with_htmx(big_event, fan):
    admit(big_event, fan)
    client = _client(fan)

    page = client.get(_url("seat_map", big_event)).content.decode()
    assert page.count('<button id="s') == 1250
    assert re.search(r'aria-current="page"><span class="section-tab-name">North<', page)  # left to right
    assert "?section=East" in page
    assert "All sections" in page

    partial = client.get(
        _url("seat_map", big_event), {"section": "West"}, HTTP_HX_TARGET="seat-map", **HTMX
    ).content.decode()
    assert partial.lstrip().startswith('<div id="seat-map"')
    assert "<html" not in partial
    assert "seat-summary" not in partial
    assert partial.count('<button id="s') == 1250
    assert 'data-section="West"' in partial


def test_the_page_is_compressed_for_browsers_that_accept_gzip(event, seats, fan_client):
    response = fan_client.get(_url("seat_map", event), HTTP_ACCEPT_ENCODING="gzip")

    assert response["Content-Encoding"] == "gzip"


# --- Holding and releasing ------------------------------------------------------------------------


def test_holding_seats_returns_the_summary_with_the_total_from_server_prices(event, seats, fan_client):
    response = fan_client.post(
        _url("hold", event), {"seat_ids": [seats[0].pk, seats[2].pk], "price": "1"}, **HTMX
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="seat-summary"')
    assert _summary(html) == {"held": [seats[0].pk, seats[2].pk], "taken": []}
    assert "₹20,000" in html  # 12,500 + 7,500
    assert "A · Row 1 · Seat 1" in html
    assert "A · Row 1 · Seat 3" in html
    assert "Seats held for" in html
    assert "data-expires-at=" in html
    assert "you can add 2 more" in html
    assert SeatHold.objects.filter(seat__in=[seats[0], seats[2]]).count() == 2


def test_seat_ids_may_come_comma_separated(event, seats, fan_client):
    response = fan_client.post(_url("hold", event), {"seat_ids": f"{seats[0].pk},{seats[1].pk}"}, **HTMX)

    assert _summary(response.content.decode())["held"] == [seats[0].pk, seats[1].pk]


def test_a_seat_just_taken_gives_409_with_a_message_and_keeps_the_fans_seats(
    event, seats, fan_client, admitted_other_fan
):
    _hold(fan_client, event, seats[0])
    seats_hold(user=admitted_other_fan, event=event, seat_ids=[seats[1].pk])

    response = _hold(fan_client, event, seats[1], seats[3])

    assert response.status_code == 409
    html = response.content.decode()
    assert "just been taken" in html
    assert 'data-error-code="SEAT_UNAVAILABLE"' in html
    assert _summary(html) == {"held": [seats[0].pk], "taken": [seats[1].pk]}
    assert not SeatHold.objects.filter(seat=seats[3]).exists()  # all or nothing


def test_more_seats_than_the_event_allows_are_refused_with_the_limit(event, seats, fan_client):
    _hold(fan_client, event, *seats[:4])

    response = _hold(fan_client, event, seats[4])

    assert response.status_code == 409
    html = response.content.decode()
    assert "You can hold at most 4 seats for this event." in html
    assert _summary(html)["held"] == [seat.pk for seat in seats[:4]]
    assert "Up to 4 seats per order" in html


def test_holding_without_an_admission_pass_is_403_with_the_way_to_the_queue(event, seats, fan):
    response = _hold(_client(fan), event, seats[0])

    assert response.status_code == 403
    html = response.content.decode()
    assert 'data-error-code="NOT_ADMITTED"' in html
    assert f'href="/events/{event.slug}/queue/"' in html
    assert not SeatHold.objects.exists()


@pytest.mark.parametrize("posted", [{}, {"seat_ids": "abc"}, {"seat_ids": "0"}])
def test_a_hold_without_valid_seat_ids_is_a_readable_400(event, seats, fan_client, posted):
    response = fan_client.post(_url("hold", event), posted, **HTMX)

    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()


def test_a_seat_of_another_event_is_refused(event, seats, fan_client):
    from events.tests.factories import SeatFactory

    elsewhere = SeatFactory()

    response = _hold(fan_client, event, elsewhere)

    assert response.status_code == 400
    assert 'data-error-code="UNKNOWN_SEATS"' in response.content.decode()


def test_releasing_a_seat_gives_it_back_and_keeps_the_others(event, seats, fan_client):
    _hold(fan_client, event, seats[0], seats[1])

    response = fan_client.post(_url("release", event), {"seat_ids": [seats[0].pk]}, **HTMX)

    assert response.status_code == 200
    assert _summary(response.content.decode())["held"] == [seats[1].pk]
    assert list(SeatHold.objects.values_list("seat_id", flat=True)) == [seats[1].pk]


def test_releasing_without_seat_ids_clears_the_selection(event, seats, fan_client):
    _hold(fan_client, event, seats[0], seats[1])

    response = fan_client.post(_url("release", event), {}, **HTMX)

    html = response.content.decode()
    assert _summary(html)["held"] == []
    assert "No seats chosen yet" in html
    assert not SeatHold.objects.exists()


def test_without_htmx_a_hold_redirects_back_to_the_map_with_a_message(
    event, seats, fan_client, admitted_other_fan
):
    seats_hold(user=admitted_other_fan, event=event, seat_ids=[seats[1].pk])

    response = fan_client.post(_url("hold", event), {"seat_ids": [seats[1].pk]}, follow=True)

    assert response.redirect_chain == [(_url("seat_map", event), 302)]
    assert "just been taken" in response.content.decode()


def test_hold_and_release_need_csrf(event, seats, admitted_fan):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admitted_fan)

    refused = _hold(client, event, seats[0])
    page = client.get(_url("seat_map", event))
    token = page.cookies["csrftoken"].value
    accepted = _hold(client, event, seats[0], HTTP_X_CSRFTOKEN=token)

    assert refused.status_code == 403
    assert accepted.status_code == 200
    assert SeatHold.objects.filter(seat=seats[0]).count() == 1


def test_hold_is_post_only(event, seats, fan_client):
    assert fan_client.get(_url("hold", event)).status_code == 405


def test_an_htmx_request_from_a_logged_out_page_is_sent_to_the_login_page(event, seats):
    response = Client().post(_url("hold", event), {"seat_ids": [seats[0].pk]}, **HTMX)

    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("accounts:login"))


# --- Live states for polling ----------------------------------------------------------------------


def test_the_states_endpoint_lists_the_seats_that_are_not_available(
    event, seats, fan_client, admitted_fan, admitted_other_fan
):
    seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk])
    seats_hold(user=admitted_other_fan, event=event, seat_ids=[seats[1].pk])

    response = fan_client.get(_url("states", event))

    assert response.status_code == 200
    assert response.json() == {
        "type": "snapshot",
        "eventId": event.pk,
        "states": [[seats[0].pk, "held_by_me"], [seats[1].pk, "held"]],
    }


def test_the_states_endpoint_needs_a_logged_in_fan(event, seats):
    assert Client().get(_url("states", event)).status_code == 401


# --- Checkout and the fan's bookings --------------------------------------------------------------


def test_checkout_creates_a_booking_and_goes_straight_to_paying_with_the_clock(
    event, seats, fan_client, admitted_fan
):
    _hold(fan_client, event, seats[0], seats[9])

    response = fan_client.post(_url("checkout", event))

    booking = Booking.objects.get(user=admitted_fan)
    assert response.status_code == 302
    assert response["Location"] == f"/bookings/{booking.reference}/pay/"
    page = fan_client.get(response["Location"]).content.decode()
    assert booking.reference in page
    assert "₹15,000" in page  # 12,500 + 2,500, from the server's prices
    assert "A · Row 1 · Seat 1" in page
    assert "A · Row 1 · Seat 10" in page
    assert "Time left to pay" in page
    assert "data-expires-at=" in page
    assert f'data-expired-url="/bookings/{booking.reference}/"' in page
    assert "Payment succeeds" in page


def test_the_seat_map_names_the_booking_awaiting_payment_reading_it_once(
    event, seats, fan_client, admitted_fan
):
    _hold(fan_client, event, seats[0])
    booking = booking_create(user=admitted_fan, event=event)

    with CaptureQueriesContext(connection) as queries:
        page = fan_client.get(_url("seat_map", event)).content.decode()

    assert "You have a booking awaiting payment" in page
    assert f'href="/bookings/{booking.reference}/"' in page
    booking_reads = [q["sql"] for q in queries if q["sql"].startswith('SELECT "bookings_booking"')]
    assert len(booking_reads) == 1, booking_reads


def test_the_booking_page_shows_the_booking_its_pay_button_and_the_clock(
    event, seats, fan_client, admitted_fan
):
    _hold(fan_client, event, seats[0], seats[9])
    fan_client.post(_url("checkout", event))
    booking = Booking.objects.get(user=admitted_fan)

    page = fan_client.get(f"/bookings/{booking.reference}/").content.decode()

    assert "Pending payment" in page
    assert "Pay ₹15,000" in page
    assert "Time left to pay" in page
    assert "data-clock-warning" in page
    assert "js/clock.js" in page


def test_checkout_with_htmx_redirects_the_whole_page(event, seats, fan_client, admitted_fan):
    _hold(fan_client, event, seats[0])

    response = fan_client.post(_url("checkout", event), **HTMX)

    reference = Booking.objects.get(user=admitted_fan).reference
    assert response["HX-Redirect"] == f"/bookings/{reference}/pay/"


def test_when_the_turn_ran_out_the_seat_map_says_so_and_offers_the_queue_again(
    event, seats, fan_client, admitted_fan
):
    _hold(fan_client, event, seats[0])
    time_passes_beyond_the_window(event)

    response = fan_client.get(_url("seat_map", event))

    assert response.status_code == 403
    html = response.content.decode()
    assert "Your time ran out" in html
    assert "went back on sale" in html
    assert f'action="/events/{event.slug}/queue/join/"' in html
    assert "Join the queue again" in html
    assert "seat-grid" not in html


def test_a_fan_who_left_the_queue_is_not_told_their_time_ran_out(event, seats, fan_client, admitted_fan):
    queue_leave(user=admitted_fan, event=event)

    html = fan_client.get(_url("seat_map", event)).content.decode()

    assert "Join the queue first" in html
    assert "Your time ran out" not in html


def test_checkout_without_seats_says_so(event, seats, fan_client):
    response = fan_client.post(_url("checkout", event), follow=True)

    assert "Hold some seats before booking." in response.content.decode()
    assert not Booking.objects.exists()


def test_another_fans_booking_is_not_found(event, seats, fan_client, admitted_other_fan):
    seats_hold(user=admitted_other_fan, event=event, seat_ids=[seats[0].pk])
    theirs = booking_create(user=admitted_other_fan, event=event)

    assert fan_client.get(f"/bookings/{theirs.reference}/").status_code == 404
    assert fan_client.post(f"/bookings/{theirs.reference}/cancel/").status_code == 404
    assert fan_client.get("/bookings/NOSUCHREF/").status_code == 404
    assert Booking.objects.get(pk=theirs.pk).status == Booking.Status.PENDING_PAYMENT


def test_my_bookings_lists_only_mine(event, seats, fan_client, admitted_fan, admitted_other_fan):
    seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk])
    mine = booking_create(user=admitted_fan, event=event)
    seats_hold(user=admitted_other_fan, event=event, seat_ids=[seats[1].pk])
    theirs = booking_create(user=admitted_other_fan, event=event)

    html = fan_client.get(reverse("bookings:list")).content.decode()

    assert mine.reference in html
    assert "₹12,500" in html
    assert theirs.reference not in html


def test_my_bookings_needs_a_login():
    response = Client().get(reverse("bookings:list"))

    assert response.status_code == 302
    assert "next=/bookings/" in response["Location"]


def test_a_fan_can_cancel_a_pending_booking_and_its_seats_go_back_on_sale(event, seats, fan_client):
    _hold(fan_client, event, seats[0])
    fan_client.post(_url("checkout", event))
    booking = Booking.objects.get()

    response = fan_client.post(f"/bookings/{booking.reference}/cancel/", follow=True)

    assert "Your booking was cancelled" in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert not SeatHold.objects.exists()


def test_with_the_per_process_caches_on_a_fans_own_seats_are_exact_others_show_within_the_second(
    event, seats, categories, fan_client, admitted_fan, admitted_other_fan, settings
):
    # The drawn map is shared per process for LOCAL_CACHE_SECONDS (core.local_cache); the fan's own
    # holds are read for every page and drawn as theirs on it; the socket's snapshot corrects the rest.
    settings.LOCAL_CACHE_SECONDS = 60
    local_cache.clear_all()
    first = fan_client.get(_url("seat_map", event)).content.decode()
    assert "s-available" in _seat_button(first, seats[3].pk)

    seats_hold(user=admitted_fan, event=event, seat_ids=[seats[3].pk])
    seats_hold(user=admitted_other_fan, event=event, seat_ids=[seats[4].pk])
    again = fan_client.get(_url("seat_map", event)).content.decode()
    mine = _seat_button(again, seats[3].pk)
    assert 's-held_by_me"' in mine
    assert 'aria-pressed="true"' in mine
    assert "selected by you" in mine
    assert "s-available" in _seat_button(again, seats[4].pk)  # drawn a moment ago: not yet
    htmx_map = fan_client.get(_url("seat_map", event), HTTP_HX_TARGET="seat-map", **HTMX).content.decode()
    assert 's-held_by_me"' in _seat_button(htmx_map, seats[3].pk)

    bookings_views._drawn_maps.clear()  # the drawn map's second is over
    later = fan_client.get(_url("seat_map", event)).content.decode()
    assert 's-held"' in _seat_button(later, seats[4].pk)
    assert 's-held_by_me"' in _seat_button(later, seats[3].pk)


def test_with_the_per_process_caches_on_a_staff_edit_shows_at_once(
    event, seats, categories, fan_client, admitted_other_fan, settings
):
    settings.LOCAL_CACHE_SECONDS = 60
    local_cache.clear_all()
    first = fan_client.get(_url("seat_map", event)).content.decode()
    assert "s-available" in _seat_button(first, seats[3].pk)

    seats_hold(user=admitted_other_fan, event=event, seat_ids=[seats[3].pk])
    seats[9].section = "B"
    seats[9].save()
    again = fan_client.get(_url("seat_map", event) + "?section=all").content.decode()

    assert 's-held"' in _seat_button(again, seats[3].pk)
    assert "Section B" in again
