"""Fixtures of the payments tests: real PostgreSQL and Redis, fans admitted through the real queue, the real
``stripe`` library talking to a local fake Stripe server, webhooks signed as Stripe signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import socket
import time
from typing import Any

import pytest
from django.urls import reverse

from bookings.models import Booking
from bookings.services import booking_create, seats_hold
from bookings.tests import conftest as bookings_fixtures
from payments.tests.fake_stripe import FakeStripe

# The fixtures of the bookings tests: an event with ten seats, fans admitted through the real queue.
event = bookings_fixtures.event
categories = bookings_fixtures.categories
seats = bookings_fixtures.seats
admitted_fan = bookings_fixtures.admitted_fan
admitted_other_fan = bookings_fixtures.admitted_other_fan

WEBHOOK_SECRET = "whsec_test_turnstile"


@pytest.fixture
def fake_stripe():
    server = FakeStripe().start()
    yield server
    server.stop()


@pytest.fixture
def stripe_keys(settings, fake_stripe) -> FakeStripe:
    """Stripe is the active provider, and its API is the fake server."""
    settings.STRIPE_SECRET_KEY = "sk_test_turnstile"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_turnstile"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = fake_stripe.url
    settings.PAYMENTS_STRIPE_MAX_NETWORK_RETRIES = 0
    settings.PAYMENTS_STRIPE_TIMEOUT_SECONDS = 5
    return fake_stripe


@pytest.fixture
def no_stripe_keys(settings) -> None:
    """The embedded default: the offline simulated provider."""
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_PUBLISHABLE_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = ""
    settings.STRIPE_API_BASE = ""


@pytest.fixture
def unreachable_stripe(settings, stripe_keys) -> None:
    """Nothing listens on Stripe's address: connection refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{port}"


def book(fan, event, seat_list) -> Booking:
    seats_hold(user=fan, event=event, seat_ids=[seat.pk for seat in seat_list])
    return booking_create(user=fan, event=event)


@pytest.fixture
def pending_booking(event, seats, admitted_fan) -> Booking:
    """The fan's booking of a Platinum (12,500) and a Silver (2,500) seat: 15,000 INR."""
    return book(admitted_fan, event, [seats[0], seats[5]])


# --- Webhooks as Stripe sends them ----------------------------------------------------------------


def stripe_signature(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """``t=<ts>,v1=<hex HMAC-SHA256(secret, "<ts>.<payload>")>``, as Stripe signs webhooks."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def stripe_event(event_type: str, data_object: dict[str, Any], *, event_id: str | None = None) -> str:
    return json.dumps(
        {
            "id": event_id or f"evt_test_{secrets.token_hex(8)}",
            "object": "event",
            "api_version": "2026-10-28.endive",
            "created": int(time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
            "data": {"object": data_object},
        }
    )


def charge_refunded(intent: dict[str, Any], *, refund_id: str = "re_dashboard_1") -> dict[str, Any]:
    return {
        "id": "ch_test_1",
        "object": "charge",
        "amount": intent["amount"],
        "amount_refunded": intent["amount"],
        "refunded": True,
        "payment_intent": intent["id"],
        "refunds": {"object": "list", "data": [{"id": refund_id, "object": "refund"}]},
    }


@pytest.fixture
def post_webhook(client):
    """Deliver a (by default correctly signed) Stripe event to the webhook endpoint."""

    def post(payload: str, *, signature: str | None = None):
        return client.post(
            reverse("payments:stripe_webhook"),
            data=payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=stripe_signature(payload) if signature is None else signature,
        )

    return post
