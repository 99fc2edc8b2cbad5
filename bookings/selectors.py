"""Reads of seat states, holds and bookings, for pages, the API, the WebSocket consumer and the admin.

Public interface (keyword-only):

- ``seat_map_for_event(event=, user=None, section=None, category_id=None, now=None) -> list[SeatView]``
  — every seat with its category, price and status (``available`` / ``held`` / ``held_by_me`` /
  ``sold``), in drawing order (section, y, x). Four queries whatever the number of seats.
- ``seat_states_for_event(event=, user=None, now=None) -> dict[int, str]`` — only the seats that are not
  available (id → status): what a live client needs to resynchronise.
- ``holds_for(user=, event=, now=None) -> FanHolds`` — the fan's live holds, total and expiry.
- ``held_seat_ids_for(user=, event=, now=None) -> list[int]`` — the ids of the seats the fan holds.
- ``pending_booking_for(user=, event=, now=None) -> Booking | None`` — the fan's unexpired pending booking.
- ``booking_for_user(user=, booking_id=) -> Booking`` — with items, seats and categories; another fan's
  booking or an unknown id raises ``BookingNotFound`` (404).
- ``bookings_for_user(user=) -> QuerySet[Booking]`` — newest first, items prefetched.

Seat states follow ``bookings.services``: sold = active item of a confirmed booking, held = a hold row
with ``expires_at > now``, otherwise available. ``events.selectors.seats_held / seats_sold`` use the same
rules, so counts on every page agree with the seat map.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from bookings.exceptions import BookingNotFound
from bookings.models import Booking, BookingItem, SeatHold
from core.compiled_query import CompiledQuery
from core.local_cache import LocalCache
from events.models import Event, Seat, SeatCategory
from events.money import price_to_minor_units
from queueing.models import AdmissionPass


class SeatStatus:
    AVAILABLE = "available"
    HELD = "held"
    HELD_BY_ME = "held_by_me"
    SOLD = "sold"

    ALL = (AVAILABLE, HELD, HELD_BY_ME, SOLD)


@dataclass(frozen=True, slots=True)
class SeatView:
    id: int
    section: str
    row: str
    number: int
    x: int
    y: int
    category_id: int
    category_name: str
    colour: str
    price: Decimal
    currency: str
    status: str

    @property
    def price_minor(self) -> int:
        return price_to_minor_units(self.price, self.currency)

    @property
    def label(self) -> str:
        return f"{self.section} · Row {self.row} · Seat {self.number}"


@dataclass(frozen=True)
class FanHolds:
    """A fan's live holds for one event. ``seats`` carry their category (``seat.category``)."""

    event_id: int
    seats: list[Seat]
    expires_at: datetime | None
    total_amount: Decimal
    currency: str | None
    pending_booking: Booking | None  # read with the holds: the summary names it without reading it again

    @property
    def seat_ids(self) -> list[int]:
        return [seat.pk for seat in self.seats]

    @property
    def pending_booking_id(self) -> int | None:
        return self.pending_booking.pk if self.pending_booking is not None else None


def _held_seats(*, event: Event, now: datetime) -> dict[int, int]:
    """Seat id → the user holding it, for live holds."""
    return dict(
        SeatHold.objects.filter(event=event, expires_at__gt=now).order_by().values_list("seat_id", "user_id")
    )


def _sold_seats(*, event: Event) -> set[int]:
    return set(
        BookingItem.objects.filter(
            booking__event=event, booking__status=Booking.Status.CONFIRMED, is_active=True
        )
        .order_by()
        .values_list("seat_id", flat=True)
    )


def _status(seat_id: int, *, held: dict[int, int], sold: set[int], user_id: int | None) -> str:
    if seat_id in sold:
        return SeatStatus.SOLD
    holder = held.get(seat_id)
    if holder is None:
        return SeatStatus.AVAILABLE
    return SeatStatus.HELD_BY_ME if holder == user_id else SeatStatus.HELD


def _user_id(user) -> int | None:
    return user.pk if user is not None and getattr(user, "is_authenticated", False) else None


# The venue's seats and prices, per process for about a second (core.local_cache): they change only
# with a staff edit, which clears it (core.public_cache.bump_generation). Who holds or bought a seat is
# read exactly every time.
_seat_layouts: LocalCache[tuple[dict[int, SeatCategory], list[tuple]]] = LocalCache()


def _seat_layout(
    *, event: Event, section: str | None, category_id: int | None
) -> tuple[dict[int, SeatCategory], list[tuple]]:
    def load() -> tuple[dict[int, SeatCategory], list[tuple]]:
        categories = {category.pk: category for category in SeatCategory.objects.filter(event=event)}
        seats = Seat.objects.filter(event=event)
        if section is not None:
            seats = seats.filter(section=section)
        if category_id is not None:
            seats = seats.filter(category_id=category_id)
        rows = seats.order_by("section", "y", "x", "pk").values_list(
            "pk", "section", "row", "number", "x", "y", "category_id"
        )
        return categories, list(rows)

    return _seat_layouts.get_or_load((event.pk, section, category_id), load)


