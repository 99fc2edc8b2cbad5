"""An admitted fan picks seats on the map; another fan's map shows them taken without a reload.

The admission passes are given here, in the test process, through the real queue services on the same
database and Redis as the live server; seat changes cross the Redis channel layer to its sockets.
"""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect

from accounts.models import User
from bookings.services import seats_hold
from bookings.tests.conftest import admit as admit_fans
from browser_tests import journey
from events.models import Event, Seat

DEMO_EVENT_SLUG = "turnstile-live-demo"
FAN_EMAIL = "fan1@turnstile.local"
OTHER_FAN_EMAIL = "fan2@turnstile.local"
FAN_PASSWORD = "turnstile-fan"

# A WebSocket that never connects, as behind a proxy that blocks them.
BLOCK_WEBSOCKETS = """
window.WebSocket = function () {
  var socket = this;
  setTimeout(function () {
    if (socket.onerror) { socket.onerror(new Event("error")); }
    if (socket.onclose) { socket.onclose({ code: 1006 }); }
  }, 10);
};
window.WebSocket.prototype.send = function () {};
window.WebSocket.prototype.close = function () {};
"""
# Polling that never answers: the page only learns of other fans' holds from its own requests.
FREEZE_POLLING = "window.fetch = function () { return new Promise(function () {}); };"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo_event() -> Event:
    call_command("seed_demo", verbosity=0)
    event = Event.objects.get(slug=DEMO_EVENT_SLUG)
    fans = [User.objects.get(email=FAN_EMAIL), User.objects.get(email=OTHER_FAN_EMAIL)]
    journey.outside_playwright(_admit, event=event, users=fans)
    return event


def _admit(event: Event, users: list[User]) -> None:
    admit_fans(event, *users)


def _seat(event: Event, section: str, row: str, number: int) -> Seat:
    return Seat.objects.get(event=event, section=section, row=row, number=number)


@pytest.fixture
def other_page(browser: Browser, browser_context_args) -> Page:
    """A second browser context: another fan on another device."""
    context = browser.new_context(**browser_context_args)
    yield context.new_page()
    context.close()


def test_a_fan_holds_two_seats_and_another_fan_sees_them_taken_without_reload(
    page: Page, other_page: Page, demo_event
):
    platinum = _seat(demo_event, "North", "A", 1)
    gold = _seat(demo_event, "North", "F", 2)

    journey.log_in(other_page, email=OTHER_FAN_EMAIL, password=FAN_PASSWORD)
    journey.open_seat_map(other_page, event_slug=DEMO_EVENT_SLUG)
    journey.expect_seat_map_updates(other_page, mode="live")
    other_page.evaluate("window.notReloaded = true")
    journey.expect_seat_state(other_page, platinum.pk, "available")

    journey.log_in(page, email=FAN_EMAIL, password=FAN_PASSWORD)
    journey.open_seat_map(page, event_slug=DEMO_EVENT_SLUG)
    expect(page.locator(".seat-legend")).to_contain_text("Platinum ₹12,500")
    expect(journey.seat(page, platinum.pk)).to_have_attribute(
        "aria-label", "Section North, Row A, Seat 1, Platinum ₹12,500, available"
    )

    journey.pick_seat(page, platinum.pk)  # a click
    journey.seat(page, gold.pk).focus()
    page.keyboard.press("Enter")  # the keyboard works too

    journey.expect_seat_state(page, platinum.pk, "held_by_me")
    journey.expect_seat_state(page, gold.pk, "held_by_me")
    journey.expect_seats_total(page, "₹20,000")
    countdown = page.locator("#seat-summary .countdown")
    expect(countdown).to_have_text(re.compile(r"^(09|10):\d\d$"))
    expect(journey.seat(page, gold.pk)).to_have_attribute(
        "aria-label", "Section North, Row F, Seat 2, Gold ₹7,500, selected by you"
    )

    # The other fan's map: both seats taken, pushed over the WebSocket, no reload.
    journey.expect_seat_state(other_page, platinum.pk, "held", timeout=2000)
    journey.expect_seat_state(other_page, gold.pk, "held", timeout=2000)
    assert other_page.evaluate("window.notReloaded") is True

    # Letting one go frees it for the other fan at once.
    journey.pick_seat(page, platinum.pk)
    journey.expect_seats_total(page, "₹7,500")
    journey.expect_seat_state(other_page, platinum.pk, "available", timeout=2000)


