"""``core.compiled_query``: SQL compiled once, answers identical to the QuerySet's, on PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings.models import SeatHold
from bookings.services import seats_hold
from bookings.tests.conftest import admit
from core.compiled_query import CompiledQuery
from events.models import Seat
from events.tests.factories import EventFactory, SeatFactory, categories_for


def _holds_queryset(user_id, event_id, now):
    return (
        SeatHold.objects.filter(user_id=user_id, event_id=event_id, expires_at__gt=now)
        .select_related("seat__category")
        .order_by("seat__section", "seat__y", "seat__x", "seat_id")
    )


@pytest.fixture
def two_fans_holding(db, fan, other_fan):
    """Each fan holds seats of the same event: the fan three, the other fan one."""
    event = EventFactory(max_seats_per_order=4)
    platinum, gold, _silver = categories_for(event)
    seats = [
        SeatFactory(event=event, category=platinum if n < 3 else gold, section="B" if n % 2 else "A", x=n)
        for n in range(6)
    ]
    admit(event, fan, other_fan)
    seats_hold(user=fan, event=event, seat_ids=[seats[5].pk, seats[0].pk, seats[3].pk])
    seats_hold(user=other_fan, event=event, seat_ids=[seats[1].pk])
    return event, seats


def test_model_rows_with_related_objects_are_what_the_queryset_gives(two_fans_holding, fan, other_fan):
    event, _seats = two_fans_holding
    compiled = CompiledQuery(_holds_queryset, user_id=int, event_id=int, now=datetime)
    now = timezone.now()

    for user in (fan, other_fan, fan):
        expected = list(_holds_queryset(user.pk, event.pk, now))
        with CaptureQueriesContext(connection) as queries:
            got = compiled.fetch(user_id=user.pk, event_id=event.pk, now=now)
            # The related seat and category came with the row, as select_related's do.
            details = [(hold.seat.section, hold.seat.x, hold.seat.category.name) for hold in got]
        assert len(queries) == 1
        assert [hold.pk for hold in got] == [hold.pk for hold in expected]
        assert [vars_of(hold) for hold in got] == [vars_of(hold) for hold in expected]
        assert details == [(hold.seat.section, hold.seat.x, hold.seat.category.name) for hold in expected]
        assert all(isinstance(hold.seat, Seat) and not hold._state.adding for hold in got)

    later = now + timedelta(days=1)  # every hold has run out by then: the time is bound too
    assert compiled.fetch(user_id=fan.pk, event_id=event.pk, now=later) == []


def vars_of(obj) -> dict:
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def test_values_rows_flat_and_tuples_are_what_the_queryset_gives(two_fans_holding, fan):
    now = timezone.now()

    def flat(user_id, now):
        return (
            SeatHold.objects.filter(user_id=user_id, expires_at__gt=now)
            .order_by("seat_id")
            .values_list("seat_id", flat=True)
        )

    def rows(user_id, now):
        return (
            SeatHold.objects.filter(user_id=user_id, expires_at__gt=now)
            .order_by("-seat_id")
            .values_list("seat_id", "expires_at", "seat__category__price")
        )

    assert CompiledQuery(flat, user_id=int, now=datetime).fetch(user_id=fan.pk, now=now) == list(
        flat(fan.pk, now)
    )
    assert CompiledQuery(rows, user_id=int, now=datetime).fetch(user_id=fan.pk, now=now) == list(
        rows(fan.pk, now)
    )
    assert len(list(flat(fan.pk, now))) == 3


def test_the_queryset_is_built_and_compiled_once(two_fans_holding, fan, other_fan):
    event, _seats = two_fans_holding
    builds = []

    def build(user_id, event_id, now):
        builds.append(user_id)
        return _holds_queryset(user_id, event_id, now)

    compiled = CompiledQuery(build, user_id=int, event_id=int, now=datetime)
    now = timezone.now()
    counts = [len(compiled.fetch(user_id=user.pk, event_id=event.pk, now=now)) for user in (fan, other_fan)]

    assert counts == [3, 1]
    assert len(builds) == 1


def test_a_parameter_the_query_does_not_use_or_a_missing_value_is_refused(two_fans_holding, fan):
    ignores_now = CompiledQuery(
        lambda user_id, now: SeatHold.objects.filter(user_id=user_id), user_id=int, now=datetime
    )
    with pytest.raises(TypeError, match="does not use"):
        ignores_now.fetch(user_id=fan.pk, now=timezone.now())

    compiled = CompiledQuery(lambda user_id: SeatHold.objects.filter(user_id=user_id), user_id=int)
    with pytest.raises(TypeError, match="expected values"):
        compiled.fetch(user=fan.pk)
    with pytest.raises(TypeError, match="int or datetime"):
        CompiledQuery(lambda name: SeatHold.objects.filter(seat__section=name), name=str).fetch(name="A")


def test_every_compiled_query_of_the_site_answers_as_its_queryset(two_fans_holding, fan, other_fan):
    """The queries the pages use, each compared with the QuerySet it was compiled from."""
    from accounts.backends import _user_by_id
    from bookings.selectors import _held_seat_ids, _holds, _pending_booking
    from bookings.services import booking_create
    from queueing.selectors import _valid_pass

    event, _seats = two_fans_holding
    booking = booking_create(user=fan, event=event)  # the fan's holds become a pending booking
    seats_hold(user=other_fan, event=event, seat_ids=[_seats[2].pk])
    now = timezone.now()
    site_queries = [_holds, _held_seat_ids, _pending_booking, _valid_pass]
    answers = {}
    for user in (fan, other_fan):
        values = {"user_id": user.pk, "event_id": event.pk, "now": now}
        for compiled in site_queries:
            got, expected = compiled.fetch(**values), list(compiled._build(**values))
            assert got == expected
            assert [vars_of(row) if hasattr(row, "_meta") else row for row in got] == [
                vars_of(row) if hasattr(row, "_meta") else row for row in expected
            ]
            answers[compiled, user.pk] = got
        assert _user_by_id.fetch(user_id=user.pk) == [user]
    assert answers[_pending_booking, fan.pk] == [booking]
    assert answers[_pending_booking, other_fan.pk] == []
    assert len(answers[_held_seat_ids, other_fan.pk]) == 2
    assert all(answers[_valid_pass, user.pk] for user in (fan, other_fan))


def test_holds_for_names_the_fans_pending_booking(two_fans_holding, fan, other_fan):
    from bookings.selectors import holds_for, pending_booking_for
    from bookings.services import booking_create

    event, _seats = two_fans_holding
    booking = booking_create(user=fan, event=event)

    assert holds_for(user=fan, event=event).pending_booking_id == booking.pk
    assert pending_booking_for(user=fan, event=event) == booking
    assert holds_for(user=other_fan, event=event).pending_booking_id is None


def test_rows_are_converted_as_the_orm_converts_them(db, fan):
    from boxoffice.models import SaleControlAction

    event = EventFactory()
    SaleControlAction.objects.create(
        event=event,
        actor=fan,
        action=SaleControlAction.Action.choices[0][0],
        details={"batch": 50, "why": "é"},
    )

    def actions(event_id):
        return SaleControlAction.objects.filter(event_id=event_id)

    def details(event_id):
        return SaleControlAction.objects.filter(event_id=event_id).values_list("details", flat=True)

    [action] = CompiledQuery(actions, event_id=int).fetch(event_id=event.pk)
    assert action.details == {"batch": 50, "why": "é"} == actions(event.pk).get().details
    assert CompiledQuery(details, event_id=int).fetch(event_id=event.pk) == [{"batch": 50, "why": "é"}]


def test_a_value_computed_from_a_parameter_is_refused_rather_than_frozen(db):
    def soon(now):
        return SeatHold.objects.filter(expires_at__gt=now, created_at__lt=now + timedelta(minutes=5))

    with pytest.raises(TypeError, match="computes a value"):
        CompiledQuery(soon, now=datetime).fetch(now=timezone.now())


def test_values_the_orm_would_have_prepared_differently_are_refused(db, fan):
    compiled = CompiledQuery(
        lambda user_id, now: SeatHold.objects.filter(user_id=user_id, expires_at__gt=now),
        user_id=int,
        now=datetime,
    )
    with pytest.raises(TypeError, match="aware datetime"):
        compiled.fetch(user_id=fan.pk, now=datetime.now())  # noqa: DTZ005 - the point of the test
    with pytest.raises(TypeError, match="must be an int"):
        compiled.fetch(user_id=str(fan.pk), now=timezone.now())
    assert compiled.fetch(user_id=fan.pk, now=timezone.now()) == []


def test_locking_reads_are_refused(db):
    locking = CompiledQuery(
        lambda user_id: SeatHold.objects.select_for_update().filter(user_id=user_id), user_id=int
    )
    with pytest.raises(TypeError, match="lock"):
        locking.fetch(user_id=1)
