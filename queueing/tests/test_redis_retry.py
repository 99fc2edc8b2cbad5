"""A Redis restart closes every pooled connection: the next command on each is retried once on a new
connection instead of failing (issue 10, item 3). The asyncio pool (the API's fast path) had no retry;
redis-py's sync pool already replaces an idle connection the server closed when it hands it out, and
its Retry (settings.CACHES) covers one that dies mid-command."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from django_redis import get_redis_connection

from queueing.redis_queue import async_queue_redis, close_async_redis_client


def _kill_connection(client_id: int) -> None:
    """What a restart does to one pooled connection (only ours: other tests share this server)."""
    killer = get_redis_connection("default").connection_pool.make_connection()
    try:
        killer.send_command("CLIENT", "KILL", "ID", client_id)
        killer.read_response()
    finally:
        killer.disconnect()


@pytest.mark.skipif(
    os.environ.get("TEST_QUEUE_REDIS_CLUSTER") in {"1", "true"},
    reason="a plain server's pool; the cluster client reconnects and follows redirects itself",
)
def test_the_async_pool_retries_a_connection_the_server_closed():
    async def scenario() -> bytes | None:
        client = await async_queue_redis()
        try:
            await client.set("retry-probe", "1")
            client_id = await client.client_id()  # the pool's only connection so far
            _kill_connection(int(client_id))
            return await client.get("retry-probe")
        finally:
            await close_async_redis_client()

    # A thread of its own: an earlier test (Playwright's sync API) may leave a loop running in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(asyncio.run, scenario()).result(timeout=30) == b"1"
