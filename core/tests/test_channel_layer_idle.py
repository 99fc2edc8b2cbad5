"""The channel layer survives idle reads longer than its blocking pop and redis-py's default timeout.

channels-redis waits in ``BZPOPMIN`` for 5 s; redis-py 8 gives up reading a reply after its default
5 s socket timeout, so an idle ``receive`` raised ``redis.exceptions.TimeoutError`` (the 1011 closes of
every idle socket). ``CHANNEL_LAYER_SOCKET_TIMEOUT`` must outlast the pop.
"""

import asyncio

import pytest
from channels.layers import get_channel_layer
from django.conf import settings

# Ordered with the other transactional tests, before the browser tests' Playwright event loop.
pytestmark = pytest.mark.django_db(transaction=True)

IDLE_SECONDS = 11.0  # two blocking pops, and more than redis-py's default 5 s socket timeout


def test_the_read_timeout_outlasts_the_blocking_pop():
    layer = get_channel_layer()
    assert layer.brpop_timeout < settings.CHANNEL_LAYER_SOCKET_TIMEOUT


async def test_an_idle_receive_waits_past_every_timeout_and_still_gets_the_message():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    receiving = asyncio.create_task(layer.receive(channel))

    await asyncio.sleep(IDLE_SECONDS)
    assert not receiving.done(), receiving.exception() if receiving.done() else None
    await layer.send(channel, {"type": "hello"})

    assert (await asyncio.wait_for(receiving, 5))["type"] == "hello"
    await layer.flush()
