from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from bookings.exceptions import (
    BookingNotCancellable,
    BookingNotPayable,
    NoSeatsHeld,
    NotAdmitted,
    PendingBookingExists,
    SeatsNoLongerAvailable,
)
from bookings.models import Booking, BookingItem, SeatHold
from bookings.selectors import SeatStatus, seat_map_for_event
from bookings.services import (
    booking_cancel,
    booking_confirm_paid,
    booking_create,
    bookings_expire,
    seats_hold,
)
from bookings.tests.conftest import admit, time_passes_beyond_the_window
from bookings.tests.factories import BookingFactory, BookingItemFactory
from events.selectors import seat_availability_by_category


def _statuses(event, user=None) -> dict[int, str]:
    return {seat.id: seat.status for seat in seat_map_for_event(event=event, user=user)}


def _book(fan, event, seats) -> Booking:
    seats_hold(user=fan, event=event, seat_ids=[seat.pk for seat in seats])
    return booking_create(user=fan, event=event)


# --- Creating -------------------------------------------------------------------------------------


def test_a_booking_is_made_from_the_held_seats_at_server_prices(event, seats, categories, admitted_fan):
    platinum, gold, _silver = categories
    hold = seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk, seats[2].pk, seats[5].pk])

    booking = booking_create(user=admitted_fan, event=event)

    assert booking.status == Booking.Status.PENDING_PAYMENT
    assert booking.total_amount == Decimal("12500.00") + Decimal("7500.00") + Decimal("2500.00")
    assert booking.currency == "INR"
    assert booking.expires_at == hold.expires_at
    items = {item.seat_id: item.price for item in booking.items.all()}
    assert items == {seats[0].pk: platinum.price, seats[2].pk: gold.price, seats[5].pk: Decimal("2500.00")}
    assert set(SeatHold.objects.values_list("booking_id", flat=True)) == {booking.pk}


def test_items_keep_the_price_of_booking_time_when_a_category_price_changes(
    event, seats, categories, admitted_fan
):
    platinum = categories[0]
    booking = _book(admitted_fan, event, seats[:1])

    platinum.price = Decimal("99999.00")
    platinum.save()

    booking.refresh_from_db()
    assert booking.total_amount == Decimal("12500.00")
    assert booking.items.get().price == Decimal("12500.00")


def test_the_reference_is_short_and_unambiguous(event, seats, admitted_fan):
    booking = _book(admitted_fan, event, seats[:1])

    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{8}", booking.reference)


def test_booking_needs_held_seats(event, seats, admitted_fan):
    with pytest.raises(NoSeatsHeld) as caught:
        booking_create(user=admitted_fan, event=event)

    assert (caught.value.code, caught.value.status_code) == ("NO_SEATS_HELD", 409)


def test_booking_needs_a_valid_admission_pass(event, seats, admitted_fan):
    seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk])
    time_passes_beyond_the_window(event)

    with pytest.raises(NotAdmitted):
        booking_create(user=admitted_fan, event=event)
    assert not Booking.objects.exists()


def test_booking_again_with_the_same_holds_returns_the_pending_booking(event, seats, admitted_fan):
    first = _book(admitted_fan, event, seats[:2])

    again = booking_create(user=admitted_fan, event=event)

    assert again.pk == first.pk
    assert Booking.objects.count() == 1


def test_booking_other_seats_while_a_booking_is_pending_is_refused(event, seats, admitted_fan):
    first = _book(admitted_fan, event, seats[:1])
    seats_hold(user=admitted_fan, event=event, seat_ids=[seats[1].pk])

    with pytest.raises(PendingBookingExists) as caught:
        booking_create(user=admitted_fan, event=event)

    assert caught.value.details == {"bookingId": first.pk, "reference": first.reference}
    assert Booking.objects.count() == 1


# --- The database guarantees -----------------------------------------------------------------------


