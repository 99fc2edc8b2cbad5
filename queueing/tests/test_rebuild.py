import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import UserFactory
from events.tests.factories import EventFactory
from queueing import services
from queueing.redis_queue import (
    BUCKET,
    QueueKeys,
    line_version,
    queue_rebuild_finish,
    queue_redis,
    run_line_set,
    waiting_count,
    waiting_places,
)
from queueing.selectors import QueueState, admission_pass_is_valid, queue_stats, queue_status
from queueing.services import queue_admit_batch, queue_join, queue_leave, queue_rebuild_from_database


@pytest.fixture
def queue_in_progress(event, make_fans):
    """Eight fans joined, one left, one batch of three admitted."""
    fans = make_fans(8)
    for fan in fans:
        queue_join(user=fan, event=event)
    queue_leave(user=fans[4], event=event)
    queue_admit_batch(event=event)
    return fans


def _snapshot(event, fans):
    return {
        fan.pk: (status.status, status.position, status.sequence) if status else None
        for fan in fans
        for status in [queue_status(user=fan, event=event)]
    }


def test_flushing_redis_mid_queue_keeps_everybodys_place(event, queue_in_progress):
    fans = queue_in_progress
    before = _snapshot(event, fans)
    stats_before = queue_stats(event=event)

    queue_redis().flushdb()

    assert _snapshot(event, fans) == before
    stats_after = queue_stats(event=event)
    assert stats_after.head_sequence == stats_before.head_sequence == 3
    assert (stats_after.queue_size, stats_after.admitted_active, stats_after.admitted_total) == (4, 3, 3)
    assert admission_pass_is_valid(user=fans[0], event=event)


def test_after_a_flush_the_next_join_still_goes_to_the_back(event, queue_in_progress, make_fans):
    queue_redis().flushdb()
    (newcomer,) = make_fans(1)

    joined = queue_join(user=newcomer, event=event)

    assert joined.sequence == 9, "the sequence counter is restored, never reused"
    assert joined.position == 5
    assert queue_status(user=queue_in_progress[3], event=event).position == 1


def test_after_a_flush_the_next_batch_continues_in_order(event, queue_in_progress):
    queue_redis().flushdb()

    admitted = queue_admit_batch(event=event)

    fans = queue_in_progress
    assert admitted == [fans[3].pk, fans[5].pk, fans[6].pk]


def test_the_prequeue_survives_a_flush(db, make_fans):
    event = EventFactory(upcoming=True)
    fans = make_fans(3)
    for fan in fans:
        queue_join(user=fan, event=event)

    queue_redis().flushdb()

    assert [queue_status(user=fan, event=event).status for fan in fans] == [QueueState.PREQUEUE] * 3
    assert queue_stats(event=event).prequeue_size == 3


def test_an_expired_turn_is_not_restored_as_admitted(event, queue_in_progress):
    fan = queue_in_progress[0]
    fan.admission_passes.update(expires_at=timezone.now() - timedelta(seconds=1))

    queue_redis().flushdb()

    assert not admission_pass_is_valid(user=fan, event=event)
    assert queue_status(user=fan, event=event).status == QueueState.EXPIRED


def test_a_rebuild_on_live_structures_changes_nobodys_place(event, queue_in_progress):
    before = _snapshot(event, queue_in_progress)

    restored = queue_rebuild_from_database(event=event)

    assert restored == 4
    assert _snapshot(event, queue_in_progress) == before


def test_the_rebuild_command_restores_the_queue_by_slug(event, queue_in_progress, capsys):
    before = _snapshot(event, queue_in_progress)
    queue_redis().delete(*queue_redis().keys(f"q:{{{event.pk}}}:*"))

    call_command("rebuild_queue", event.slug)

    assert "4 fan(s) waiting" in capsys.readouterr().out
    assert waiting_count(QueueKeys(event.pk)) == 4
    assert _snapshot(event, queue_in_progress) == before


