from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from events.models import Event, Seat, SeatCategory, Venue
from events.services import CategoryRowRange, SeatMapSpec


class VenueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Venue

    name = factory.Sequence(lambda n: f"Arena {n}")
    city = "Mumbai"


class EventFactory(factory.django.DjangoModelFactory):
    """A published event whose sale is open now."""

    class Meta:
        model = Event

    name = factory.Sequence(lambda n: f"Concert {n}")
    slug = factory.Sequence(lambda n: f"concert-{n}")
    venue = factory.SubFactory(VenueFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    sale_opens_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    status = Event.Status.PUBLISHED
    # The join challenge off by default (the suite joins through the API and pages); its tests turn it on.
    queue_challenge_difficulty = 0

    class Params:
        upcoming = factory.Trait(
            sale_opens_at=factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
        )
        closed = factory.Trait(
            sale_closes_at=factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=1))
        )
        draft = factory.Trait(status=Event.Status.DRAFT)
        cancelled = factory.Trait(status=Event.Status.CANCELLED)


class SeatCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SeatCategory

    event = factory.SubFactory(EventFactory)
    name = factory.Sequence(lambda n: f"Category {n}")
    price = Decimal("2500.00")
    currency = "INR"
    colour = "#c0c0c0"


class SeatFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Seat

    category = factory.SubFactory(SeatCategoryFactory)
    event = factory.LazyAttribute(lambda seat: seat.category.event)
    section = "A"
    row = "1"
    number = factory.Sequence(lambda n: n + 1)
    x = factory.LazyAttribute(lambda seat: seat.number)
    y = 0


def categories_for(event: Event) -> tuple[SeatCategory, SeatCategory, SeatCategory]:
    """The demo's three price levels: (Platinum 12,500, Gold 7,500, Silver 2,500) INR."""
    return (
        SeatCategoryFactory(event=event, name="Platinum", price=Decimal("12500.00"), colour="#6d28d9"),
        SeatCategoryFactory(event=event, name="Gold", price=Decimal("7500.00"), colour="#d4a017"),
        SeatCategoryFactory(event=event, name="Silver", price=Decimal("2500.00"), colour="#9ca3af"),
    )


def seat_map_spec(
    *,
    sections: tuple[str, ...] = ("A", "B"),
    rows_per_section: int = 25,
    seats_per_row: int = 24,
    category_rows: list[tuple[int, int, SeatCategory]],
) -> SeatMapSpec:
    return SeatMapSpec(
        sections=list(sections),
        rows_per_section=rows_per_section,
        seats_per_row=seats_per_row,
        category_rows=[
            CategoryRowRange(first_row=first, last_row=last, category=category)
            for first, last, category in category_rows
        ],
    )
