from __future__ import annotations

from django.conf import settings

from bookings import tasks
from bookings.models import Booking, SeatHold
from bookings.services import booking_create, seats_hold
from bookings.tests.conftest import time_passes_beyond_the_window


def test_the_sweeps_are_scheduled_every_thirty_seconds():
    schedule = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert schedule["bookings.tasks.release_expired_holds"] == 30.0
    assert schedule["bookings.tasks.expire_bookings"] == 30.0


def test_the_tasks_expire_bookings_and_release_holds(event, seats, admitted_fan, admitted_other_fan):
    seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk])
    booking = booking_create(user=admitted_fan, event=event)
    seats_hold(user=admitted_other_fan, event=event, seat_ids=[seats[1].pk])
    time_passes_beyond_the_window(event)

    tasks.expire_bookings.delay()
    tasks.release_expired_holds.delay()

    booking.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED
    assert not SeatHold.objects.exists()
