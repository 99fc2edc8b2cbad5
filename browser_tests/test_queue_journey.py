"""The fan joins the queue, watches the place move and lands on the seat map when admitted.

The admissions run here, in the test process, on the same database and Redis as the live server;
their messages cross Redis pub/sub to the server's sockets, as in production.
"""

import pytest
from playwright.sync_api import Page, expect

from accounts.tests.factories import UserFactory
from browser_tests import journey
from events.models import Event
from queueing.services import queue_admit_batch, queue_join

DEMO_EVENT_NAME = "Turnstile Live: Demo Night"
DEMO_EVENT_SLUG = "turnstile-live-demo"
FAN_EMAIL = "fan1@turnstile.local"
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

pytestmark = pytest.mark.django_db(transaction=True)


def _fans_ahead(event: Event, count: int) -> None:
    for number in range(count):
        queue_join(user=UserFactory(email=f"early-bird-{number}@example.com"), event=event)


def test_fan_joins_sees_the_place_move_and_lands_on_the_seat_map_when_admitted(page: Page, demo_event):
    _fans_ahead(demo_event, 2)
    journey.log_in(page, email=FAN_EMAIL, password=FAN_PASSWORD)
    journey.open_event(page, event_name=DEMO_EVENT_NAME)

    journey.join_queue(page)
    journey.expect_place_in_line(page, 3)
    expect(page.locator("#queue-status")).to_contain_text("People ahead of you")
    journey.expect_queue_updates(page, mode="live")

    journey.outside_playwright(queue_admit_batch, event=demo_event, size=1)
    # Pushed over the socket: well before the 5-second poll (which is off while the socket is live).
    journey.expect_place_in_line(page, 2, timeout=3000)
    expect(page.locator('[data-queue-field="usersAhead"]')).to_have_text("1")

    journey.outside_playwright(queue_admit_batch, event=demo_event, size=2)
    journey.expect_seat_map(page, event_slug=DEMO_EVENT_SLUG, timeout=3000)


def test_the_open_queue_page_moves_across_two_admission_ticks_without_a_reload(page: Page, demo_event):
    _fans_ahead(demo_event, 4)
    journey.log_in(page, email=FAN_EMAIL, password=FAN_PASSWORD)
    journey.open_event(page, event_name=DEMO_EVENT_NAME)
    journey.join_queue(page)
    journey.expect_place_in_line(page, 5)
    journey.expect_queue_updates(page, mode="live")
    page.evaluate("window.stillTheSamePage = true")  # gone if the page reloads

    for tick, place in ((1, 3), (2, 1)):  # two ticks of two fans each
        journey.outside_playwright(queue_admit_batch, event=demo_event, size=2, tick=tick)
        # Pushed over the socket and derived by the page: well before the 5-second poll.
        journey.expect_place_in_line(page, place, timeout=3000)
        expect(page.locator('[data-queue-field="usersAhead"]')).to_have_text(str(place - 1))

    assert page.evaluate("window.stillTheSamePage") is True
    journey.expect_queue_updates(page, mode="live")


def test_with_websockets_blocked_the_place_still_updates_by_polling(page: Page, demo_event):
    page.add_init_script(BLOCK_WEBSOCKETS)
    _fans_ahead(demo_event, 1)
    journey.log_in(page, email=FAN_EMAIL, password=FAN_PASSWORD)
    journey.open_event(page, event_name=DEMO_EVENT_NAME)

    journey.join_queue(page)
    journey.expect_place_in_line(page, 2)
    journey.expect_queue_updates(page, mode="polling")

    journey.outside_playwright(queue_admit_batch, event=demo_event, size=1)
    journey.expect_place_in_line(page, 1, timeout=7000)

    journey.outside_playwright(queue_admit_batch, event=demo_event, size=1)
    journey.expect_seat_map(page, event_slug=DEMO_EVENT_SLUG, timeout=7000)
