"""Steps of the fan's and the staff's journeys, shared by browser tests so later features add steps."""

from __future__ import annotations

from playwright.sync_api import Page, expect

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
    """On the event page: join the queue and arrive on the queue page."""
    page.get_by_role("button", name="Join the queue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Waiting room")


def expect_place_in_line(page: Page, position: int, *, timeout: float = 5000) -> None:
    expect(page.locator('#queue-status [data-queue-field="position"]')).to_have_text(
        f"{position:,}", timeout=timeout
    )


def expect_queue_updates(page: Page, *, mode: str, timeout: float = 5000) -> None:
    """``mode`` is "live" (WebSocket) or "polling" (the fallback)."""
    expect(page.locator(f'[data-queue-connection="{mode}"]')).to_be_attached(timeout=timeout)


def expect_seat_map(page: Page, *, event_slug: str, timeout: float = 5000) -> None:
    page.wait_for_url(f"**/events/{event_slug}/seats/", timeout=timeout)
