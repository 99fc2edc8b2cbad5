from __future__ import annotations

import pytest

from bookings import services
from bookings.exceptions import (
    NotAdmitted,
    SeatsInPendingBooking,
    SeatUnavailable,
    TooManySeats,
    UnknownSeats,
)
from bookings.models import Booking, SeatHold
from bookings.selectors import SeatStatus, holds_for, seat_map_for_event
from bookings.services import booking_create, holds_release_expired, seats_hold, seats_release
from bookings.tests.conftest import admit, time_passes_beyond_the_window
from bookings.tests.factories import BookingItemFactory
from events.tests.factories import EventFactory, SeatFactory
from queueing.exceptions import SaleClosed
from queueing.models import AdmissionPass
from queueing.services import queue_leave


def _statuses(event, user=None) -> dict[int, str]:
    return {seat.id: seat.status for seat in seat_map_for_event(event=event, user=user)}


def test_holding_free_seats_holds_them_until_the_admission_pass_expires(
    event, seats, admitted_fan, other_fan
):
    admission = AdmissionPass.objects.get(user=admitted_fan, event=event)

    result = seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk, seats[1].pk])

    assert result.seat_ids == [seats[0].pk, seats[1].pk]
    assert result.added_seat_ids == result.seat_ids
    assert result.expires_at == admission.expires_at
    assert set(SeatHold.objects.values_list("expires_at", flat=True)) == {admission.expires_at}
    assert _statuses(event, admitted_fan)[seats[0].pk] == SeatStatus.HELD_BY_ME
    assert _statuses(event, other_fan)[seats[0].pk] == SeatStatus.HELD
    assert _statuses(event)[seats[2].pk] == SeatStatus.AVAILABLE


def test_a_hold_is_all_or_nothing_when_one_seat_is_taken(event, seats, admitted_fan, admitted_other_fan):
    seats_hold(user=admitted_other_fan, event=event, seat_ids=[seats[1].pk])

    with pytest.raises(SeatUnavailable) as caught:
        seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk, seats[1].pk, seats[2].pk])

    assert caught.value.details == {"seatIds": [seats[1].pk]}
    assert caught.value.status_code == 409
    assert not SeatHold.objects.filter(user=admitted_fan).exists()


def test_a_hold_is_refused_without_an_admission_pass(event, seats, fan):
    with pytest.raises(NotAdmitted) as caught:
        seats_hold(user=fan, event=event, seat_ids=[seats[0].pk])

    assert (caught.value.code, caught.value.status_code) == ("NOT_ADMITTED", 403)
    assert not SeatHold.objects.exists()


def test_a_pass_for_another_event_does_not_admit_to_this_one(event, seats, fan):
    admit(EventFactory(), fan)

    with pytest.raises(NotAdmitted):
        seats_hold(user=fan, event=event, seat_ids=[seats[0].pk])


def test_a_hold_is_refused_after_the_pass_expired(event, seats, admitted_fan):
    time_passes_beyond_the_window(event)

    with pytest.raises(NotAdmitted):
        seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk])


def test_a_hold_is_refused_after_the_fan_left_the_queue(event, seats, admitted_fan):
    queue_leave(user=admitted_fan, event=event)

    with pytest.raises(NotAdmitted):
        seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk])


def test_a_hold_is_refused_once_the_sale_has_closed(event, seats, admitted_fan):
    event.status = event.Status.CANCELLED
    event.save()

    with pytest.raises(SaleClosed):
        seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk])


def test_expired_holds_free_the_seat_for_reads_and_other_fans_before_any_sweep(
    event, seats, admitted_fan, other_fan
):
    seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk])
    time_passes_beyond_the_window(event)

    assert _statuses(event, other_fan)[seats[0].pk] == SeatStatus.AVAILABLE
    assert holds_for(user=admitted_fan, event=event).seats == []
    admit(event, other_fan)
    result = seats_hold(user=other_fan, event=event, seat_ids=[seats[0].pk])

    assert result.seat_ids == [seats[0].pk]
    assert SeatHold.objects.get(seat=seats[0]).user == other_fan


def test_changing_the_selection_keeps_the_seats_already_held(event, seats, admitted_fan):
    seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk, seats[1].pk])

    result = seats_hold(user=admitted_fan, event=event, seat_ids=[seats[1].pk, seats[2].pk])

    assert result.seat_ids == [seats[0].pk, seats[1].pk, seats[2].pk]
    assert result.added_seat_ids == [seats[2].pk]


def test_the_seat_limit_per_order_counts_the_seats_already_held(event, seats, admitted_fan):
    seats_hold(user=admitted_fan, event=event, seat_ids=[s.pk for s in seats[:3]])

    with pytest.raises(TooManySeats) as caught:
        seats_hold(user=admitted_fan, event=event, seat_ids=[seats[3].pk, seats[4].pk])

    assert caught.value.details == {"limit": 4, "held": 3, "requested": 2}
    assert holds_for(user=admitted_fan, event=event).seat_ids == [s.pk for s in seats[:3]]
    # Re-selecting seats already held is not "more" seats.
    assert len(seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk, seats[3].pk]).seat_ids) == 4


