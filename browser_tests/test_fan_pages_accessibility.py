"""Every fan page, in every state that matters, at 1280x800 and 390x844: zero axe-core violations (WCAG
2.0-2.2 A/AA and best practices, any impact) and no page wider than the phone's screen.

States: public pages; the queue (pre-queue, waiting, paused, admitted); a sold-out event's waiting
list (to join, joined, an offer) and the pre-queue lottery's page (before and after the draw); the seat
map (choosing, holding, with seats held by others and sold, one section on a phone); paying; paid;
declined; the clock's two warnings; and after the time ran out. Problems are collected per test and
reported together.

The seat pages are audited on a small on-sale venue (the demo's categories and colours, 2 sections of
6 rows of 10): axe takes about a minute on the demo's 2,400 seats, and every seat is the same markup
from one generator (``bookings.templatetags.seat_map_tags``). The demo venue is what the keyboard and
phone journeys use.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import User
from bookings.models import Booking, SeatHold
from bookings.services import seats_hold
from bookings.tests.conftest import admit, time_passes_beyond_the_window
from browser_tests import journey
from browser_tests.a11y import audit
from events.management.commands.seed_demo import GOLD, PLATINUM, SILVER
from events.models import Event, Seat
from events.services import CategorySpec, EventSpec, SeatMapLayout, event_create, venue_get_or_create
from queueing.models import AdmissionPass
from queueing.services import queue_admit_batch, queue_join, queue_open_prequeue, queue_pause, queue_resume
from waitlist.services import waitlist_offer_seats

DEMO_EVENT_SLUG = "turnstile-live-demo"
PRESALE_EVENT_SLUG = "turnstile-live-presale"
FAN_EMAIL = "fan1@turnstile.local"
OTHER_FAN_EMAIL = "fan2@turnstile.local"
FAN_PASSWORD = "turnstile-fan"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def small_event(demo_event) -> Event:
    """On sale, two sections of 6 rows of 10 seats: Platinum, Gold and Silver rows, as in the demo."""
    now = timezone.now()
    venue, _created = venue_get_or_create(name="Small Hall", city="Pune")
    return event_create(
        spec=EventSpec(
            slug="small-hall-night",
            name="Small Hall Night",
            venue=venue,
            starts_at=now + timedelta(days=10),
            sale_opens_at=now - timedelta(hours=1),
            categories=[
                CategorySpec(name="Platinum", price=Decimal("12500.00"), colour=PLATINUM, rows=(1, 2)),
                CategorySpec(name="Gold", price=Decimal("7500.00"), colour=GOLD, rows=(3, 4)),
                CategorySpec(name="Silver", price=Decimal("2500.00"), colour=SILVER, rows=(5, 6)),
            ],
            layout=SeatMapLayout(sections=["North", "South"], rows_per_section=6, seats_per_row=10),
        )
    )


def _seat(event: Event, section: str, row: str, number: int) -> Seat:
    return Seat.objects.get(event=event, section=section, row=row, number=number)


def _fan(email: str = FAN_EMAIL) -> User:
    return User.objects.get(email=email)


def test_public_pages(page: Page, demo_event):
    problems: list[str] = []
    page.goto("/")
    problems += audit(page, "event list")
    page.goto(demo_event.get_absolute_url())
    problems += audit(page, "event on sale")
    page.goto(Event.objects.get(slug=PRESALE_EVENT_SLUG).get_absolute_url())
    problems += audit(page, "event before its sale")
    page.goto("/accounts/login/")
    problems += audit(page, "log in")
    page.goto("/accounts/signup/")
    problems += audit(page, "sign up")
    page.goto("/no-such-page/")
    problems += audit(page, "not found")

    assert problems == []


def test_the_queue_in_every_state(page: Page, demo_event):
    presale = Event.objects.get(slug=PRESALE_EVENT_SLUG)
    problems: list[str] = []
    journey.log_in(page, email=FAN_EMAIL, password=FAN_PASSWORD)
    problems += audit(page, "logged in, with a message", reload_for_phone=False)

    page.goto(presale.get_absolute_url())
    journey.join_queue(page)
    expect(page.locator("#queue-status")).to_have_attribute("data-queue-state", "prequeue")
    # The ticking countdown is not in a live region (it would be read out every second).
    countdown = page.locator("#queue-status .countdown")
    expect(countdown).to_have_attribute("role", "timer")
    assert countdown.evaluate("el => el.closest('[aria-live]')") is None
    problems += audit(page, "queue, pre-queue (with a message)")

    ahead = [User.objects.create_user(email=f"ahead{n}@example.com", password="x" * 12) for n in range(3)]
    for fan in ahead:
        journey.outside_playwright(queue_join, user=fan, event=demo_event)
    page.goto(demo_event.get_absolute_url())
    journey.join_queue(page)
    journey.expect_place_in_line(page, 4)
    problems += audit(page, "queue, waiting")

    journey.outside_playwright(queue_pause, event=demo_event)
    page.reload()
    expect(page.locator('[data-queue-field="estimatedWaitTime"]')).to_have_text("paused")
    expect(page.locator('[data-queue-field="summary"]')).to_contain_text("Estimated wait: paused.")
    expect(page.locator('[data-queue-field="paused"]')).to_be_visible()
    expect(page.locator("#queue-status")).not_to_contain_text("less than a minute")
    problems += audit(page, "queue, paused")

    # Off the queue page first: its socket would otherwise carry the fan to the seat map on admission,
    # racing (and aborting) the navigation below.
    page.goto(demo_event.get_absolute_url())
    journey.outside_playwright(queue_resume, event=demo_event)
    journey.outside_playwright(queue_admit_batch, event=demo_event, size=100)
    page.goto(f"/events/{demo_event.slug}/queue/")
    expect(page.locator("#queue-status")).to_have_attribute("data-queue-state", "admitted")
    problems += audit(page, "queue, admitted")

    assert problems == []


def test_choosing_paying_paid_declined_and_expired(page: Page, small_event):
    fan, other = _fan(), _fan(OTHER_FAN_EMAIL)
    journey.outside_playwright(lambda: admit(small_event, fan, other))
    taken = _seat(small_event, "North", "A", 9)
    journey.outside_playwright(seats_hold, user=other, event=small_event, seat_ids=[taken.pk])
    problems: list[str] = []

    journey.log_in(page, email=FAN_EMAIL, password=FAN_PASSWORD)
    page.goto("/accounts/password/")
    problems += audit(page, "change password")
    page.goto(f"/events/{PRESALE_EVENT_SLUG}/seats/")
    problems += audit(page, "seat map without a turn")

    journey.open_seat_map(page, event_slug=small_event.slug)
    problems += audit(page, "seat map, nothing chosen")

    # A seat someone else holds: said on screen, not only to screen readers.
    journey.seat(page, taken.pk).click(force=True)  # aria-disabled: Playwright would wait for it
    expect(page.locator("[data-seat-announce]")).to_have_text(
        "Section North, Row A, Seat 9 is held by another fan. Please choose another seat."
    )
    expect(page.locator("[data-seat-announce]")).to_be_visible()

    platinum, silver = _seat(small_event, "North", "A", 5), _seat(small_event, "South", "F", 10)
    journey.pick_seat(page, platinum.pk)
    journey.pick_seat(page, silver.pk)
    journey.expect_seats_total(page, "₹15,000")
    problems += audit(page, "seat map, holding seats (whole venue; overview on a phone)")
    page.goto(f"/events/{small_event.slug}/seats/?section=North")
    problems += audit(page, "seat map, one section")

    journey.open_seat_map(page, event_slug=small_event.slug)
    reference = journey.continue_to_payment(page)
    problems += audit(page, "pay page")
    page.goto(f"/bookings/{reference}/")
    problems += audit(page, "booking awaiting payment")
    page.goto(f"/bookings/{reference}/pay/")
    journey.pay_with_simulated_provider(page, succeed=True)
    journey.expect_tickets(page, 2)
    problems += audit(page, "booking paid, with tickets")

    journey.open_seat_map(page, event_slug=small_event.slug)
    journey.expect_seat_state(page, platinum.pk, "sold")
    gold = _seat(small_event, "North", "C", 7)
    journey.pick_seat(page, gold.pk)
    problems += audit(page, "seat map with seats sold and held by others")
    declined = journey.continue_to_payment(page)
    journey.pay_with_simulated_provider(page, succeed=False)
    expect(page.locator("#booking-payment")).to_contain_text("Your payment was declined")
    problems += audit(page, "booking declined")
    page.goto("/bookings/")
    expect(page.locator(".booking-card")).to_have_count(2)
    problems += audit(page, "my bookings")

    journey.open_seat_map(page, event_slug=small_event.slug)
    journey.pick_seat(page, gold.pk)
    unpaid = journey.continue_to_payment(page)
    journey.outside_playwright(time_passes_beyond_the_window, event=small_event)
    page.goto(f"/events/{small_event.slug}/seats/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your time ran out")
    expect(page.get_by_role("button", name="Join the queue again")).to_be_visible()
    problems += audit(page, "time ran out")
    page.goto(f"/bookings/{unpaid}/")
    expect(page.locator("#booking-payment")).to_contain_text("not paid in time")
    problems += audit(page, "booking expired")
    assert declined != unpaid

    assert problems == []


def test_the_clock_warns_at_two_minutes_and_30_seconds_then_says_what_happened(page: Page, small_event):
    fan = _fan()
    journey.outside_playwright(lambda: admit(small_event, fan))
    seat = _seat(small_event, "South", "C", 3)
    journey.outside_playwright(seats_hold, user=fan, event=small_event, seat_ids=[seat.pk])
    soon = timezone.now() + timedelta(seconds=125)
    AdmissionPass.objects.filter(user=fan).update(expires_at=soon)
    SeatHold.objects.filter(user=fan).update(expires_at=soon)
    problems: list[str] = []

    journey.log_in(page, email=FAN_EMAIL, password=FAN_PASSWORD)
    page.clock.install()
    journey.open_seat_map(page, event_slug=small_event.slug)
    clock = page.locator("#seat-summary [data-clock]")
    warning = page.locator("[data-clock-warning]")
    expect(clock.locator(".countdown")).to_have_text(re.compile(r"^02:0[0-5]$"))
    expect(warning).to_have_text("")
    assert warning.get_attribute("role") == "alert"  # spoken when its text is set

    page.clock.run_for(10_000)
    expect(warning).to_contain_text("Less than 2 minutes left.")
    expect(clock).to_have_attribute("data-level", "warning")
    problems += audit(page, "seat map, 2 minutes left", reload_for_phone=False)

    page.clock.run_for(90_000)
    expect(warning).to_contain_text("Less than 30 seconds left.")
    expect(clock).to_have_attribute("data-level", "urgent")
    problems += audit(page, "seat map, 30 seconds left", reload_for_phone=False)

    # Time's up: the page asks the server, which says what happened and offers the way back.
    journey.outside_playwright(time_passes_beyond_the_window, event=small_event)
    page.clock.run_for(40_000)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your time ran out", timeout=5000)
    expect(page.locator("main")).to_contain_text("went back on sale")
    assert not Booking.objects.exists()

    assert problems == []


def _hold_every_seat(event: Event, holder: User) -> None:
    admission = admit(event, holder)[0]
    SeatHold.objects.bulk_create(
        SeatHold(
            event=event, seat=seat, user=holder, admission_pass=admission, expires_at=admission.expires_at
        )
        for seat in Seat.objects.filter(event=event)
    )


def test_the_waiting_list_and_the_lottery_pages(page: Page, small_event):
    problems: list[str] = []
    journey.outside_playwright(_hold_every_seat, event=small_event, holder=_fan(OTHER_FAN_EMAIL))
    journey.log_in(page, email=FAN_EMAIL, password=FAN_PASSWORD)

    page.goto(small_event.get_absolute_url())
    problems += audit(page, "event sold out, waiting list to join")
    page.get_by_role("button", name="Join the waiting list").click()
    expect(page.get_by_role("button", name="Leave the waiting list")).to_be_visible()
    problems += audit(page, "event sold out, on the waiting list")

    SeatHold.objects.filter(seat=Seat.objects.filter(event=small_event).first()).delete()
    journey.outside_playwright(waitlist_offer_seats, event=small_event)
    page.reload()
    expect(page.get_by_text("You have an offer until")).to_be_visible()
    problems += audit(page, "event, waiting-list offer")
    page.goto(f"/events/{small_event.slug}/queue/")
    expect(page.get_by_text("You have an offer until")).to_be_visible()
    problems += audit(page, "queue, waiting-list offer")

    presale = Event.objects.get(slug=PRESALE_EVENT_SLUG)
    page.goto(f"/events/{presale.slug}/lottery/")
    problems += audit(page, "lottery before the draw")
    journey.outside_playwright(queue_join, user=_fan(), event=presale)
    Event.objects.filter(pk=presale.pk).update(sale_opens_at=timezone.now() - timedelta(seconds=1))
    presale.refresh_from_db()
    journey.outside_playwright(queue_open_prequeue, event=presale)
    page.goto(f"/events/{presale.slug}/lottery/")
    expect(page.locator("[data-lottery-seed]")).to_be_visible()
    problems += audit(page, "lottery after the draw")

    assert problems == []
