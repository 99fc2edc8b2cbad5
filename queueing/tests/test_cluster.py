"""The queue on a Redis Cluster (issue 13): one event's keys share one hash slot, so every script and
transaction touches one slot; events spread over the masters; nothing of the queue lands on the
plain Redis of the cache. The last two run on the cluster run of ``make test`` only."""

from __future__ import annotations

import os

import pytest
from django_redis import get_redis_connection
from redis.cluster import RedisCluster, key_slot

from events.tests.factories import EventFactory
from queueing.redis_queue import QueueKeys, queue_redis, waiting_sequence
from queueing.services import queue_join

pytestmark = pytest.mark.django_db

on_cluster = pytest.mark.skipif(
    os.environ.get("TEST_QUEUE_REDIS_CLUSTER") not in {"1", "true"},
    reason="the cluster run of make test (TEST_QUEUE_REDIS_CLUSTER=1)",
)


def _every_key(keys: QueueKeys) -> list[str]:
    names = [name for name in dir(QueueKeys) if isinstance(getattr(QueueKeys, name), property)]
    return [getattr(keys, name) for name in names] + [keys.pop_token("a-token")]


def test_every_key_of_one_events_queue_is_in_one_hash_slot():
    for event_id in (1, 42, 10_000_000):
        slots = {key_slot(key.encode()) for key in _every_key(QueueKeys(event_id))}
        assert len(slots) == 1, slots
    assert len(_every_key(QueueKeys(1))) >= 12


@on_cluster
def test_on_the_cluster_the_queues_of_many_events_spread_over_every_master(make_fans):
    client = queue_redis()
    assert isinstance(client, RedisCluster)
    assert len(client.get_primaries()) == 3
    fans = make_fans(2)
    for _ in range(12):
        event = EventFactory()
        for fan in fans:
            queue_join(user=fan, event=event)

    keys_per_master = [client.dbsize(target_nodes=node) for node in client.get_primaries()]

    assert all(count > 0 for count in keys_per_master), keys_per_master


@on_cluster
def test_on_the_cluster_no_queue_key_lands_on_the_plain_redis(event, fan):
    queue_join(user=fan, event=event)

    plain = get_redis_connection("default")
    assert list(plain.scan_iter(match="q:{*")) == []
    assert waiting_sequence(QueueKeys(event.pk), fan.pk) == 1
