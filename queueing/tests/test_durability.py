"""PostgreSQL is the truth of the queue; Redis coming back older, or a crash between the two writes,
loses no place, invents none and doubles no admission (issue 10, faults 1, 2, 5, 6, 7)."""

from __future__ import annotations

import time

import pytest
from django.db import OperationalError

from queueing import services
from queueing.models import AdmissionPass, QueueEntry
from queueing.redis_queue import QueueKeys, queue_redis, run_join, waiting_sequence
from queueing.selectors import QueueState, admission_pass_is_valid, queue_status
from queueing.services import (
    queue_admit_batch,
    queue_ensure_current,
    queue_join,
    queue_leave,
    queue_repair,
)
from queueing.tasks import repair_queues


def _snapshot(event) -> dict[bytes, bytes]:
    """What an RDB snapshot holds of the event's queue: every key, dumped."""
    client = queue_redis()
    return {key: client.dump(key) for key in client.scan_iter(match=f"q:{{{event.pk}}}:*")}


def _restore(event, snapshot: dict[bytes, bytes]) -> None:
    """Redis restarted from that snapshot: whatever happened since is gone."""
    client = queue_redis()
    for key in client.scan_iter(match=f"q:{{{event.pk}}}:*"):
        client.delete(key)
    for key, dumped in snapshot.items():
        client.restore(key, 0, dumped, replace=True)


def _join_all(event, fans):
    return [queue_join(user=fan, event=event) for fan in fans]


def test_fans_who_joined_after_the_restored_snapshot_keep_their_places(event, make_fans):
    early, late = make_fans(4), make_fans(3)
    _join_all(event, early)
    snapshot = _snapshot(event)
    _join_all(event, late)

    _restore(event, snapshot)

    assert [queue_status(user=fan, event=event).position for fan in late] == [5, 6, 7]
    assert [queue_status(user=fan, event=event).position for fan in early] == [1, 2, 3, 4]


def test_a_join_on_a_stale_redis_never_answers_without_its_row(event, make_fans):
    early, late, newcomers = make_fans(4), make_fans(3), make_fans(3)
    _join_all(event, early)
    snapshot = _snapshot(event)
    _join_all(event, late)
    _restore(event, snapshot)

    joined = _join_all(event, newcomers)

    for fan, status in zip(newcomers, joined, strict=True):
        row = QueueEntry.objects.get(event=event, user=fan, state=QueueEntry.State.WAITING)
        assert status.sequence == row.sequence
    assert [status.position for status in joined] == [8, 9, 10], "sequences are never reused"
    assert QueueEntry.objects.filter(event=event).count() == 10


def test_redis_restored_from_before_an_admission_is_rebuilt_by_the_repair(event, make_fans):
    fans = make_fans(5)
    _join_all(event, fans)
    snapshot = _snapshot(event)
    admitted = queue_admit_batch(event=event)
    _restore(event, snapshot)

    assert queue_ensure_current(event=event), "an older generation in Redis is noticed"

    assert [queue_status(user=fan, event=event).status for fan in fans[:3]] == [QueueState.ADMITTED] * 3
    assert queue_status(user=fans[3], event=event).position == 1
    assert queue_admit_batch(event=event) == [fans[3].pk, fans[4].pk]
    assert AdmissionPass.objects.count() == 5
    assert len(admitted) == 3


def test_redis_restored_from_before_a_leave_is_rebuilt(event, make_fans):
    fans = make_fans(3)
    _join_all(event, fans)
    snapshot = _snapshot(event)
    queue_leave(user=fans[0], event=event)
    _restore(event, snapshot)

    assert queue_repair(event=event).rebuilt

    assert queue_status(user=fans[0], event=event) is None
    assert queue_status(user=fans[1], event=event).position == 1


def test_a_current_redis_is_not_rebuilt(event, make_fans):
    _join_all(event, make_fans(3))
    queue_admit_batch(event=event, size=1)

    assert not queue_ensure_current(event=event)


