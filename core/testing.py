"""Test helpers for live pushes: hear what is published on a topic, as a server process would."""

from __future__ import annotations

import json
import time
from typing import Any

from django_redis import get_redis_connection

from core.realtime import channel_name


class TopicListener:
    """A synchronous subscriber to one live topic (``core.realtime``), on the real Redis."""

    def __init__(self, topic: str) -> None:
        self.pubsub = get_redis_connection("default").pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(channel_name(topic))
        self.pubsub.get_message(timeout=1)  # the subscription is confirmed: nothing is missed from here

    def receive(self, timeout: float = 2.0) -> dict[str, Any]:
        """The next published envelope; TimeoutError when nothing comes."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            message = self.pubsub.get_message(timeout=left)
            if message is not None and message["type"] == "message":
                return json.loads(message["data"])
        raise TimeoutError

    def assert_silent(self, timeout: float = 0.3) -> None:
        try:
            envelope = self.receive(timeout)
        except TimeoutError:
            return
        raise AssertionError(f"nothing should have been published, got {envelope}")

    def close(self) -> None:
        self.pubsub.close()
