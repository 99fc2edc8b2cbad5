from __future__ import annotations

from decimal import Decimal

import pytest

from bookings.exceptions import BookingNotFound
from bookings.selectors import (
    SeatStatus,
    booking_for_user,
    bookings_for_user,
    held_seat_ids_for,
    holds_for,
    seat_map_for_event,
    seat_states_for_event,
)
from bookings.services import booking_confirm_paid, booking_create, seats_hold, seats_release
from bookings.templatetags.seat_map_tags import draw_seats
from events.models import Seat
from events.services import seat_map_generate
from events.tests.factories import seat_map_spec


def test_the_seat_map_shows_each_seat_as_the_viewer_sees_it(
    event, seats, categories, admitted_fan, admitted_other_fan
):
    seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk])
    seats_hold(user=admitted_other_fan, event=event, seat_ids=[seats[1].pk])
    booking_confirm_paid(booking=booking_create(user=admitted_other_fan, event=event))

    seat_map = seat_map_for_event(event=event, user=admitted_fan)

    assert [seat.status for seat in seat_map[:3]] == [
        SeatStatus.HELD_BY_ME,
        SeatStatus.SOLD,
        SeatStatus.AVAILABLE,
    ]
    first = seat_map[0]
    assert (first.section, first.row, first.number, first.category_name) == ("A", "1", 1, "Platinum")
    assert (first.price, first.price_minor, first.colour) == (Decimal("12500.00"), 1_250_000, "#6d28d9")
    assert seat_map_for_event(event=event)[0].status == SeatStatus.HELD  # anonymous viewers
    assert seat_states_for_event(event=event, user=admitted_fan) == {
        seats[0].pk: SeatStatus.HELD_BY_ME,
        seats[1].pk: SeatStatus.SOLD,
    }


def test_a_map_drawn_for_everyone_with_a_fans_holds_drawn_as_theirs_is_that_fans_own_map(
    event, seats, categories, admitted_fan, admitted_other_fan
):
    # The seat map page draws a section once for everyone and the fan's holds on it (bookings.views).
    drawn_before = draw_seats(seat_map_for_event(event=event))
    seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk, seats[3].pk, seats[6].pk])
    seats_release(user=admitted_fan, event=event, seat_ids=[seats[3].pk])
    mine = held_seat_ids_for(user=admitted_fan, event=event)
    # Drawn before the fan's holds (available then): the same as the fan's own map.
    assert (
        drawn_before.html(held_by_me=mine)
        == draw_seats(seat_map_for_event(event=event, user=admitted_fan)).html()
    )

    seats_hold(user=admitted_other_fan, event=event, seat_ids=[seats[1].pk])
    booking_confirm_paid(booking=booking_create(user=admitted_other_fan, event=event))
    seats_hold(user=admitted_other_fan, event=event, seat_ids=[seats[2].pk])
    drawn = draw_seats(seat_map_for_event(event=event))

    assert mine == [seats[0].pk, seats[6].pk]
    as_the_fan_sees_it = seat_map_for_event(event=event, user=admitted_fan)
    assert drawn.html(held_by_me=mine) == draw_seats(as_the_fan_sees_it).html()
    assert drawn.html(held_by_me=[]) == draw_seats(seat_map_for_event(event=event)).html()
    assert held_seat_ids_for(user=admitted_other_fan, event=event) == [seats[2].pk]


def test_the_seat_map_filters_by_section_and_category(event, seats, categories):
    gold = categories[1]

    assert [seat.id for seat in seat_map_for_event(event=event, category_id=gold.pk)] == [
        s.pk for s in seats[2:5]
    ]
    assert seat_map_for_event(event=event, section="Z") == []


def test_the_seat_map_takes_a_constant_number_of_queries(
    event, categories, admitted_fan, django_assert_max_num_queries
):
    platinum, gold, silver = categories
    spec = seat_map_spec(
        sections=("A", "B", "C", "D"),
        rows_per_section=50,
        seats_per_row=25,
        category_rows=[(1, 10, platinum), (11, 30, gold), (31, 50, silver)],
    )
    seat_map_generate(event=event, spec=spec)
    seat_ids = list(Seat.objects.filter(event=event).order_by("pk").values_list("pk", flat=True)[:3])
    seats_hold(user=admitted_fan, event=event, seat_ids=seat_ids)

    with django_assert_max_num_queries(4):
        seat_map = seat_map_for_event(event=event, user=admitted_fan)

    assert len(seat_map) == 5000
    assert sum(seat.status == SeatStatus.HELD_BY_ME for seat in seat_map) == 3


def test_holds_for_sums_the_fans_held_seats(event, seats, admitted_fan):
    result = seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk, seats[5].pk])

    holds = holds_for(user=admitted_fan, event=event)

    assert holds.seat_ids == [seats[0].pk, seats[5].pk]
    assert (holds.total_amount, holds.currency) == (Decimal("15000.00"), "INR")
    assert holds.expires_at == result.expires_at
    assert holds.pending_booking_id is None


def test_another_fans_booking_is_not_found(event, seats, admitted_fan, other_fan):
    seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk])
    booking = booking_create(user=admitted_fan, event=event)

    assert booking_for_user(user=admitted_fan, booking_id=booking.pk) == booking
    with pytest.raises(BookingNotFound) as caught:
        booking_for_user(user=other_fan, booking_id=booking.pk)
    assert caught.value.status_code == 404
    assert list(bookings_for_user(user=other_fan)) == []
    assert list(bookings_for_user(user=admitted_fan)) == [booking]
