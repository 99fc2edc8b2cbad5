"""Channel-layer messages from synchronous code (services after commit, Celery tasks, threads).

``async_to_sync(layer.group_send)`` outside an event loop starts a new loop, a new thread and a new
Redis connection for every call; at hundreds of seat holds a second that was a third of a hold's CPU.
Here each process keeps one event loop in a daemon thread, so the layer's Redis connections are
reused. A forked child (Celery prefork, test servers) gets a loop of its own.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Iterable
from typing import Any

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 5

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid: int | None = None


def _sender_loop() -> asyncio.AbstractEventLoop:
    global _loop, _loop_pid
    with _lock:
        if _loop is None or _loop_pid != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="channel-layer-sender", daemon=True).start()
            _loop, _loop_pid = loop, os.getpid()
        return _loop


def group_send_many(messages: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """Send each (group, message) in order and wait until the layer has them."""
    layer = get_channel_layer()
    batch = list(messages)
    if layer is None or not batch:
        return

    async def send_all() -> None:
        for group, message in batch:
            await layer.group_send(group, message)

    future = asyncio.run_coroutine_threadsafe(send_all(), _sender_loop())
    future.result(timeout=SEND_TIMEOUT_SECONDS)