def test_the_database_refuses_a_second_active_item_for_a_seat_even_bypassing_the_services(event, seats):
    BookingItemFactory(seat=seats[0], booking__status=Booking.Status.CONFIRMED)

    with pytest.raises(IntegrityError), transaction.atomic():
        BookingItemFactory(seat=seats[0])


def test_an_inactive_item_does_not_block_selling_the_seat_again(event, seats):
    BookingItemFactory(seat=seats[0], booking__status=Booking.Status.CANCELLED, is_active=False)

    BookingItemFactory(seat=seats[0])

    assert BookingItem.objects.filter(seat=seats[0]).count() == 2


def test_the_database_refuses_a_second_pending_booking_for_a_fan_and_event(event, fan):
    BookingFactory(user=fan, event=event)
    BookingFactory(user=fan, event=event, status=Booking.Status.CONFIRMED)

    with pytest.raises(IntegrityError), transaction.atomic():
        BookingFactory(user=fan, event=event)


def test_the_database_refuses_two_hold_rows_for_one_seat(event, seats, admitted_fan, admitted_other_fan):
    seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk])
    mine = SeatHold.objects.get()

    with pytest.raises(IntegrityError), transaction.atomic():
        SeatHold.objects.create(
            event=event,
            seat=seats[0],
            user=admitted_other_fan,
            admission_pass=admitted_other_fan.admission_passes.get(),
            expires_at=mine.expires_at,
        )


# --- Cancelling and expiring ----------------------------------------------------------------------


def test_cancelling_a_pending_booking_puts_its_seats_back_on_sale(event, seats, admitted_fan, other_fan):
    booking = _book(admitted_fan, event, seats[:2])

    cancelled = booking_cancel(booking=booking)

    assert cancelled.status == Booking.Status.CANCELLED
    assert cancelled.cancelled_at is not None
    assert not BookingItem.objects.filter(is_active=True).exists()
    assert not SeatHold.objects.exists()
    assert _statuses(event, other_fan)[seats[0].pk] == SeatStatus.AVAILABLE
    assert booking_cancel(booking=booking).status == Booking.Status.CANCELLED  # twice: no error


def test_a_fan_cannot_cancel_a_paid_booking_but_staff_can(event, seats, admitted_fan):
    booking = booking_confirm_paid(booking=_book(admitted_fan, event, seats[:1]))

    with pytest.raises(BookingNotCancellable):
        booking_cancel(booking=booking)
    booking_cancel(booking=booking, by_staff=True)

    assert _statuses(event)[seats[0].pk] == SeatStatus.AVAILABLE


