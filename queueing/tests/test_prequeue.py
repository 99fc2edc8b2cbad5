from datetime import timedelta

import pytest
from django.utils import timezone

from events.tests.factories import EventFactory
from queueing import services
from queueing.models import EventQueue, QueueEntry
from queueing.redis_queue import BUCKET, QueueKeys, queue_redis, waiting_count, waiting_places
from queueing.selectors import QueueState, queue_status
from queueing.services import queue_join, queue_open_prequeue

PREQUEUE_SIZE = 40


@pytest.fixture
def upcoming_event(db):
    return EventFactory(upcoming=True, admission_batch_size=5)


def _open_sale(event):
    event.sale_opens_at = timezone.now() - timedelta(seconds=1)
    event.save(update_fields=["sale_opens_at"])


def test_fans_arriving_before_the_sale_opens_wait_in_the_prequeue_without_a_place(upcoming_event, make_fans):
    fans = make_fans(3)

    statuses = [queue_join(user=fan, event=upcoming_event) for fan in fans]

    assert {s.status for s in statuses} == {QueueState.PREQUEUE}
    assert {s.position for s in statuses} == {None}
    assert statuses[-1].queue_size == 3
    assert set(QueueEntry.objects.values_list("state", "sequence")) == {(QueueEntry.State.PREQUEUE, None)}


def test_joining_the_prequeue_twice_keeps_one_entry(upcoming_event, fan):
    queue_join(user=fan, event=upcoming_event)

    again = queue_join(user=fan, event=upcoming_event)

    assert again.status == QueueState.PREQUEUE
    assert again.already_in_queue is True
    assert QueueEntry.objects.filter(user=fan).count() == 1


def test_opening_gives_the_whole_prequeue_a_random_order(upcoming_event, make_fans):
    fans = make_fans(PREQUEUE_SIZE)
    for fan in fans:
        queue_join(user=fan, event=upcoming_event)
    _open_sale(upcoming_event)

    placed = queue_open_prequeue(event=upcoming_event)

    assert placed == PREQUEUE_SIZE
    sequence_of = dict(QueueEntry.objects.values_list("user_id", "sequence"))
    assert sorted(sequence_of.values()) == list(range(1, PREQUEUE_SIZE + 1))
    order = sorted(sequence_of, key=sequence_of.__getitem__)
    assert order != [fan.pk for fan in fans], "arrival order must not decide the place"
    positions = {fan.pk: queue_status(user=fan, event=upcoming_event).position for fan in fans}
    assert positions == {user_id: sequence_of[user_id] for user_id in positions}
    assert set(QueueEntry.objects.values_list("state", flat=True)) == {QueueEntry.State.WAITING}


def test_the_opening_lottery_runs_exactly_once(upcoming_event, make_fans):
    for fan in make_fans(10):
        queue_join(user=fan, event=upcoming_event)
    _open_sale(upcoming_event)
    queue_open_prequeue(event=upcoming_event)
    drawn = dict(QueueEntry.objects.values_list("user_id", "sequence"))

    assert queue_open_prequeue(event=upcoming_event) == 0

    assert dict(QueueEntry.objects.values_list("user_id", "sequence")) == drawn
    assert EventQueue.objects.get(event=upcoming_event).opened_at is not None


def test_the_lottery_does_not_run_before_the_sale_opens(upcoming_event, fan):
    queue_join(user=fan, event=upcoming_event)

    assert queue_open_prequeue(event=upcoming_event) == 0

    assert queue_status(user=fan, event=upcoming_event).status == QueueState.PREQUEUE


def test_fans_arriving_after_opening_queue_behind_everyone_from_the_prequeue(upcoming_event, make_fans):
    early = make_fans(PREQUEUE_SIZE)
    for fan in early:
        queue_join(user=fan, event=upcoming_event)
    _open_sale(upcoming_event)
    late_first, late_second = make_fans(2)

    # No explicit lottery call: the first join after opening runs it before taking a place.
    first = queue_join(user=late_first, event=upcoming_event)
    second = queue_join(user=late_second, event=upcoming_event)

    assert (first.position, second.position) == (PREQUEUE_SIZE + 1, PREQUEUE_SIZE + 2)
    early_sequences = QueueEntry.objects.filter(user__in=early).values_list("sequence", flat=True)
    assert max(early_sequences) < first.sequence < second.sequence
    assert not queue_redis().exists(QueueKeys(upcoming_event.pk).pre)


def _line_matches_postgresql(event) -> None:
    sequence_of = dict(QueueEntry.objects.filter(event=event).values_list("user_id", "sequence"))
    keys = QueueKeys(event.pk)
    assert waiting_places(keys) == sorted(sequence_of.items(), key=lambda place: place[1])
    assert waiting_count(keys) == len(sequence_of)
    assert queue_redis().scard(keys.pre) == 0


def test_a_prequeue_is_placed_a_chunk_at_a_time_across_buckets_of_the_line(
    upcoming_event, make_fans, monkeypatch
):
    monkeypatch.setattr(services, "_CHUNK", 3)
    monkeypatch.setattr(services, "_CHUNKS_PER_ROUND_TRIP", 2)
    fans = make_fans(PREQUEUE_SIZE)
    for fan in fans:
        queue_join(user=fan, event=upcoming_event)
    queue_redis().set(QueueKeys(upcoming_event.pk).seq, BUCKET - 20)  # places straddle two buckets
    _open_sale(upcoming_event)

    assert queue_open_prequeue(event=upcoming_event) == PREQUEUE_SIZE

    _line_matches_postgresql(upcoming_event)
    sequence_of = dict(QueueEntry.objects.values_list("user_id", "sequence"))
    order = sorted(sequence_of, key=sequence_of.__getitem__)
    positions = {fan.pk: queue_status(user=fan, event=upcoming_event).position for fan in fans}
    assert positions == {user_id: order.index(user_id) + 1 for user_id in positions}


def test_a_lottery_that_dies_after_writing_redis_is_run_again_without_doubling_anyone(
    upcoming_event, make_fans, monkeypatch
):
    fans = make_fans(PREQUEUE_SIZE)
    for fan in fans:
        queue_join(user=fan, event=upcoming_event)
    _open_sale(upcoming_event)

    def dies(event):
        raise RuntimeError("the process died before its COMMIT")

    with monkeypatch.context() as patch:
        patch.setattr(services, "_bump_generation", dies)
        with pytest.raises(RuntimeError):
            queue_open_prequeue(event=upcoming_event)
    assert set(QueueEntry.objects.values_list("state", flat=True)) == {QueueEntry.State.PREQUEUE}

    assert queue_open_prequeue(event=upcoming_event) == PREQUEUE_SIZE

    _line_matches_postgresql(upcoming_event)
