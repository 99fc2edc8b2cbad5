"""Live seat changes over real Redis pub/sub: one grouped message per transaction, after commit."""

from __future__ import annotations

import pytest
from django.db import transaction

from bookings.exceptions import SeatUnavailable
from bookings.models import SeatHold
from bookings.notify import MAX_CHANGES_PER_MESSAGE, notify_seats_changed, seats_topic
from bookings.services import (
    booking_cancel,
    booking_confirm_paid,
    booking_create,
    holds_release_expired,
    seats_hold,
    seats_release,
)
from bookings.tests.conftest import time_passes_beyond_the_window
from core.testing import TopicListener


@pytest.fixture
def listen():
    listeners: list[TopicListener] = []

    def listen_(event_id: int) -> TopicListener:
        listeners.append(TopicListener(seats_topic(event_id)))
        return listeners[-1]

    yield listen_
    for listener in listeners:
        listener.close()


def _receive(listener: TopicListener, timeout: float = 2.0) -> dict:
    envelope = listener.receive(timeout)
    assert envelope["merge"] == "seats"  # each server process merges a window of these into one frame
    return envelope["frame"]


def _assert_silent(listener: TopicListener) -> None:
    listener.assert_silent()


def test_a_hold_sends_one_grouped_message_after_commit(
    event, seats, admitted_fan, django_capture_on_commit_callbacks, listen
):
    channel = listen(event.pk)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        seats_hold(user=admitted_fan, event=event, seat_ids=[seats[2].pk, seats[0].pk, seats[1].pk])
    _assert_silent(channel)  # nothing before the commit
    for callback in callbacks:
        callback()

    assert _receive(channel) == {
        "type": "seats",
        "eventId": event.pk,
        "changes": [[seats[0].pk, "held"], [seats[1].pk, "held"], [seats[2].pk, "held"]],
    }
    _assert_silent(channel)  # one message, not one per seat


def test_nothing_is_sent_when_the_transaction_rolls_back(
    event, seats, admitted_fan, admitted_other_fan, django_capture_on_commit_callbacks, listen
):
    channel = listen(event.pk)

    @transaction.atomic
    def hold_then_fail():
        seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk])
        raise RuntimeError("the caller's transaction fails")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            hold_then_fail()
        seats_hold(user=admitted_other_fan, event=event, seat_ids=[seats[1].pk])
        with pytest.raises(SeatUnavailable):
            seats_hold(user=admitted_fan, event=event, seat_ids=[seats[1].pk, seats[2].pk])

    assert len(callbacks) == 1  # only the other fan's successful hold
    assert _receive(channel)["changes"] == [[seats[1].pk, "held"]]
    _assert_silent(channel)


def test_release_cancel_and_payment_send_available_and_sold(
    event, seats, admitted_fan, django_capture_on_commit_callbacks, listen
):
    seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk, seats[1].pk, seats[2].pk])
    channel = listen(event.pk)

    with django_capture_on_commit_callbacks(execute=True):
        seats_release(user=admitted_fan, event=event, seat_ids=[seats[2].pk])
        booking = booking_create(user=admitted_fan, event=event)
        booking_confirm_paid(booking=booking)
        booking_cancel(booking=booking, by_staff=True)

    assert _receive(channel)["changes"] == [[seats[2].pk, "available"]]
    assert _receive(channel)["changes"] == [[seats[0].pk, "sold"], [seats[1].pk, "sold"]]
    assert _receive(channel)["changes"] == [[seats[0].pk, "available"], [seats[1].pk, "available"]]
    _assert_silent(channel)  # creating the booking changes nothing others see


def test_the_expiry_sweep_tells_open_maps_the_seats_are_free(
    event, seats, admitted_fan, django_capture_on_commit_callbacks, listen
):
    seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk, seats[1].pk])
    time_passes_beyond_the_window(event)
    channel = listen(event.pk)

    with django_capture_on_commit_callbacks(execute=True):
        assert holds_release_expired() == 2

    assert _receive(channel)["changes"] == [[seats[0].pk, "available"], [seats[1].pk, "available"]]
    assert not SeatHold.objects.exists()


def test_large_change_sets_are_split_into_bounded_messages(event, listen):
    channel = listen(event.pk)
    changes = [(seat_id, "available") for seat_id in range(1, MAX_CHANGES_PER_MESSAGE + 11)]

    notify_seats_changed(event.pk, changes)

    assert len(_receive(channel)["changes"]) == MAX_CHANGES_PER_MESSAGE
    assert len(_receive(channel)["changes"]) == 10
