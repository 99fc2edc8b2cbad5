"""The fan signs up, logs in and opens the demo event; staff open the admin."""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from accounts.models import User
from accounts.services import email_verification_token
from browser_tests import journey

DEMO_EVENT_NAME = "Turnstile Live: Demo Night"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo_data():
    call_command("seed_demo", verbosity=0)


def test_fan_signs_up_logs_in_and_opens_the_demo_event(page: Page, demo_data):
    journey.sign_up(page, email="new.fan@example.com")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    journey.log_out(page)
    expect(page.get_by_role("link", name="Log in")).to_be_visible()

    journey.log_in(page, email="new.fan@example.com")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    journey.open_event(page, event_name=DEMO_EVENT_NAME)
    for category in ("Silver", "Gold", "Platinum"):
        expect(page.get_by_role("cell", name=category, exact=False).first).to_be_visible()
    expect(page.get_by_text("12,500").first).to_be_visible()


def test_a_new_fan_verifies_the_e_mail_address_then_joins_through_the_challenge(page: Page, demo_data):
    journey.sign_up(page, email="new.fan@example.com")
    expect(page.get_by_text("We sent a link to new.fan@example.com")).to_be_visible()
    journey.open_event(page, event_name=DEMO_EVENT_NAME)
    expect(page.get_by_role("button", name="Join the queue")).to_have_count(0)
    expect(page.get_by_role("button", name="Send the link again")).to_be_visible()

    # The link of the e-mail (the mail itself is sent in the server process: its tests are in accounts/).
    user = User.objects.get(email="new.fan@example.com")
    journey.verify_email_by_link(page, f"/accounts/verify-email/{email_verification_token(user=user)}/")
    journey.open_event(page, event_name=DEMO_EVENT_NAME)
    journey.join_queue(page)  # the real ALTCHA widget solves the demo event's challenge
    journey.expect_place_in_line(page, 1)


def test_staff_opens_the_admin_and_a_fan_cannot(page: Page, demo_data):
    journey.log_in(page, email="staff@turnstile.local", password="turnstile-staff")
    page.goto("/admin/")
    page.get_by_role("link", name="Events", exact=True).last.click()
    expect(page).to_have_url(re.compile(r"/admin/events/event/$"))
    expect(page.get_by_role("link", name=DEMO_EVENT_NAME)).to_be_visible()

    page.get_by_role("button", name="Log out").first.click()
    journey.log_in(page, email="fan1@turnstile.local", password="turnstile-fan")
    page.goto("/admin/")
    assert "/admin/login/" in page.url
    expect(page.get_by_text("not authorized to access this page")).to_be_visible()
