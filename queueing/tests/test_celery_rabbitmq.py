"""Admission by a real Celery worker and two real beats over RabbitMQ, the production broker option.

The other task tests run Celery eagerly, in-process. Here every task is a message: two beat processes
(as when a deploy briefly runs two, or two nodes each start one) publish ``admission_tick`` every second
to RabbitMQ, a worker process consumes them and admits on the test database and Redis. Each tick of
the event must admit one batch, once: the tick is claimed in PostgreSQL (``AdmissionTick``), so the
duplicate messages find it taken.

RabbitMQ: ``RABBITMQ_URL`` (default ``amqp://guest:guest@127.0.0.1:5672//``). Without one the test is
skipped, except in CI, where RabbitMQ is provided and its absence is a failure.
"""

from __future__ import annotations

import os
import re
import secrets
import time

import pytest
from kombu import Connection

from core.testing import child_process_environment, require_service
from events.tests.factories import EventFactory
from queueing.models import AdmissionPass, AdmissionTick, QueueEntry
from queueing.services import queue_join
from scale.processes import Topology

pytestmark = pytest.mark.django_db(transaction=True)

RABBITMQ_URL = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
BATCH = 2
INTERVAL_SECONDS = 2
TICKS_TO_SEE = 3
DEADLINE_SECONDS = 60


def _rabbitmq_reachable() -> bool:
    try:
        with Connection(RABBITMQ_URL, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception:  # noqa: BLE001 - any failure means "no broker here"
        return False
    return True


@pytest.fixture
def rabbitmq_queue():
    """A queue of this test's own on the shared virtual host, deleted afterwards."""
    require_service(_rabbitmq_reachable(), f"no RabbitMQ at {RABBITMQ_URL} (Debian package rabbitmq-server)")
    name = f"turnstile-test-{secrets.token_hex(4)}"
    yield name
    with Connection(RABBITMQ_URL, connect_timeout=2) as connection:
        connection.default_channel.queue_delete(name)


def test_two_beats_and_a_worker_over_rabbitmq_admit_each_tick_once(make_fans, rabbitmq_queue):
    event = EventFactory(admission_batch_size=BATCH, admission_interval_seconds=INTERVAL_SECONDS)
    fans = make_fans(30)
    for fan in fans:
        queue_join(user=fan, event=event)
    environment = child_process_environment(
        # Not the test settings: those run tasks eagerly, and a beat must publish them.
        DJANGO_SETTINGS_MODULE="ticketing.settings",
        CELERY_BROKER_URL=RABBITMQ_URL,
        CELERY_QUEUE=rabbitmq_queue,
        QUEUE_TICK_SECONDS="1",
        LOCAL_CACHE_SECONDS="0",
    )

    with Topology(environment) as topology:
        worker = topology.celery_worker("worker")
        beats = [topology.celery_beat("beat-a"), topology.celery_beat("beat-b")]
        deadline = time.monotonic() + DEADLINE_SECONDS
        while AdmissionTick.objects.filter(event=event, admitted__isnull=False).count() < TICKS_TO_SEE:
            for process in (worker, *beats):
                assert process.process.poll() is None, f"{process.name} exited:\n{process.log_text()[-3000:]}"
            assert time.monotonic() < deadline, f"too few admission ticks:\n{worker.log_text()[-3000:]}"
            time.sleep(0.5)
        for beat in beats:
            beat.stop()
        time.sleep(1.5)  # the last messages already sent are consumed (they find their tick taken)
        worker_log = worker.log_text()

    assert "Connected to amqp://guest:**@127.0.0.1:5672//" in worker_log
    ticks = list(AdmissionTick.objects.filter(event=event).order_by("tick"))
    received = len(re.findall(r"Task queueing\.tasks\.admission_tick\[[-0-9a-f]+\] received", worker_log))
    # Both beats published: more tick messages crossed the broker than there were ticks to admit.
    assert received > len(ticks), f"{received} admission_tick messages for {len(ticks)} ticks"
    assert all(tick.admitted == BATCH for tick in ticks if tick.admitted is not None)
    admitted = list(
        QueueEntry.objects.filter(event=event, state=QueueEntry.State.ADMITTED).order_by("sequence")
    )
    committed = sum(tick.admitted or 0 for tick in ticks)
    assert len(admitted) == committed == BATCH * len([t for t in ticks if t.admitted is not None])
    # Exactly once and in order: the first fans in line, one pass each.
    assert [entry.sequence for entry in admitted] == list(range(1, len(admitted) + 1))
    assert AdmissionPass.objects.filter(event=event).count() == len(admitted)
