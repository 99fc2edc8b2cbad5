"""Demo data for a fresh machine: staff and fan accounts, a venue, an on-sale and a pre-sale event.

Idempotent: whatever already exists (matched by e-mail, venue name and event slug) is left as it is.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from events.models import Event
from events.services import (
    CategorySpec,
    EventSpec,
    SeatMapLayout,
    event_create_demo,
    venue_get_or_create,
)

STAFF_EMAIL = "staff@turnstile.local"
STAFF_PASSWORD = "turnstile-staff"  # noqa: S105 - published demo credentials, local use only
FAN_EMAILS = [f"fan{number}@turnstile.local" for number in range(1, 6)]
FAN_PASSWORD = "turnstile-fan"  # noqa: S105 - published demo credentials, local use only

DEMO_EVENT_SLUG = "turnstile-live-demo"
PRESALE_EVENT_SLUG = "turnstile-live-presale"

SILVER, GOLD, PLATINUM = "#9ca3af", "#d4a017", "#6d28d9"


class Command(BaseCommand):
    help = "Create the demo accounts, venue and events (safe to run again: existing data is kept)."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity = options["verbosity"]
        self._user(STAFF_EMAIL, STAFF_PASSWORD, staff=True)
        for email in FAN_EMAILS:
            self._user(email, FAN_PASSWORD, staff=False)

        venue, created = venue_get_or_create(
            name="Jawaharlal Nehru Stadium Arena",
            city="Mumbai",
            address="Demo Road, Mumbai 400001",
        )
        self._report("venue", str(venue), created)

        now = timezone.now().replace(second=0, microsecond=0)
        self._event(
            EventSpec(
                slug=DEMO_EVENT_SLUG,
                name="Turnstile Live: Demo Night",
                description=(
                    "A night of live music to try the whole journey: wait in the queue, pick seats on the "
                    "map, pay with the simulated provider and get your tickets."
                ),
                venue=venue,
                starts_at=(now + timedelta(days=30)).replace(hour=14, minute=30),  # 20:00 in Mumbai
                sale_opens_at=now - timedelta(hours=1),
                categories=[
                    CategorySpec(name="Platinum", price=Decimal("12500.00"), colour=PLATINUM, rows=(1, 5)),
                    CategorySpec(name="Gold", price=Decimal("7500.00"), colour=GOLD, rows=(6, 15)),
                    CategorySpec(name="Silver", price=Decimal("2500.00"), colour=SILVER, rows=(16, 25)),
                ],
                layout=SeatMapLayout(
                    sections=["North", "East", "South", "West"], rows_per_section=25, seats_per_row=24
                ),
            )
        )
        self._event(
            EventSpec(
                slug=PRESALE_EVENT_SLUG,
                name="Turnstile Live: Encore",
                description="The sale opens soon: join the pre-queue and get a random place at opening time.",
                venue=venue,
                starts_at=(now + timedelta(days=45)).replace(hour=14, minute=0),
                sale_opens_at=now + timedelta(days=2),
                categories=[
                    CategorySpec(name="Platinum", price=Decimal("12500.00"), colour=PLATINUM, rows=(1, 3)),
                    CategorySpec(name="Gold", price=Decimal("7500.00"), colour=GOLD, rows=(4, 7)),
                    CategorySpec(name="Silver", price=Decimal("2500.00"), colour=SILVER, rows=(8, 12)),
                ],
                layout=SeatMapLayout(sections=["Left", "Right"], rows_per_section=12, seats_per_row=16),
            )
        )

    def _user(self, email: str, password: str, *, staff: bool) -> None:
        users = get_user_model().objects
        if users.filter(email__iexact=email).exists():
            # Demo accounts are verified, also in a database seeded before verification existed.
            users.filter(email__iexact=email, email_verified_at__isnull=True).update(
                email_verified_at=timezone.now()
            )
            self._report("user", email, created=False)
            return
        verified = {"email_verified_at": timezone.now()}  # demo accounts can join queues at once
        if staff:
            users.create_superuser(email=email, password=password, **verified)  # type: ignore[attr-defined]
        else:
            users.create_user(email=email, password=password, **verified)  # type: ignore[attr-defined]
        self._report("staff user" if staff else "fan", f"{email} / {password}", created=True)

    def _event(self, spec: EventSpec) -> Event:
        event, created = event_create_demo(spec=spec)
        seats = event.seats.count()
        self._report(
            "event", f"{event.name} ({event.slug}): {seats} seats, {event.sale_phase().label}", created
        )
        return event

    def _report(self, kind: str, label: str, created: bool) -> None:
        if self.verbosity < 1:
            return
        if created:
            self.stdout.write(self.style.SUCCESS(f"Created {kind}: {label}"))
        else:
            self.stdout.write(f"Found {kind}: {label}")