def test_a_seat_taken_by_someone_else_first_gives_a_message_and_the_fan_keeps_their_seats(
    page: Page, demo_event
):
    page.add_init_script(BLOCK_WEBSOCKETS + FREEZE_POLLING)  # this map will not hear of the other fan
    mine = _seat(demo_event, "East", "P", 3)
    contested = _seat(demo_event, "East", "P", 4)
    journey.log_in(page, email=FAN_EMAIL, password=FAN_PASSWORD)
    journey.open_seat_map(page, event_slug=DEMO_EVENT_SLUG)
    journey.pick_seat(page, mine.pk)

    other = User.objects.get(email=OTHER_FAN_EMAIL)
    journey.outside_playwright(seats_hold, user=other, event=demo_event, seat_ids=[contested.pk])
    journey.expect_seat_state(page, contested.pk, "available")  # stale
    journey.pick_seat(page, contested.pk)

    expect(page.locator("#seat-summary [role=alert]")).to_contain_text("that seat has just been taken")
    journey.expect_seat_state(page, contested.pk, "held")
    journey.expect_seat_state(page, mine.pk, "held_by_me")
    journey.expect_seats_total(page, "₹2,500")


def test_with_websockets_blocked_the_map_still_updates_by_polling(page: Page, demo_event):
    page.add_init_script(BLOCK_WEBSOCKETS)
    seat = _seat(demo_event, "West", "Y", 24)
    other = User.objects.get(email=OTHER_FAN_EMAIL)

    journey.log_in(page, email=FAN_EMAIL, password=FAN_PASSWORD)
    journey.open_seat_map(page, event_slug=DEMO_EVENT_SLUG)
    journey.expect_seat_map_updates(page, mode="polling")

    journey.outside_playwright(seats_hold, user=other, event=demo_event, seat_ids=[seat.pk])
    journey.expect_seat_state(page, seat.pk, "held", timeout=7000)


def test_a_section_drawn_a_moment_ago_does_not_undo_what_the_socket_said_since(page: Page, demo_event):
    # The server draws a section at most LOCAL_CACHE_SECONDS before sending it (bookings.views):
    # here the section tab's answer is made stale on purpose, after the socket pushed a hold in it.
    journey.log_in(page, email=FAN_EMAIL, password=FAN_PASSWORD)
    journey.open_seat_map(page, event_slug=DEMO_EVENT_SLUG)
    journey.expect_seat_map_updates(page, mode="live")
    shown = page.locator("#seat-map").get_attribute("data-section")  # "": the whole venue
    seats = Seat.objects.filter(event=demo_event).order_by("pk")
    seat = seats.exclude(section=shown).first()
    in_view = (seats.filter(section=shown) if shown else seats.exclude(pk=seat.pk)).first()
    assert seat is not None
    assert in_view is not None
    other = User.objects.get(email=OTHER_FAN_EMAIL)
    journey.outside_playwright(seats_hold, user=other, event=demo_event, seat_ids=[seat.pk])
    # Pushed in order on one channel: once the second hold shows, the first has arrived too.
    journey.outside_playwright(seats_hold, user=other, event=demo_event, seat_ids=[in_view.pk])
    journey.expect_seat_state(page, in_view.pk, "held")

    def drawn_before_the_hold(route):
        response = route.fetch()
        body = re.sub(
            rf'(<button id="s{seat.pk}" class="c\d+ )s-held"', r'\1s-available"', response.text(), count=1
        )
        assert body != response.text()
        route.fulfill(response=response, body=body)

    page.route(re.compile(rf"/seats/\?section={re.escape(seat.section)}$"), drawn_before_the_hold)
    # Once htmx has settled the new section (its classes as the server drew them), after seatmap.js's own
    # listener, which was added first.
    page.evaluate(
        "window.mapSettled = new Promise(function (settled) {"
        " document.body.addEventListener('htmx:afterSettle', settled, {once: true}); }); undefined"
    )
    page.get_by_role("link", name=re.compile(rf"^{re.escape(seat.section)}\b")).click()
    page.evaluate("window.mapSettled.then(function () { return true; })")

    expect(page.locator("#seat-map")).to_have_attribute("data-section", seat.section)
    journey.expect_seat_state(page, seat.pk, "held", timeout=500)
