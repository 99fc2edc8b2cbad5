"""Real races on PostgreSQL: threads with their own connections, released together by a barrier.

Proved to be able to fail (pretix-style): with the seat and pass locks removed and the constraints
dropped, several fans win the same seat and a fan exceeds the seat limit from two tabs.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.test import override_settings

from bookings.exceptions import SeatUnavailable, TooManySeats
from bookings.models import Booking, BookingItem, SeatHold
from bookings.services import booking_create, seats_hold
from bookings.tests.conftest import admit
from core.exceptions import Busy
from events.models import Seat
from queueing.tests.helpers import in_thread
from queueing.tests.helpers import race as _race

pytestmark = pytest.mark.django_db(transaction=True)


def test_twenty_fans_racing_for_one_seat_only_one_wins(event, seats, make_fans):
    fans = make_fans(20)
    admit(event, *fans)
    seat = seats[0]

    outcomes = _race([lambda fan=fan: seats_hold(user=fan, event=event, seat_ids=[seat.pk]) for fan in fans])

    winners = [outcome for outcome in outcomes if not isinstance(outcome, Exception)]
    losers = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert len(winners) == 1
    assert all(isinstance(loser, SeatUnavailable) for loser in losers), losers
    assert all(loser.details == {"seatIds": [seat.pk]} for loser in losers)
    assert SeatHold.objects.filter(seat=seat).count() == 1


def test_fans_racing_for_overlapping_seats_in_opposite_orders_never_deadlock(event, seats, make_fans):
    event.max_seats_per_order = event.max_seats_per_fan = 10
    event.save()
    for round_number in range(5):
        fans = make_fans(4)
        admit(event, *fans)
        ids = [seat.pk for seat in seats]
        selections = [ids[:6], list(reversed(ids[3:])), ids[::2], list(reversed(ids[1::2]))]

        outcomes = _race(
            [
                lambda fan=fan, chosen=chosen: seats_hold(user=fan, event=event, seat_ids=chosen)
                for fan, chosen in zip(fans, selections, strict=True)
            ]
        )

        unexpected = [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, SeatUnavailable)]
        assert unexpected == [], f"round {round_number}: {unexpected}"
        won = [o for o in outcomes if not isinstance(o, Exception)]
        assert won, "someone must win"
        held = list(SeatHold.objects.values_list("seat_id", flat=True))
        assert len(held) == len(set(held)) == sum(len(o.seat_ids) for o in won)
        SeatHold.objects.all().delete()


def test_one_fan_holding_from_two_tabs_at_once_cannot_exceed_the_seat_limit(event, seats, fan):
    admit(event, fan)
    first_tab = [s.pk for s in seats[:3]]
    second_tab = [s.pk for s in seats[5:8]]

    for _round in range(3):
        outcomes = _race(
            [
                lambda: seats_hold(user=fan, event=event, seat_ids=first_tab),
                lambda: seats_hold(user=fan, event=event, seat_ids=second_tab),
            ]
        )

        assert sum(isinstance(o, TooManySeats) for o in outcomes) == 1, outcomes
        assert SeatHold.objects.filter(user=fan).count() == 3
        SeatHold.objects.all().delete()


def test_a_double_click_on_book_creates_one_booking(event, seats, fan):
    admit(event, fan)
    seats_hold(user=fan, event=event, seat_ids=[seats[0].pk, seats[1].pk])

    outcomes = _race([lambda: booking_create(user=fan, event=event) for _ in range(4)])

    assert all(isinstance(o, Booking) for o in outcomes), outcomes
    assert len({o.pk for o in outcomes}) == 1
    assert Booking.objects.count() == 1
    assert BookingItem.objects.count() == 2


def test_a_hold_waiting_too_long_for_a_seat_lock_says_busy(event, seats, fan):
    admit(event, fan)
    locked = threading.Event()
    release = threading.Event()

    @in_thread
    def keep_the_seat_locked():
        with transaction.atomic():
            Seat.objects.select_for_update().get(pk=seats[0].pk)
            locked.set()
            release.wait(timeout=10)

    holder = threading.Thread(target=keep_the_seat_locked)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        with override_settings(DB_LOCK_TIMEOUT_MS=200), pytest.raises(Busy) as caught:
            seats_hold(user=fan, event=event, seat_ids=[seats[0].pk])
    finally:
        release.set()
        holder.join()

    assert (caught.value.code, caught.value.status_code) == ("BUSY", 503)
    assert not SeatHold.objects.exists()
    # The connection is usable again and the lock timeout did not leak out of the transaction.
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "0"