def test_a_place_whose_row_never_came_is_shown_no_longer_than_the_repair(event, make_fans):
    first, ghost = make_fans(2)
    queue_join(user=first, event=event)
    # The web process took the place in Redis and died before its database write.
    run_join(QueueKeys(event.pk), user_id=ghost.pk, now_epoch=0)

    repair = queue_repair(event=event)

    assert repair.places_dropped == 1
    assert queue_status(user=ghost, event=event) is None
    assert queue_admit_batch(event=event) == [first.pk]
    assert not AdmissionPass.objects.filter(user=ghost).exists()


def test_a_place_within_its_grace_is_left_to_its_join(event, make_fans):
    (fan,) = make_fans(1)
    queue_join(user=make_fans(1)[0], event=event)

    run_join(QueueKeys(event.pk), user_id=fan.pk, now_epoch=time.time())

    assert queue_repair(event=event, grace_seconds=60).places_dropped == 0
    assert waiting_sequence(QueueKeys(event.pk), fan.pk) is not None


def test_the_repair_confirms_a_place_whose_row_exists(event, make_fans):
    (fan,) = make_fans(1)
    joined = queue_join(user=fan, event=event)
    keys = QueueKeys(event.pk)
    # The row committed but the confirmation never reached Redis (it restarted in between).
    queue_redis().hset(keys.unconfirmed, str(fan.pk), f"{joined.sequence}:0")

    assert queue_repair(event=event).places_dropped == 0
    assert queue_redis().hlen(keys.unconfirmed) == 0
    assert queue_status(user=fan, event=event).position == 1


def test_a_join_whose_commit_landed_before_the_connection_broke_answers_its_place(
    event, make_fans, monkeypatch
):
    first, fan = make_fans(2)
    queue_join(user=first, event=event)
    real_insert = services._insert_entry

    def commit_then_lose_the_connection(**kwargs):
        real_insert(**kwargs)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "_insert_entry", commit_then_lose_the_connection)
    joined = queue_join(user=fan, event=event)

    assert joined.position == 2
    assert QueueEntry.objects.get(user=fan).sequence == joined.sequence
    assert waiting_sequence(QueueKeys(event.pk), fan.pk) == joined.sequence


def test_a_join_whose_fate_is_unknown_is_settled_by_the_repair(event, make_fans, monkeypatch):
    first, fan = make_fans(2)
    queue_join(user=first, event=event)

    def database_down(**kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(services, "_insert_entry", database_down)
    monkeypatch.setattr(services, "_place_recorded", lambda *args, **kwargs: None)
    with pytest.raises(OperationalError):
        queue_join(user=fan, event=event)
    monkeypatch.undo()

    assert queue_redis().hexists(QueueKeys(event.pk).unconfirmed, str(fan.pk))
    assert queue_repair(event=event, grace_seconds=0).places_dropped == 1
    assert queue_status(user=fan, event=event) is None


def test_the_repair_task_fixes_every_live_queue(event, make_fans):
    first, ghost = make_fans(2)
    queue_join(user=first, event=event)
    run_join(QueueKeys(event.pk), user_id=ghost.pk, now_epoch=0)

    fixed = repair_queues.delay().get()

    assert fixed == {event.pk: {"rebuilt": 0, "admissionsFinished": 0, "placesDropped": 1}}


def test_a_fan_admitted_while_redis_was_stale_may_hold_seats_after_the_repair(event, make_fans):
    fans = make_fans(2)
    _join_all(event, fans)
    snapshot = _snapshot(event)
    queue_admit_batch(event=event)
    _restore(event, snapshot)

    repair_queues.delay().get()

    assert admission_pass_is_valid(user=fans[0], event=event)


def test_the_repair_task_forgets_tick_claims_older_than_a_day(event):
    from datetime import timedelta

    from django.utils import timezone

    from queueing.models import AdmissionTick

    AdmissionTick.objects.create(event=event, tick=1, claimed_at=timezone.now() - timedelta(days=2))
    AdmissionTick.objects.create(event=event, tick=2)

    repair_queues.delay().get()

    assert list(AdmissionTick.objects.values_list("tick", flat=True)) == [2]