def test_a_rebuild_written_in_many_round_trips_restores_every_place_and_leaves_nothing_behind(
    event, make_fans, monkeypatch
):
    # Tiny chunks: the same path a 10,000,000-fan queue takes (many round trips, then one swap).
    monkeypatch.setattr(services, "_CHUNK", 2)
    monkeypatch.setattr(services, "_CHUNKS_PER_ROUND_TRIP", 2)
    monkeypatch.setattr(services, "_LINE_GROUPS_PER_ROUND_TRIP", 2)
    keys = QueueKeys(event.pk)
    client = queue_redis()
    services.queue_ensure_ready(event=event)
    client.set(keys.seq, BUCKET - 6)  # the fans' places straddle two buckets of the line
    fans = make_fans(11)
    for fan in fans:
        queue_join(user=fan, event=event)
    queue_admit_batch(event=event)
    before = _snapshot(event, fans)
    client.flushdb()
    # A rebuild whose process died after writing its buckets, before their tree (long enough ago),
    # and the staged pre-queue of another.
    with monkeypatch.context() as patch:
        patch.setattr(services, "fenwick_bytes", _dies)
        with pytest.raises(RuntimeError):
            queue_rebuild_from_database(event=event)
    (dead,) = client.zrange(keys.versions, 0, -1)
    client.zadd(keys.versions, {dead: time.time() - 3600})
    assert client.exists(
        keys.line_bucket(dead.decode(), 1), keys.line_users(dead.decode(), fans[0].pk // BUCKET)
    )
    stale = keys.staged("died-half-way")
    client.sadd(stale.pre, "999999")

    assert queue_rebuild_from_database(event=event) == 8

    assert _snapshot(event, fans) == before
    assert waiting_count(keys) == 8
    assert waiting_places(keys) == [(fan.pk, BUCKET - 6 + 1 + index) for index, fan in enumerate(fans)][3:]
    assert client.zcard(keys.admitted) == 3
    live = line_version(keys)
    assert {version.decode() for version in client.zrange(keys.versions, 0, -1)} == {live}
    line_keys = {
        key.decode()
        for pattern in ("w", "u", "f", "um", "wm")
        for key in client.scan_iter(match=f"q:{{{event.pk}}}:{pattern}:*")
    }
    assert line_keys
    assert all(f":{live}" in key for key in line_keys), "the dead rebuild's version is gone"
    assert all(client.ttl(key) == -1 for key in line_keys), "the live queue never expires"
    staging = {key.decode() for key in client.scan_iter(match=f"q:{{{event.pk}}}:next:*")}
    assert staging == {stale.pre}, "this rebuild's own staging keys were swapped in"


def _dies(*args, **kwargs):
    raise RuntimeError("the process died here")


def test_a_retried_last_step_of_a_rebuild_changes_nothing(event, make_fans):
    # Its reply lost to a dropped connection, redis-py sends the pipeline again.
    fans = make_fans(3)
    for fan in fans:
        queue_join(user=fan, event=event)
    queue_join(user=make_fans(1)[0], event=EventFactory(upcoming=True))  # a pre-queue elsewhere
    keys = QueueKeys(event.pk)
    client = queue_redis()
    client.sadd(keys.pre, "7")  # what the live pre-queue holds must survive the repeat
    live = line_version(keys)
    pipe = client.pipeline(transaction=False)
    queue_rebuild_finish(
        pipe, keys, keys.staged(live), version=live, waiting=0, max_sequence=0, opened=True,
        paused=False, generation=0, now_epoch=time.time(), late_joins={},
    )  # fmt: skip

    assert pipe.execute()[-1] == [0, None]

    assert line_version(keys) == live
    assert waiting_places(keys) == [(fan.pk, index + 1) for index, fan in enumerate(fans)]
    assert waiting_count(keys) == 3
    assert client.smembers(keys.pre) == {b"7"}


@pytest.mark.django_db(transaction=True)
def test_a_join_committed_while_the_rebuild_writes_the_line_keeps_its_place(monkeypatch):
    event = EventFactory(admission_batch_size=3)
    fans = [UserFactory() for _ in range(4)]
    for fan in fans[:3]:
        queue_join(user=fan, event=event)
    write_line_version = services._write_line_version

    def write_then_a_join_commits(*args, **kwargs):
        written = write_line_version(*args, **kwargs)
        # Another process: its row commits after the line was read, before the rebuild's last step.
        joiner = threading.Thread(target=lambda: (queue_join(user=fans[3], event=event), connection.close()))
        joiner.start()
        joiner.join()
        return written

    monkeypatch.setattr(services, "_write_line_version", write_then_a_join_commits)

    queue_rebuild_from_database(event=event)

    assert waiting_places(QueueKeys(event.pk)) == [(fan.pk, index + 1) for index, fan in enumerate(fans)]
    assert queue_status(user=fans[3], event=event).position == 4


def test_redis_holding_the_layout_before_the_bucketed_line_is_rebuilt_not_read_as_empty(event, make_fans):
    fans = make_fans(3)
    for fan in fans:
        queue_join(user=fan, event=event)
    keys = QueueKeys(event.pk)
    client = queue_redis()
    client.flushdb()
    # What an earlier release left in Redis: one sorted set, and "ready" as the sentinel.
    client.hset(keys.meta, mapping={"ready": "1", "opened": "1", "paused": "0", "gen": "0"})
    client.zadd(keys._key("waiting"), {str(fan.pk): index + 1 for index, fan in enumerate(fans)})
    client.set(keys.seq, 3)

    newcomer = queue_join(user=make_fans(1)[0], event=event)

    assert newcomer.position == 4, "the fans already waiting are still ahead"
    assert [queue_status(user=fan, event=event).position for fan in fans] == [1, 2, 3]
    assert not client.exists(keys._key("waiting"))
    assert client.hget(keys.meta, "ready") is None


def test_a_join_above_the_rows_read_keeps_its_place_through_a_chunked_rebuild(event, make_fans):
    fans = make_fans(3)
    for fan in fans[:2]:
        queue_join(user=fan, event=event)
    keys = QueueKeys(event.pk)
    # A join whose row is still in flight: in Redis with the next sequence, not yet in PostgreSQL.
    run_line_set(keys, {fans[2].pk: 3})
    queue_redis().set(keys.seq, 3)

    queue_rebuild_from_database(event=event)

    assert waiting_places(keys) == [(fans[0].pk, 1), (fans[1].pk, 2), (fans[2].pk, 3)]
