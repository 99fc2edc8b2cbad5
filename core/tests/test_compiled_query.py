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
