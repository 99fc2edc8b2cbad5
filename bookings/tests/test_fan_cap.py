"""The cap on seats per fan per event (``Event.max_seats_per_fan``) across bookings: paid, awaiting
payment and held seats count together, under the fan's admission pass lock."""

from __future__ import annotations

import pytest

from bookings.exceptions import FanSeatLimitReached
from bookings.models import Booking, SeatHold
from bookings.services import booking_confirm_paid, booking_create, seats_hold
from bookings.tests.conftest import admit
from bookings.tests.test_concurrency import _race


def _paid(fan, event, seats) -> Booking:
    seats_hold(user=fan, event=event, seat_ids=[seat.pk for seat in seats])
    return booking_confirm_paid(booking=booking_create(user=fan, event=event))


@pytest.fixture
def capped_event(event):
    event.max_seats_per_fan = 4
    event.save()
    return event


def test_holding_past_the_cap_counts_the_seats_already_paid_for(capped_event, seats, admitted_fan):
    _paid(admitted_fan, capped_event, seats[:3])

    with pytest.raises(FanSeatLimitReached) as caught:
        seats_hold(user=admitted_fan, event=capped_event, seat_ids=[seats[5].pk, seats[6].pk])

    assert caught.value.status_code == 409
    assert caught.value.details == {"limit": 4, "owned": 3, "requested": 2}
    assert not SeatHold.objects.filter(seat__in=[seats[5], seats[6]]).exists()
    # Up to the cap is fine.
    assert seats_hold(user=admitted_fan, event=capped_event, seat_ids=[seats[5].pk]).seat_ids


def test_a_booking_over_the_cap_is_refused(capped_event, seats, admitted_fan):
    _paid(admitted_fan, capped_event, seats[:2])
    seats_hold(user=admitted_fan, event=capped_event, seat_ids=[seats[5].pk, seats[6].pk])
    capped_event.max_seats_per_fan = 3  # staff lower the cap while the fan holds seats
    capped_event.save()

    with pytest.raises(FanSeatLimitReached) as caught:
        booking_create(user=admitted_fan, event=capped_event)

    assert caught.value.details == {"limit": 3, "owned": 2, "requested": 2}
    assert Booking.objects.filter(user=admitted_fan).count() == 1


def test_other_fans_and_ended_bookings_do_not_count(capped_event, seats, admitted_fan, admitted_other_fan):
    _paid(admitted_other_fan, capped_event, seats[:4])
    assert (
        len(seats_hold(user=admitted_fan, event=capped_event, seat_ids=[s.pk for s in seats[5:9]]).seat_ids)
        == 4
    )


def test_the_api_answers_409_fan_seat_limit_in_the_envelope(capped_event, seats, admitted_fan, fan_api):
    _paid(admitted_fan, capped_event, seats[:4])

    response = fan_api.post(
        "/api/inventory/lock-seats", {"eventId": capped_event.pk, "seatIds": [seats[5].pk]}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "FAN_SEAT_LIMIT"
    assert response.json()["error"]["details"] == {"limit": 4, "owned": 4, "requested": 1}


@pytest.mark.django_db(transaction=True)
def test_one_fan_booking_from_two_tabs_at_once_cannot_pass_the_cap(capped_event, seats, fan):
    # Per order 4 seats are fine in each tab; together with the 2 paid they would make 6 > 4.
    admit(capped_event, fan)
    _paid(fan, capped_event, seats[:2])
    first_tab, second_tab = [s.pk for s in seats[2:4]], [s.pk for s in seats[5:7]]

    for _round in range(3):
        outcomes = _race(
            [
                lambda: (
                    seats_hold(user=fan, event=capped_event, seat_ids=first_tab)
                    and booking_create(user=fan, event=capped_event)
                ),
                lambda: (
                    seats_hold(user=fan, event=capped_event, seat_ids=second_tab)
                    and booking_create(user=fan, event=capped_event)
                ),
            ]
        )

        assert sum(isinstance(o, Booking) for o in outcomes) == 1, outcomes
        assert sum(isinstance(o, FanSeatLimitReached) for o in outcomes) == 1, outcomes
        pending = Booking.objects.get(user=fan, status=Booking.Status.PENDING_PAYMENT)
        assert pending.items.count() == 2
        pending.delete()
        SeatHold.objects.filter(user=fan, booking__isnull=True).delete()
        SeatHold.objects.filter(user=fan, booking_id=pending.pk).delete()
