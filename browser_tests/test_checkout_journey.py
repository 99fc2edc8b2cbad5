"""The whole purchase offline (simulated provider): queue → admission → seats → checkout → tickets; and a
declined payment puts the seats back on another fan's map, live.

Admissions run here, in the test process, on the live server's database and Redis; seat changes cross
the Redis channel layer to the server's sockets, as in production. No Stripe keys: the simulated provider.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from accounts.models import User
from bookings.models import Booking
from bookings.tests.conftest import admit as admit_fans
from browser_tests import journey
from events.models import Event, Seat
from queueing.services import queue_admit_batch

DEMO_EVENT_NAME = "Turnstile Live: Demo Night"
DEMO_EVENT_SLUG = "turnstile-live-demo"
FAN_EMAIL = "fan1@turnstile.local"
OTHER_FAN_EMAIL = "fan2@turnstile.local"
FAN_PASSWORD = "turnstile-fan"

pytestmark = pytest.mark.django_db(transaction=True)


def _admit(event: Event, users: list[User]) -> None:
    admit_fans(event, *users)


@pytest.fixture
def other_page(browser: Browser, browser_context_args) -> Page:
    """A second browser context: another fan on another device."""
    context = browser.new_context(**browser_context_args)
    yield context.new_page()
    context.close()


def _seat(event: Event, section: str, row: str, number: int) -> Seat:
    return Seat.objects.get(event=event, section=section, row=row, number=number)


def test_a_fan_queues_is_admitted_picks_seats_pays_offline_and_gets_tickets(page: Page, demo_event):
    platinum = _seat(demo_event, "North", "A", 5)
    silver = _seat(demo_event, "West", "Y", 20)

    journey.log_in(page, email=FAN_EMAIL, password=FAN_PASSWORD)
    journey.open_event(page, event_name=DEMO_EVENT_NAME)
    journey.join_queue(page)
    journey.outside_playwright(queue_admit_batch, event=demo_event, size=1)
    journey.expect_seat_map(page, event_slug=DEMO_EVENT_SLUG, timeout=7000)

    journey.pick_seat(page, platinum.pk)
    journey.pick_seat(page, silver.pk)
    journey.expect_seats_total(page, "₹15,000")
    reference = journey.continue_to_payment(page)  # holding seats leads straight to paying
    expect(page.locator(".checkout-seats li")).to_have_count(2)
    expect(page.locator(".clock .countdown")).to_have_text(re.compile(r"^(09|10):\d\d$"))
    expect(page.locator(".payment-amount")).to_have_text("₹15,000")
    journey.pay_with_simulated_provider(page, succeed=True)

    expect(page.locator(".messages")).to_contain_text("Payment received: your booking is confirmed")
    journey.expect_tickets(page, 2)
    booking = Booking.objects.get(reference=reference)
    assert booking.status == Booking.Status.CONFIRMED
    assert sorted(booking.tickets.values_list("item__seat_id", flat=True)) == sorted([platinum.pk, silver.pk])


def test_a_declined_payment_puts_the_seats_back_on_the_other_fans_map(
    page: Page, other_page: Page, demo_event
):
    gold = _seat(demo_event, "North", "F", 7)
    fans = [User.objects.get(email=FAN_EMAIL), User.objects.get(email=OTHER_FAN_EMAIL)]
    journey.outside_playwright(_admit, event=demo_event, users=fans)

    journey.log_in(other_page, email=OTHER_FAN_EMAIL, password=FAN_PASSWORD)
    journey.open_seat_map(other_page, event_slug=DEMO_EVENT_SLUG)
    journey.expect_seat_map_updates(other_page, mode="live")
    other_page.evaluate("window.notReloaded = true")

    journey.log_in(page, email=FAN_EMAIL, password=FAN_PASSWORD)
    journey.open_seat_map(page, event_slug=DEMO_EVENT_SLUG)
    journey.pick_seat(page, gold.pk)
    journey.expect_seat_state(other_page, gold.pk, "held", timeout=3000)
    journey.continue_to_payment(page)

    journey.pay_with_simulated_provider(page, succeed=False)

    # Said once (the payment panel, not also a message above it), with the way back to the seat map.
    expect(page.get_by_text("Your payment was declined")).to_have_count(1)
    expect(page.locator("#booking-payment")).to_contain_text("Your payment was declined")
    expect(page.locator("#booking-payment").get_by_role("link", name="Choose seats again")).to_have_attribute(
        "href", f"/events/{DEMO_EVENT_SLUG}/seats/"
    )
    journey.expect_seat_state(other_page, gold.pk, "available", timeout=3000)
    assert other_page.evaluate("window.notReloaded") is True
    # The other fan can take it now.
    journey.pick_seat(other_page, gold.pk)
    journey.expect_seat_state(other_page, gold.pk, "held_by_me")