def test_pending_bookings_past_their_expiry_are_expired_and_free_their_seats(
    event, seats, admitted_fan, admitted_other_fan
):
    booking = _book(admitted_fan, event, seats[:2])
    still_running = _book(admitted_other_fan, event, seats[2:3])
    Booking.objects.filter(pk=booking.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert bookings_expire() == 1

    booking.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED
    assert not booking.items.filter(is_active=True).exists()
    assert not SeatHold.objects.filter(booking=booking).exists()
    still_running.refresh_from_db()
    assert still_running.status == Booking.Status.PENDING_PAYMENT
    assert still_running.items.filter(is_active=True).count() == 1


def test_a_stale_pending_booking_frees_its_seats_at_once_and_the_next_hold_expires_it(
    event, seats, admitted_fan, other_fan
):
    booking = _book(admitted_fan, event, seats[:2])
    time_passes_beyond_the_window(event)

    assert _statuses(event, other_fan)[seats[0].pk] == SeatStatus.AVAILABLE
    admit(event, other_fan)
    seats_hold(user=other_fan, event=event, seat_ids=[seats[0].pk])

    booking.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED
    assert not booking.items.filter(is_active=True).exists()


# --- Payment confirmation (used by the payments app) ---------------------------------------------


def test_a_paid_booking_is_confirmed_and_its_seats_sold(event, seats, admitted_fan, other_fan):
    booking = _book(admitted_fan, event, seats[:2])

    confirmed = booking_confirm_paid(booking=booking)

    assert confirmed.status == Booking.Status.CONFIRMED
    assert confirmed.confirmed_at is not None
    assert booking.items.filter(is_active=True).count() == 2
    assert not SeatHold.objects.exists()
    assert _statuses(event, other_fan)[seats[0].pk] == SeatStatus.SOLD
    assert _statuses(event, admitted_fan)[seats[0].pk] == SeatStatus.SOLD
    assert booking_confirm_paid(booking=booking).confirmed_at == confirmed.confirmed_at  # idempotent


def test_a_late_payment_confirms_an_expired_booking_whose_seats_are_still_free(event, seats, admitted_fan):
    booking = _book(admitted_fan, event, seats[:2])
    time_passes_beyond_the_window(event)
    bookings_expire()

    confirmed = booking_confirm_paid(booking=booking)

    assert confirmed.status == Booking.Status.CONFIRMED
    assert booking.items.filter(is_active=True).count() == 2
    assert _statuses(event)[seats[1].pk] == SeatStatus.SOLD


def test_a_late_payment_for_resold_seats_is_refused_so_it_can_be_refunded(
    event, seats, admitted_fan, other_fan
):
    booking = _book(admitted_fan, event, seats[:2])
    time_passes_beyond_the_window(event)
    admit(event, other_fan)
    rival = _book(other_fan, event, seats[1:2])

    with pytest.raises(SeatsNoLongerAvailable) as caught:
        booking_confirm_paid(booking=booking)

    assert caught.value.details == {"seatIds": [seats[1].pk]}
    booking.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED
    assert list(BookingItem.objects.filter(is_active=True).values_list("booking_id", flat=True)) == [rival.pk]


def test_a_late_payment_for_seats_now_held_by_someone_else_is_refused(event, seats, admitted_fan, other_fan):
    booking = _book(admitted_fan, event, seats[:2])
    time_passes_beyond_the_window(event)
    admit(event, other_fan)
    seats_hold(user=other_fan, event=event, seat_ids=[seats[0].pk])

    with pytest.raises(SeatsNoLongerAvailable):
        booking_confirm_paid(booking=booking)
    assert SeatHold.objects.get(seat=seats[0]).user == other_fan


def test_a_payment_for_a_cancelled_booking_is_refused(event, seats, admitted_fan):
    booking = _book(admitted_fan, event, seats[:1])
    booking_cancel(booking=booking)

    with pytest.raises(BookingNotPayable):
        booking_confirm_paid(booking=booking)


# --- Counts everywhere ----------------------------------------------------------------------------


def test_event_availability_counts_follow_holds_and_sales(event, seats, admitted_fan, admitted_other_fan):
    _book(admitted_fan, event, seats[:2])  # two Platinum: pending, so held
    booking_confirm_paid(booking=_book(admitted_other_fan, event, seats[2:3]))  # one Gold sold
    seats_hold(user=admitted_other_fan, event=event, seat_ids=[seats[5].pk])  # one Silver held

    rows = {row.name: row for row in seat_availability_by_category(event=event)}

    assert (rows["Platinum"].held_seats, rows["Platinum"].sold_seats, rows["Platinum"].available_seats) == (
        2,
        0,
        0,
    )
    assert (rows["Gold"].held_seats, rows["Gold"].sold_seats, rows["Gold"].available_seats) == (0, 1, 2)
    assert (rows["Silver"].held_seats, rows["Silver"].available_seats) == (1, 4)
    time_passes_beyond_the_window(event)
    rows = {row.name: row for row in seat_availability_by_category(event=event)}
    assert (
        rows["Platinum"].available_seats,
        rows["Gold"].available_seats,
        rows["Silver"].available_seats,
    ) == (
        2,
        2,
        5,
    )
