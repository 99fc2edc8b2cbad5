"""Live messages of the waiting room over real Redis pub/sub, sent only after commit."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.testing import TopicListener
from queueing import tasks
from queueing.notify import queue_topic
from queueing.services import queue_admit_batch, queue_expire_passes, queue_join, queue_leave


@pytest.fixture
def listen(event):
    listener = TopicListener(queue_topic(event.pk))
    yield listener
    listener.close()


def test_admitted_fans_get_a_message_with_where_to_go_after_commit(
    event, fan, listen, django_capture_on_commit_callbacks
):
    queue_join(user=fan, event=event)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        queue_admit_batch(event=event)
    listen.assert_silent()  # nothing is sent before the commit

    for callback in callbacks:
        callback()
    envelope = listen.receive()

    assert envelope["kind"] == "admitted"
    assert envelope["to"] == [fan.pk]  # each named fan's sockets, and only theirs
    assert envelope["eventId"] == event.pk
    assert envelope["redirectUrl"] == f"/events/{event.slug}/seats/"
    assert envelope["expiresAt"] == fan.admission_passes.get().expires_at.isoformat()


def test_an_admission_publishes_the_new_head_in_one_frame_for_every_socket(
    event, make_fans, listen, django_capture_on_commit_callbacks
):
    for fan in make_fans(5):
        queue_join(user=fan, event=event)

    with django_capture_on_commit_callbacks(execute=True):
        queue_admit_batch(event=event)
    assert listen.receive()["kind"] == "admitted"
    frame = listen.receive()["frame"]

    assert (frame["type"], frame["reason"]) == ("queue", "change")
    assert (frame["headSequence"], frame["queueSize"], frame["admittedTotal"]) == (3, 2, 3)
    assert frame["admissionRatePerMinute"] > 0


def test_a_leave_publishes_the_leavers_sequence_to_be_merged_per_process(event, make_fans, listen):
    fans = make_fans(3)
    for fan in fans:
        queue_join(user=fan, event=event)

    queue_leave(user=fans[1], event=event)

    envelope = listen.receive()
    assert envelope["merge"] == "queue-leave"
    assert (envelope["frame"]["left"], envelope["frame"]["queueSize"]) == ([2], 2)


def test_the_heartbeat_task_publishes_one_frame_per_live_queue(event, fan, listen):
    queue_join(user=fan, event=event)

    sent = tasks.broadcast_queue_status.delay().get()

    assert sent == 1
    frame = listen.receive()["frame"]
    assert (frame["type"], frame["reason"], frame["eventId"], frame["queueSize"]) == (
        "queue",
        "heartbeat",
        event.pk,
        1,
    )
    listen.assert_silent()


def test_a_fan_whose_pass_expires_is_told(event, fan, listen, django_capture_on_commit_callbacks):
    queue_join(user=fan, event=event)
    queue_admit_batch(event=event)  # its on-commit messages are not sent inside the test's transaction

    with django_capture_on_commit_callbacks(execute=True):
        queue_expire_passes(now=timezone.now() + timedelta(minutes=11))

    assert listen.receive() == {"to": [fan.pk], "kind": "expired", "eventId": event.pk}
