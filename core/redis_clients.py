"""Redis clients by address: one plain server or a Redis Cluster, sync and asyncio.

The queue may live on a cluster (``QUEUE_REDIS_URL``, ``QUEUE_REDIS_CLUSTER``) while everything else
stays on ``REDIS_URL``. Both kinds are built here, with the same retry, so their callers only choose
which store they mean, never how to reach it.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import TypeAlias

from redis import Redis, RedisCluster
from redis.asyncio import BlockingConnectionPool
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException
from redis.retry import Retry

# One retry after a short pause: a pooled connection that a Redis restart closed fails once.
REDIS_BACKOFF = {"base": 0.05, "cap": 0.5}
# Per process and event loop: requests beyond it wait for a free connection instead of failing.
ASYNC_MAX_CONNECTIONS = 64

SyncClient: TypeAlias = Redis | RedisCluster
AsyncClient: TypeAlias = AsyncRedis | AsyncRedisCluster

_sync_clients: dict[tuple[str, bool], SyncClient] = {}
_sync_lock = threading.Lock()
# An asyncio client belongs to one event loop: one per running loop and address.
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, bool], AsyncClient]]
_async_clients = weakref.WeakKeyDictionary()


def sync_client(url: str, *, cluster: bool) -> SyncClient:
    """This process's client of ``url`` (a cluster's seed node when ``cluster``)."""
    key = (url, cluster)
    client = _sync_clients.get(key)
    if client is None:
        with _sync_lock:
            client = _sync_clients.get(key)
            if client is None:
                client = _connect_sync(url, cluster=cluster)
                _sync_clients[key] = client
    return client


def _connect_sync(url: str, *, cluster: bool) -> SyncClient:
    retry = Retry(ExponentialBackoff(**REDIS_BACKOFF), 1)
    if not cluster:
        return Redis.from_url(url, retry=retry)
    try:
        # Reads the slot map from the seed node at once; redirects (MOVED) later refresh it.
        return RedisCluster.from_url(url, retry=retry)
    except RedisClusterException as exc:  # no node reachable: an outage like any other (503)
        raise RedisConnectionError(str(exc)) from exc


def async_client(url: str, *, cluster: bool) -> AsyncClient:
    """The running event loop's client of ``url``; a cluster client connects on its first command."""
    clients = _async_clients.setdefault(asyncio.get_running_loop(), {})
    key = (url, cluster)
    client = clients.get(key)
    if client is None:
        retry = AsyncRetry(ExponentialBackoff(**REDIS_BACKOFF), 1)
        if cluster:
            client = AsyncRedisCluster.from_url(url, retry=retry, max_connections=ASYNC_MAX_CONNECTIONS)
        else:
            pool = BlockingConnectionPool.from_url(url, max_connections=ASYNC_MAX_CONNECTIONS, retry=retry)
            client = AsyncRedis(connection_pool=pool)
        clients[key] = client
    return client


async def async_client_ready(url: str, *, cluster: bool) -> AsyncClient:
    """``async_client``, with a cluster client's slot map read before its first command. redis-py
    reads it lazily inside the first commands, and concurrent first commands on a fresh client then
    fail ('NoneType' object has no attribute 'writelines'); ``initialize`` is locked, and a no-op
    once done."""
    client = async_client(url, cluster=cluster)
    if isinstance(client, AsyncRedisCluster):
        await client.initialize()
    return client


async def close_async_clients() -> None:
    """Close the running loop's asyncio clients (tests, benchmarks, shutdown)."""
    clients = _async_clients.pop(asyncio.get_running_loop(), {})
    for client in clients.values():
        await client.aclose()
        if isinstance(client, AsyncRedis):
            await client.connection_pool.disconnect()


def close_sync_clients() -> None:
    """Forget this process's sync clients (tests that point the settings at another server)."""
    with _sync_lock:
        clients = list(_sync_clients.values())
        _sync_clients.clear()
    for client in clients:
        client.close()
