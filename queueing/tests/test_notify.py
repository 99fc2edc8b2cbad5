"""Realtime messages over the real Redis channel layer, sent only after commit."""

import asyncio
import uuid
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers, get_channel_layer
from django.utils import timezone

from queueing import tasks
from queueing.notify import queue_event_group, queue_user_group
from queueing.services import queue_admit_batch, queue_expire_passes, queue_join


def _listen(group: str) -> str:
    # A plain channel name (not new_channel()'s process-specific one) can be read from any layer
    # instance, so each receive below may use its own event loop.
    channel = f"test-listener-{uuid.uuid4().hex}"
    async_to_sync(get_channel_layer().group_add)(group, channel)
    return channel


def _receive(channel: str, timeout: float = 2.0) -> dict:
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)

    async def receive():
        return await asyncio.wait_for(layer.receive(channel), timeout)

    return async_to_sync(receive)()


def test_admitted_fans_get_a_message_with_where_to_go_after_commit(
    event, fan, django_capture_on_commit_callbacks
):
    queue_join(user=fan, event=event)
    channel = _listen(queue_user_group(event.pk, fan.pk))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        queue_admit_batch(event=event)
    with pytest.raises(TimeoutError):
        _receive(channel, timeout=0.3)  # nothing is sent before the commit

    for callback in callbacks:
        callback()
    message = _receive(channel)

    assert message["type"] == "queue.admitted"
    assert message["eventId"] == event.pk
    assert message["userId"] == fan.pk
    assert message["redirectUrl"] == f"/events/{event.slug}/seats/"
    assert message["expiresAt"] == fan.admission_passes.get().expires_at.isoformat()


def test_an_admission_broadcasts_the_new_head_to_the_event_group(
    event, make_fans, django_capture_on_commit_callbacks
):
    for fan in make_fans(5):
        queue_join(user=fan, event=event)
    channel = _listen(queue_event_group(event.pk))

    with django_capture_on_commit_callbacks(execute=True):
        queue_admit_batch(event=event)
    message = _receive(channel)

    assert message["type"] == "queue.status"
    assert (message["headSequence"], message["queueSize"], message["admittedTotal"]) == (3, 2, 3)
    assert message["admissionRatePerMinute"] > 0


def test_the_broadcast_task_sends_one_status_message_per_live_queue(event, fan):
    queue_join(user=fan, event=event)
    channel = _listen(queue_event_group(event.pk))

    sent = tasks.broadcast_queue_status.delay().get()

    assert sent == 1
    message = _receive(channel)
    assert message["type"] == "queue.status"
    assert message["eventId"] == event.pk
    assert message["queueSize"] == 1
    with pytest.raises(TimeoutError):
        _receive(channel, timeout=0.3)


def test_a_fan_whose_pass_expires_is_told(event, fan, django_capture_on_commit_callbacks):
    queue_join(user=fan, event=event)
    queue_admit_batch(event=event)
    channel = _listen(queue_user_group(event.pk, fan.pk))

    with django_capture_on_commit_callbacks(execute=True):
        queue_expire_passes(now=timezone.now() + timedelta(minutes=11))

    assert _receive(channel) == {"type": "queue.expired", "eventId": event.pk, "userId": fan.pk}
