"""Reads for events, venues, categories and seats.

Availability is defined in exactly one place: `seats_held` and `seats_sold` (and their union
`seats_unavailable`). Every count and every seat map goes through them, so the bookings app only has
to fill them in for pages, API and admin to agree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Min, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from bookings.models import Booking, BookingItem, SeatHold
from core.local_cache import LocalCache
from events.models import Event, Seat, SeatCategory
from events.money import price_to_minor_units


@dataclass(frozen=True)
class CategoryAvailability:
    id: int
    event_id: int
    name: str
    price: Decimal
    currency: str
    colour: str
    sort_order: int
    total_seats: int
    held_seats: int
    sold_seats: int

    @property
    def available_seats(self) -> int:
        return max(self.total_seats - self.held_seats - self.sold_seats, 0)

    @property
    def price_minor(self) -> int:
        return price_to_minor_units(self.price, self.currency)


def seats_held(*, now: datetime | None = None, event_ids: Collection[int] | None = None) -> QuerySet[Seat]:
    """Seats under an unexpired hold at `now` (expired hold rows count as free before any sweep)."""
    holds = SeatHold.objects.filter(expires_at__gt=now or timezone.now()).order_by()
    if event_ids is not None:
        holds = holds.filter(event_id__in=event_ids)
    return Seat.objects.filter(pk__in=holds.values("seat_id")).order_by()


def seats_sold(*, event_ids: Collection[int] | None = None) -> QuerySet[Seat]:
    """Seats on a confirmed booking (an active line item: the seat is sold)."""
    items = BookingItem.objects.filter(is_active=True, booking__status=Booking.Status.CONFIRMED).order_by()
    if event_ids is not None:
        items = items.filter(booking__event_id__in=event_ids)
    return Seat.objects.filter(pk__in=items.values("seat_id")).order_by()


def seats_unavailable(
    *, now: datetime | None = None, event_ids: Collection[int] | None = None
) -> QuerySet[Seat]:
    """Seats a fan cannot select right now: held or sold."""
    held = seats_held(now=now, event_ids=event_ids).values("pk")
    sold = seats_sold(event_ids=event_ids).values("pk")
    seats = Seat.objects.filter(Q(pk__in=held) | Q(pk__in=sold)).order_by()
    if event_ids is not None:
        seats = seats.filter(event_id__in=event_ids)
    return seats


def seat_categories_with_counts(
    *,
    categories: QuerySet[SeatCategory] | None = None,
    event_ids: Collection[int] | None = None,
    now: datetime | None = None,
) -> QuerySet[SeatCategory]:
    """Categories annotated with total_seats, held_seats and sold_seats, in one aggregate query.

    `event_ids` narrows the held/sold subqueries (and the categories) to those events.
    """
    now = now or timezone.now()
    if categories is None:
        categories = SeatCategory.objects.all()
    if event_ids is not None:
        categories = categories.filter(event_id__in=event_ids)
    held = seats_held(now=now, event_ids=event_ids).values("pk")
    sold = seats_sold(event_ids=event_ids).values("pk")
    return categories.annotate(
        total_seats=Count("seats"),
        held_seats=Count("seats", filter=Q(seats__in=held)),
        sold_seats=Count("seats", filter=Q(seats__in=sold)),
    )


def _availability(category: SeatCategory) -> CategoryAvailability:
    return CategoryAvailability(
        id=category.pk,
        event_id=category.event_id,
        name=category.name,
        price=category.price,
        currency=category.currency,
        colour=category.colour,
        sort_order=category.sort_order,
        total_seats=category.total_seats,  # type: ignore[attr-defined]
        held_seats=category.held_seats,  # type: ignore[attr-defined]
        sold_seats=category.sold_seats,  # type: ignore[attr-defined]
    )


def seat_availability_for_events(
    *, event_ids: Collection[int], now: datetime | None = None
) -> dict[int, list[CategoryAvailability]]:
    """Per event id, its categories (cheapest first by sort order) with seat counts: one query."""
    by_event: dict[int, list[CategoryAvailability]] = defaultdict(list)
    if not event_ids:
        return by_event
    categories = seat_categories_with_counts(event_ids=list(event_ids), now=now).order_by(
        "event_id", "sort_order", "price", "pk"
    )
    for category in categories:
        by_event[category.event_id].append(_availability(category))
    return by_event


def seat_availability_by_category(*, event: Event, now: datetime | None = None) -> list[CategoryAvailability]:
    """The event's categories with name, price, currency, colour, total and available seats."""
    return seat_availability_for_events(event_ids=[event.pk], now=now).get(event.pk, [])


def _published_events() -> QuerySet[Event]:
    return Event.objects.filter(status=Event.Status.PUBLISHED).select_related("venue")


def event_list_public(*, now: datetime | None = None) -> QuerySet[Event]:
    """Published events whose sale is upcoming or open, soonest first.

    Each event carries `from_price` and `from_price_currency` (its cheapest category), or None.
    """
    now = now or timezone.now()
    cheapest = SeatCategory.objects.filter(event=OuterRef("pk")).order_by("price", "pk")
    sale_not_over = Q(sale_closes_at__gt=now) | Q(sale_closes_at__isnull=True, starts_at__gt=now)
    return (
        _published_events()
        .filter(sale_not_over)
        .annotate(
            from_price=Min("categories__price"),
            from_price_currency=Subquery(cheapest.values("currency")[:1]),
        )
        .order_by("starts_at", "pk")
    )


def event_get_public(*, slug: str | None = None, event_id: int | None = None) -> Event | None:
    """A published event (any sale phase) by slug or id; None for unknown, draft or cancelled events."""
    if (slug is None) == (event_id is None):
        raise TypeError("Pass exactly one of slug or event_id.")
    lookup = {"slug": slug} if slug is not None else {"pk": event_id}
    return _published_events().filter(**lookup).first()


# --- The same reads for pages, kept per process for about a second (core.local_cache) -------------

_public_events: LocalCache[Event | None] = LocalCache()
_public_event_lists: LocalCache[list[Event]] = LocalCache()
_category_availability: LocalCache[list[CategoryAvailability]] = LocalCache()


def event_get_public_cached(*, slug: str) -> Event | None:
    """``event_get_public`` for the hot pages: shared by this process's requests for about a second.
    Read-only: never save or change the object."""
    return _public_events.get_or_load(slug, lambda: event_get_public(slug=slug))


def event_list_public_cached() -> list[Event]:
    return _public_event_lists.get_or_load("all", lambda: list(event_list_public()))


def seat_availability_by_category_cached(*, event: Event) -> list[CategoryAvailability]:
    return _category_availability.get_or_load(event.pk, lambda: seat_availability_by_category(event=event))