def test_seats_of_another_event_or_unknown_ids_are_refused_by_id(event, seats, admitted_fan):
    foreign = SeatFactory()

    with pytest.raises(UnknownSeats) as caught:
        seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk, foreign.pk, 999_999])

    assert caught.value.details == {"seatIds": sorted([foreign.pk, 999_999])}
    assert caught.value.status_code == 400
    assert not SeatHold.objects.exists()


def test_a_sold_seat_cannot_be_held(event, seats, admitted_fan):
    BookingItemFactory(seat=seats[0], booking__status=Booking.Status.CONFIRMED)

    with pytest.raises(SeatUnavailable) as caught:
        seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk, seats[1].pk])

    assert caught.value.details == {"seatIds": [seats[0].pk]}


def test_releasing_seats_puts_them_back_for_everyone(event, seats, admitted_fan, other_fan):
    seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk, seats[1].pk])

    result = seats_release(user=admitted_fan, event=event, seat_ids=[seats[0].pk, seats[5].pk])

    assert result.seat_ids == [seats[1].pk]
    assert result.released_seat_ids == [seats[0].pk]
    assert _statuses(event, other_fan)[seats[0].pk] == SeatStatus.AVAILABLE
    assert seats_release(user=admitted_fan, event=event).seat_ids == []
    assert not SeatHold.objects.exists()


def test_a_fan_cannot_release_another_fans_hold(event, seats, admitted_fan, other_fan):
    seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk])

    seats_release(user=other_fan, event=event, seat_ids=[seats[0].pk])

    assert SeatHold.objects.get(seat=seats[0]).user == admitted_fan


def test_seats_in_a_pending_booking_are_released_by_cancelling_it_not_one_by_one(event, seats, admitted_fan):
    seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk])
    booking_create(user=admitted_fan, event=event)
    seats_hold(user=admitted_fan, event=event, seat_ids=[seats[1].pk])

    with pytest.raises(SeatsInPendingBooking):
        seats_release(user=admitted_fan, event=event, seat_ids=[seats[0].pk])
    result = seats_release(user=admitted_fan, event=event)

    assert result.seat_ids == [seats[0].pk]
    assert result.released_seat_ids == [seats[1].pk]


def test_the_sweep_deletes_expired_hold_rows_only(event, seats, admitted_fan, admitted_other_fan):
    seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk])
    SeatHold.objects.update(expires_at=event.starts_at.replace(year=2000))
    seats_hold(user=admitted_other_fan, event=event, seat_ids=[seats[1].pk])

    assert holds_release_expired() == 1
    assert list(SeatHold.objects.values_list("seat_id", flat=True)) == [seats[1].pk]


def test_a_hold_that_slips_past_the_checks_is_stopped_by_the_database_as_a_clean_409(
    event, seats, admitted_fan, admitted_other_fan, monkeypatch
):
    seats_hold(user=admitted_other_fan, event=event, seat_ids=[seats[0].pk])
    monkeypatch.setattr(services, "_lock_holds", lambda seat_ids: {})  # a bug: existing holds unseen

    with pytest.raises(SeatUnavailable) as caught:
        seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk, seats[1].pk])

    assert caught.value.details == {"seatIds": [seats[0].pk, seats[1].pk]}
    assert list(SeatHold.objects.values_list("user_id", flat=True)) == [admitted_other_fan.pk]


def test_a_booking_of_a_seat_sold_behind_the_services_back_is_a_clean_409(event, seats, admitted_fan):
    seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk])
    BookingItemFactory(seat=seats[0], booking__status=Booking.Status.CONFIRMED)  # bypasses the services

    with pytest.raises(SeatUnavailable):
        booking_create(user=admitted_fan, event=event)

    assert Booking.objects.filter(user=admitted_fan).count() == 0


def test_a_fan_who_leaves_the_queue_gives_held_seats_back_at_once(event, seats, admitted_fan, other_fan):
    seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk, seats[1].pk])

    queue_leave(user=admitted_fan, event=event)

    assert not SeatHold.objects.filter(user=admitted_fan).exists()
    statuses = {seat.id: seat.status for seat in seat_map_for_event(event=event, user=other_fan)}
    assert statuses[seats[0].pk] == statuses[seats[1].pk] == SeatStatus.AVAILABLE


def test_leaving_the_queue_keeps_the_seats_of_a_pending_booking(event, seats, admitted_fan):
    seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk])
    booking = booking_create(user=admitted_fan, event=event)

    queue_leave(user=admitted_fan, event=event)

    assert SeatHold.objects.filter(user=admitted_fan, seat=seats[0]).exists()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.PENDING_PAYMENT
