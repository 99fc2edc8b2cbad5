"""Fixtures of the waiting-room tests: real PostgreSQL and Redis, no fakes."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.models import User
from events.tests.factories import EventFactory


@pytest.fixture
def event(db):
    """On sale, small batches so tests can see several of them."""
    return EventFactory(admission_batch_size=3, admission_interval_seconds=30, booking_window_minutes=10)


@pytest.fixture
def make_fans(db):
    """Create ``n`` fans quickly (no password hashing), in creation order."""
    counter = iter(range(1_000_000))

    def make(n: int) -> list[User]:
        start = next(counter) * 10_000
        users = [
            User(email=f"queue-fan-{start + i}@example.com", password="!", email_verified_at=timezone.now())
            for i in range(n)
        ]
        return User.objects.bulk_create(users)

    return make