def seat_map_for_event(
    *,
    event: Event,
    user=None,
    section: str | None = None,
    category_id: int | None = None,
    now: datetime | None = None,
) -> list[SeatView]:
    now = now or timezone.now()
    user_id = _user_id(user)
    categories, rows = _seat_layout(event=event, section=section, category_id=category_id)
    held = _held_seats(event=event, now=now)
    sold = _sold_seats(event=event)
    views = []
    for pk, seat_section, row, number, x, y, seat_category_id in rows:
        category = categories[seat_category_id]
        views.append(
            SeatView(
                id=pk,
                section=seat_section,
                row=row,
                number=number,
                x=x,
                y=y,
                category_id=seat_category_id,
                category_name=category.name,
                colour=category.colour,
                price=category.price,
                currency=category.currency,
                status=_status(pk, held=held, sold=sold, user_id=user_id),
            )
        )
    return views


def seat_states_for_event(*, event: Event, user=None, now: datetime | None = None) -> dict[int, str]:
    now = now or timezone.now()
    user_id = _user_id(user)
    held = _held_seats(event=event, now=now)
    sold = _sold_seats(event=event)
    return {
        seat_id: _status(seat_id, held=held, sold=sold, user_id=user_id)
        for seat_id in sorted(held.keys() | sold)
    }


# A fan's holds and pending booking are read for every seat map page, hold and checkout: compiled to
# SQL once per process (core.compiled_query), as the ORM would write them.
_held_seat_ids: CompiledQuery[int] = CompiledQuery(
    lambda user_id, event_id, now: (
        SeatHold.objects.filter(user_id=user_id, event_id=event_id, expires_at__gt=now)
        .order_by("seat_id")
        .values_list("seat_id", flat=True)
    ),
    user_id=int,
    event_id=int,
    now=datetime,
)
_holds: CompiledQuery[SeatHold] = CompiledQuery(
    lambda user_id, event_id, now: (
        SeatHold.objects.filter(user_id=user_id, event_id=event_id, expires_at__gt=now)
        .select_related("seat__category")
        .order_by("seat__section", "seat__y", "seat__x", "seat_id")
    ),
    user_id=int,
    event_id=int,
    now=datetime,
)
_pending_booking: CompiledQuery[Booking] = CompiledQuery(
    lambda user_id, event_id, now: Booking.objects.filter(
        user_id=user_id, event_id=event_id, status=Booking.Status.PENDING_PAYMENT, expires_at__gt=now
    ).order_by("pk")[:1],
    user_id=int,
    event_id=int,
    now=datetime,
)


def held_seat_ids_for(*, user, event: Event, now: datetime | None = None) -> list[int]:
    """The seats the fan holds now (``holds_for`` without the seats' details)."""
    return _held_seat_ids.fetch(user_id=user.pk, event_id=event.pk, now=now or timezone.now())


def holds_for(*, user, event: Event, now: datetime | None = None) -> FanHolds:
    now = now or timezone.now()
    holds = _holds.fetch(user_id=user.pk, event_id=event.pk, now=now)
    seats = [hold.seat for hold in holds]
    currencies = {seat.category.currency for seat in seats}
    return FanHolds(
        event_id=event.pk,
        seats=seats,
        expires_at=min((hold.expires_at for hold in holds), default=None),
        total_amount=sum((seat.category.price for seat in seats), Decimal("0")),
        currency=currencies.pop() if len(currencies) == 1 else None,
        pending_booking=pending_booking_for(user=user, event=event, now=now),
    )


def pending_booking_for(*, user, event: Event, now: datetime | None = None) -> Booking | None:
    return _pending_booking.first(user_id=user.pk, event_id=event.pk, now=now or timezone.now())


def _with_items(bookings: QuerySet[Booking]) -> QuerySet[Booking]:
    items = BookingItem.objects.select_related("seat", "category").order_by(
        "seat__section", "seat__row", "seat__number", "pk"
    )
    return bookings.select_related("event", "event__venue").prefetch_related(
        Prefetch("items", queryset=items)
    )


def booking_for_user(*, user, booking_id: int) -> Booking:
    booking = _with_items(Booking.objects.filter(pk=booking_id, user=user)).first()
    if booking is None:
        raise BookingNotFound()
    return booking


def bookings_for_user(*, user) -> QuerySet[Booking]:
    return _with_items(Booking.objects.filter(user=user)).order_by("-created_at", "-pk")


def turn_ran_out_at(*, user, event: Event, now: datetime | None = None) -> datetime | None:
    """When the fan's latest admission pass for the event ran out, if its time did run out (not when
    the fan left the queue, nor while it is still valid): what the seat map says after the clock."""
    now = now or timezone.now()
    latest = (
        AdmissionPass.objects.filter(event=event, user=user)
        .order_by("-issued_at", "-pk")
        .values_list("expires_at", "ended_at")
        .first()
    )
    if latest is None:
        return None
    expires_at, ended_at = latest
    return expires_at if expires_at <= (ended_at or now) else None
