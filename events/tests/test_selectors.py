from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from events import selectors
from events.models import Seat
from events.selectors import (
    event_get_public,
    event_list_public,
    seat_availability_by_category,
    seat_availability_for_events,
    seats_unavailable,
)
from events.services import seat_map_generate
from events.tests.factories import EventFactory, SeatCategoryFactory, categories_for, seat_map_spec

pytestmark = pytest.mark.django_db


def event_with_seat_map(**event_fields):
    event = EventFactory(**event_fields)
    platinum, gold, silver = categories_for(event)
    seat_map_generate(
        event=event,
        spec=seat_map_spec(
            sections=("A", "B"),
            rows_per_section=10,
            seats_per_row=10,
            category_rows=[(1, 2, platinum), (3, 6, gold), (7, 10, silver)],
        ),
    )
    return event


def test_public_list_shows_on_sale_and_upcoming_events_soonest_first():
    now = timezone.now()
    later = EventFactory(starts_at=now + timedelta(days=40))
    upcoming = EventFactory(upcoming=True, starts_at=now + timedelta(days=20))
    on_sale = EventFactory(starts_at=now + timedelta(days=10))

    assert list(event_list_public()) == [on_sale, upcoming, later]


def test_public_list_hides_drafts_cancelled_and_closed_sales():
    now = timezone.now()
    EventFactory(draft=True)
    EventFactory(cancelled=True)
    EventFactory(closed=True)
    EventFactory(starts_at=now - timedelta(hours=1), sale_opens_at=now - timedelta(days=3))  # show started
    visible = EventFactory()

    assert list(event_list_public()) == [visible]


def test_public_list_judges_sale_phases_at_the_given_time():
    now = timezone.now()
    closes_soon = EventFactory(sale_closes_at=now + timedelta(hours=1))

    assert list(event_list_public(now=now)) == [closes_soon]
    assert list(event_list_public(now=now + timedelta(hours=2))) == []


def test_public_list_carries_the_cheapest_price_and_the_venue_in_one_query(django_assert_num_queries):
    event = EventFactory()
    categories_for(event)
    EventFactory()  # no categories yet

    with django_assert_num_queries(1):
        listed = list(event_list_public())
        venues = [item.venue.name for item in listed]

    assert venues[0] == event.venue.name
    assert (listed[0].from_price, listed[0].from_price_currency) == (Decimal("2500.00"), "INR")
    assert listed[1].from_price is None


def test_public_event_is_found_by_slug_or_id_in_any_sale_phase():
    closed = EventFactory(closed=True)

    assert event_get_public(slug=closed.slug) == closed
    assert event_get_public(event_id=closed.pk) == closed


def test_draft_cancelled_and_unknown_events_are_not_public():
    draft = EventFactory(draft=True)
    cancelled = EventFactory(cancelled=True)

    assert event_get_public(slug=draft.slug) is None
    assert event_get_public(event_id=cancelled.pk) is None
    assert event_get_public(slug="no-such-event") is None
    with pytest.raises(TypeError):
        event_get_public(slug=draft.slug, event_id=draft.pk)


def test_availability_counts_seats_per_category_in_one_query(django_assert_num_queries):
    event = event_with_seat_map()
    empty = SeatCategoryFactory(event=event, name="Standing", price=Decimal("999"), sort_order=9)

    with django_assert_num_queries(1):
        rows = seat_availability_by_category(event=event)

    summary = [(row.name, row.price, row.total_seats, row.available_seats) for row in rows]
    assert summary == [
        ("Silver", Decimal("2500.00"), 80, 80),
        ("Gold", Decimal("7500.00"), 80, 80),
        ("Platinum", Decimal("12500.00"), 40, 40),
        ("Standing", Decimal("999.00"), 0, 0),
    ]
    assert rows[-1].id == empty.pk
    assert (rows[0].currency, rows[0].colour, rows[0].price_minor) == ("INR", "#9ca3af", 250000)


def test_availability_for_many_events_is_still_one_query(django_assert_num_queries):
    events = [event_with_seat_map() for _ in range(3)]
    no_categories = EventFactory()

    with django_assert_num_queries(1):
        by_event = seat_availability_for_events(event_ids=[event.pk for event in [*events, no_categories]])

    assert {event_id: sum(row.total_seats for row in rows) for event_id, rows in by_event.items()} == {
        event.pk: 200 for event in events
    }
    assert by_event.get(no_categories.pk, []) == []


def test_availability_leaves_out_seats_that_are_held_or_sold(monkeypatch):
    """The bookings app fills in seats_held / seats_sold; every count must subtract them."""
    event = event_with_seat_map()
    front_row = Seat.objects.filter(event=event, row="A")  # 20 Platinum seats
    one_gold = Seat.objects.filter(event=event, row="C", section="A", number=1)
    monkeypatch.setattr(selectors, "seats_held", lambda **kwargs: front_row)
    monkeypatch.setattr(selectors, "seats_sold", lambda **kwargs: one_gold)

    rows = {row.name: row for row in seat_availability_by_category(event=event)}

    assert (rows["Platinum"].held_seats, rows["Platinum"].available_seats) == (20, 20)
    assert (rows["Gold"].sold_seats, rows["Gold"].available_seats) == (1, 79)
    assert rows["Silver"].available_seats == 80
    assert set(seats_unavailable(event_ids=[event.pk])) == {*front_row, *one_gold}


def test_no_seat_is_unavailable_before_bookings_exist():
    event = event_with_seat_map()

    assert not seats_unavailable(event_ids=[event.pk]).exists()
    assert sum(row.available_seats for row in seat_availability_by_category(event=event)) == 200
