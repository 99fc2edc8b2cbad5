"""Steps of the fan's and the staff's journeys, shared by browser tests so later features add steps."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from playwright.sync_api import Page, expect

from queueing.tests.helpers import in_thread

FAN_PASSWORD = "a-long-fan-passphrase-42"


def sign_up(page: Page, *, email: str, password: str = FAN_PASSWORD, first_name: str = "Asha") -> None:
    page.goto("/accounts/signup/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("First name").fill(first_name)
    page.get_by_label("Last name").fill("Fan")
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password confirmation").fill(password)
    page.get_by_role("button", name="Sign up").click()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()


def log_in(page: Page, *, email: str, password: str = FAN_PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()


def open_event(page: Page, *, event_name: str) -> None:
    page.goto("/")
    page.get_by_role("link", name=event_name).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(event_name)


# --- Waiting room --------------------------------------------------------------------------------


def join_queue(page: Page) -> None:
    """On the event page: join the queue and arrive on the queue page.

    The demo event asks for the join challenge: the vendored ALTCHA widget solves it in the browser
    when the form is submitted (a refused join would arrive here with an error message)."""
    with page.expect_response(re.compile(r"/queue/challenge/$")) as challenge:
        page.get_by_role("button", name="Join the queue").click()
    assert challenge.value.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Waiting room")
    expect(page.locator(".message-error")).to_have_count(0)
    expect(page.locator(".message-success, .message-info").first).to_be_visible()


def verify_email_by_link(page: Page, link: str) -> None:
    """Open the link of the verification e-mail."""
    page.goto(link)
    expect(page.locator(".message-success")).to_contain_text("e-mail address is verified")


def expect_place_in_line(page: Page, position: int, *, timeout: float = 5000) -> None:
    expect(page.locator('#queue-status [data-queue-field="position"]')).to_have_text(
        f"{position:,}", timeout=timeout
    )


def expect_queue_updates(page: Page, *, mode: str, timeout: float = 5000) -> None:
    """``mode`` is "live" (WebSocket) or "polling" (the fallback)."""
    expect(page.locator(f'[data-queue-connection="{mode}"]')).to_be_attached(timeout=timeout)


def expect_seat_map(page: Page, *, event_slug: str, timeout: float = 5000) -> None:
    page.wait_for_url(f"**/events/{event_slug}/seats/", timeout=timeout)


# --- Seat map ------------------------------------------------------------------------------------


def open_seat_map(page: Page, *, event_slug: str) -> None:
    page.goto(f"/events/{event_slug}/seats/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose your seats")


def expect_seat_map_updates(page: Page, *, mode: str, timeout: float = 5000) -> None:
    """``mode`` is "live" (WebSocket) or "polling" (the fallback)."""
    expect(page.locator(f'[data-seat-connection="{mode}"]')).to_be_attached(timeout=timeout)


def seat(page: Page, seat_id: int):
    return page.locator(f"#s{seat_id}")


def pick_seat(page: Page, seat_id: int) -> None:
    """Click a seat (hold it, or let it go if it is the fan's) and wait for the server's answer."""
    seat(page, seat_id).click()
    expect(seat(page, seat_id)).not_to_have_class(re.compile(r"\bis-pending\b"))


def expect_seat_state(page: Page, seat_id: int, state: str, *, timeout: float = 5000) -> None:
    """``state``: available, held, held_by_me or sold."""
    expect(seat(page, seat_id)).to_have_class(re.compile(rf"\bs-{state}\b"), timeout=timeout)


def expect_seats_total(page: Page, total: str) -> None:
    expect(page.locator("#seat-summary [data-seat-total]")).to_have_text(total)


# --- Checkout and payment (payments) ---------------------------------------------------------------


def continue_to_payment(page: Page) -> str:
    """On the seat map: book the held seats; arrive straight on the pay page. Returns the reference."""
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(re.compile(r"/bookings/[A-Z0-9]+/pay/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pay for booking")
    return page.url.rstrip("/").rsplit("/", 2)[-2]


def open_payment(page: Page) -> None:
    """On the booking page: the payment panel's "Pay ..." button, to the checkout page."""
    panel = page.locator("#booking-payment")
    expect(
        panel,
        "The booking page needs the payment panel: {% load payment_tags %}{% booking_payment booking %}",
    ).to_be_attached(timeout=5000)
    panel.get_by_role("link", name=re.compile(r"^Pay ")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pay for booking")


def pay_with_simulated_provider(page: Page, *, succeed: bool = True) -> None:
    """On the offline checkout page: the bank's answer; arrive back on the booking page."""
    page.get_by_role("button", name="Payment succeeds" if succeed else "Payment is declined").click()
    page.wait_for_url(re.compile(r"/bookings/[A-Z0-9]+/$"))


def expect_tickets(page: Page, count: int) -> None:
    """On the booking page: ``count`` tickets, each with its code and QR code."""
    tickets = page.locator("#booking-payment .ticket")
    expect(tickets).to_have_count(count)
    for index in range(count):
        code = tickets.nth(index).get_attribute("data-ticket-code")
        expect(tickets.nth(index).get_by_role("img", name=f"QR code of ticket {code}")).to_be_visible()


def outside_playwright(function, *, timeout: float = 10, **kwargs):
    """Call ``function(**kwargs)`` in a thread of its own. Playwright's sync API keeps an event loop
    running in the test's thread; the services send notifications after they commit, which needs a
    thread without one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(in_thread(function), **kwargs).result(timeout=timeout)
