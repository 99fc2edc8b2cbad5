from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.utils import timezone

from events.tests.factories import EventFactory
from queueing.exceptions import NotInQueue, SaleClosed
from queueing.models import AdmissionPass, QueueEntry
from queueing.redis_queue import QueueKeys, queue_redis, waiting_count, waiting_sequence
from queueing.selectors import QueueState, queue_status
from queueing.services import queue_admit_batch, queue_join, queue_leave
from queueing.tests.helpers import in_thread


def test_fans_are_queued_first_come_first_served_by_the_server_sequence(event, make_fans):
    fans = make_fans(5)

    statuses = [queue_join(user=fan, event=event) for fan in fans]

    assert [s.sequence for s in statuses] == [1, 2, 3, 4, 5]
    assert [queue_status(user=fan, event=event).position for fan in fans] == [1, 2, 3, 4, 5]
    assert [queue_status(user=fan, event=event).users_ahead for fan in fans] == [0, 1, 2, 3, 4]
    assert all(s.status == QueueState.WAITING and not s.already_in_queue for s in statuses)


def test_every_accepted_join_is_recorded_in_postgresql(event, make_fans):
    fans = make_fans(3)
    for fan in fans:
        queue_join(user=fan, event=event)

    entries = QueueEntry.objects.filter(event=event).order_by("sequence")
    rows = list(entries.values_list("user_id", "sequence", "state"))

    assert rows == [(fan.pk, i + 1, QueueEntry.State.WAITING) for i, fan in enumerate(fans)]


def test_joining_twice_returns_the_same_place(event, make_fans):
    first_fan, fan = make_fans(2)
    queue_join(user=first_fan, event=event)
    first = queue_join(user=fan, event=event)

    again = queue_join(user=fan, event=event)

    assert again.already_in_queue is True
    assert (again.sequence, again.position) == (first.sequence, first.position) == (2, 2)
    assert QueueEntry.objects.filter(event=event, user=fan).count() == 1


@pytest.mark.django_db(transaction=True)
def test_one_fan_joining_from_twenty_tabs_at_once_gets_one_place(make_fans):
    event = EventFactory()
    (fan,) = make_fans(1)
    join = in_thread(lambda _: queue_join(user=fan, event=event))

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(join, range(20)))

    assert {r.sequence for r in results} == {1}
    assert sum(not r.already_in_queue for r in results) == 1
    assert QueueEntry.objects.filter(event=event, user=fan).count() == 1
    assert waiting_count(QueueKeys(event.pk)) == 1


@pytest.mark.django_db(transaction=True)
def test_many_fans_joining_concurrently_get_distinct_consecutive_places(make_fans):
    event = EventFactory()
    fans = make_fans(40)
    join = in_thread(lambda fan: queue_join(user=fan, event=event))

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(join, fans))

    assert sorted(r.sequence for r in results) == list(range(1, 41))
    assert sorted(queue_status(user=fan, event=event).position for fan in fans) == list(range(1, 41))
    database = dict(QueueEntry.objects.filter(event=event).values_list("user_id", "sequence"))
    assert database == {fan.pk: r.sequence for fan, r in zip(fans, results, strict=True)}


@pytest.mark.parametrize("trait", ["closed", "draft"])
def test_joining_when_the_sale_is_not_open_is_refused(db, fan, trait):
    event = EventFactory(**{trait: True})

    with pytest.raises(SaleClosed) as error:
        queue_join(user=fan, event=event)

    assert (error.value.code, error.value.status_code) == ("SALE_CLOSED", 409)
    assert not QueueEntry.objects.exists()


def test_an_admitted_fan_joining_again_is_told_they_are_admitted(event, fan, make_fans):
    queue_join(user=fan, event=event)
    queue_admit_batch(event=event)
    (newcomer,) = make_fans(1)
    queue_join(user=newcomer, event=event)

    again = queue_join(user=fan, event=event)

    assert again.status == QueueState.ADMITTED
    assert again.already_in_queue is True
    assert again.admission_expires_at is not None
    assert QueueEntry.objects.filter(user=fan).count() == 1
    assert queue_status(user=newcomer, event=event).position == 1


def test_leaving_removes_the_fan_and_moves_the_others_up(event, make_fans):
    first, second, third = make_fans(3)
    for fan in (first, second, third):
        queue_join(user=fan, event=event)

    queue_leave(user=first, event=event)

    assert queue_status(user=first, event=event) is None
    assert queue_status(user=second, event=event).position == 1
    assert queue_status(user=third, event=event).position == 2
    entry = QueueEntry.objects.get(user=first)
    assert entry.state == QueueEntry.State.LEFT
    assert entry.left_at is not None


def test_leaving_without_being_queued_is_not_in_queue(event, fan):
    with pytest.raises(NotInQueue) as error:
        queue_leave(user=fan, event=event)

    assert (error.value.code, error.value.status_code) == ("NOT_IN_QUEUE", 404)


def test_a_fan_who_left_and_comes_back_joins_at_the_back(event, make_fans):
    leaver, other = make_fans(2)
    queue_join(user=leaver, event=event)
    queue_join(user=other, event=event)
    queue_leave(user=leaver, event=event)

    back = queue_join(user=leaver, event=event)

    assert back.already_in_queue is False
    assert (back.sequence, back.position) == (3, 2)


def test_leaving_after_admission_gives_the_pass_up(event, fan):
    queue_join(user=fan, event=event)
    queue_admit_batch(event=event)

    queue_leave(user=fan, event=event)

    assert AdmissionPass.objects.get(user=fan).ended_at is not None
    assert queue_status(user=fan, event=event) is None


def test_a_fan_whose_pass_ran_out_rejoins_at_the_back(event, make_fans):
    fan, other = make_fans(2)
    queue_join(user=fan, event=event)
    queue_admit_batch(event=event)
    queue_join(user=other, event=event)
    AdmissionPass.objects.filter(user=fan).update(expires_at=timezone.now() - timedelta(seconds=1))
    queue_redis().zadd(QueueKeys(event.pk).admitted, {str(fan.pk): 1.0})  # expired, not yet swept

    again = queue_join(user=fan, event=event)

    assert again.status == QueueState.WAITING
    assert again.already_in_queue is False
    assert again.position == 2
    states = dict(QueueEntry.objects.filter(user=fan).values_list("sequence", "state"))
    assert states == {1: QueueEntry.State.EXPIRED, 3: QueueEntry.State.WAITING}
    assert AdmissionPass.objects.get(user=fan).ended_at is not None


def test_a_join_postgresql_did_not_record_leaves_no_place_in_redis(event, make_fans, monkeypatch):
    from django.db import OperationalError

    from queueing import services

    first, fan = make_fans(2)
    queue_join(user=first, event=event)

    def database_down(**kwargs):
        raise OperationalError("the database went away")

    monkeypatch.setattr(services, "_insert_entry", database_down)
    with pytest.raises(OperationalError):
        queue_join(user=fan, event=event)

    assert waiting_sequence(QueueKeys(event.pk), fan.pk) is None
    assert queue_status(user=fan, event=event) is None
    monkeypatch.undo()
    assert queue_join(user=fan, event=event).position == 2
