"""The operator's journey: staff watch an on-sale live from the box-office dashboard, pause and resume
admission from it, and refund a booking through the admin's confirmation page.

Fans join and buy in the test process, on the live server's database and Redis (simulated payments).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.tests.factories import UserFactory
from bookings.models import Booking
from bookings.tests import conftest as bookings_fixtures
from boxoffice.models import SaleControlAction
from boxoffice.tests.conftest import buy
from browser_tests import journey
from queueing.models import EventQueue
from queueing.services import queue_admit_batch, queue_join

pytestmark = pytest.mark.django_db(transaction=True)

event = bookings_fixtures.event
categories = bookings_fixtures.categories
seats = bookings_fixtures.seats
make_fans = bookings_fixtures.make_fans

STAFF_EMAIL = "boxoffice@turnstile.local"
STAFF_PASSWORD = "a-long-staff-passphrase-42"
LIVE_TIMEOUT = 10_000  # the figures poll every 3 s


@pytest.fixture
def staff(db):
    user = UserFactory(email=STAFF_EMAIL, is_staff=True, is_superuser=True)
    user.set_password(STAFF_PASSWORD)
    user.save()
    return user


@pytest.fixture
def operator_page(page: Page, staff) -> Page:
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/admin/login/")
    page.locator("#id_username").fill(STAFF_EMAIL)
    page.locator("#id_password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    return page


def _confirm_control(page: Page, button_id: str) -> None:
    page.locator(f"#{button_id}").click()
    page.locator("#confirm-control").click()


def test_staff_run_a_sale_from_the_box_office(operator_page: Page, staff, event, seats, make_fans):
    page = operator_page
    fans = make_fans(5)

    # From the event's admin page to its dashboard.
    page.goto(f"/admin/events/event/{event.pk}/change/")
    page.get_by_role("link", name="Box office (live)").click()
    expect(page.locator("#fig-waiting")).to_have_text("0")
    expect(page.locator("#chart-queue .uplot")).to_be_attached()

    # Fans join: the queue length changes on the open page, without a reload.
    for fan in fans:
        journey.outside_playwright(queue_join, user=fan, event=event, timeout=20)
    expect(page.locator("#fig-waiting")).to_have_text("5", timeout=LIVE_TIMEOUT)

    # Two are admitted and one buys two seats: seats sold changes live too.
    journey.outside_playwright(queue_admit_batch, event=event, size=2, timeout=20)
    booking = journey.outside_playwright(
        buy, fan=fans[0], event=event, seat_list=[seats[0], seats[5]], timeout=20
    )
    assert booking.status == Booking.Status.CONFIRMED
    expect(page.locator("#fig-seats-sold")).to_have_text("2", timeout=LIVE_TIMEOUT)
    expect(page.locator("#fig-waiting")).to_have_text("3", timeout=LIVE_TIMEOUT)

    # Pause, then resume, each through its confirmation page.
    _confirm_control(page, "control-pause")
    expect(page.locator("#admission-state")).to_have_text("Admission paused")
    expect(page.locator(".messagelist .success")).to_contain_text("Admission paused")
    assert EventQueue.objects.get(event=event).is_paused
    _confirm_control(page, "control-resume")
    expect(page.locator("#admission-state")).to_have_text("Admission running")
    assert not EventQueue.objects.get(event=event).is_paused
    expect(page.locator(".bo-audit tbody tr")).to_have_count(2)
    assert SaleControlAction.objects.filter(actor=staff).count() == 2

    # Refund the booking from the admin: a confirmation page first, then the refund.
    page.goto("/admin/bookings/booking/")
    results = page.locator("#result_list")
    fits = results.evaluate("table => table.getBoundingClientRect().right <= window.innerWidth")
    assert fits, "the bookings list must fit 1280x800 without a horizontal scroll"
    expect(results.get_by_text("₹15,000")).to_be_visible()
    page.locator(f'input[name="_selected_action"][value="{booking.pk}"]').check()
    page.locator('select[name="action"]').select_option("refund_bookings")
    page.locator('button[name="index"]').click()
    expect(page.get_by_role("heading", name="Refund these bookings?")).to_be_visible()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED  # nothing happens before the confirmation
    page.get_by_role("button", name="Yes, refund").click()
    expect(page.locator(".messagelist .success")).to_contain_text("1 booking refunded")
    booking.refresh_from_db()
    assert booking.status == Booking.Status.REFUNDED

    # Back on the dashboard, the refund shows in the money and the seats are for sale again.
    page.goto(f"/box-office/events/{event.pk}/")
    expect(page.locator("#fig-refunded")).to_have_text("₹15,000")
    expect(page.locator("#fig-seats-sold")).to_have_text("0")
