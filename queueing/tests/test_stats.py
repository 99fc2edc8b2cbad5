import time

from events.tests.factories import EventFactory
from queueing.redis_queue import QueueKeys, queue_redis
from queueing.selectors import estimated_wait_seconds, measured_rate_per_second, queue_stats, queue_status
from queueing.services import queue_admit_batch, queue_join


def test_stats_count_waiting_admitted_now_and_in_total(event, make_fans):
    fans = make_fans(5)
    for fan in fans:
        queue_join(user=fan, event=event)
    queue_admit_batch(event=event)

    stats = queue_stats(event=event)

    assert (stats.queue_size, stats.admitted_active, stats.admitted_total) == (2, 3, 3)
    assert stats.head_sequence == 3
    assert stats.average_wait_seconds is not None
    assert stats.is_paused is False


def test_without_measurements_the_rate_is_the_configured_batch_per_interval(event):
    assert queue_stats(event=event).admission_rate_per_minute == 6.0  # 3 every 30 s


def test_estimated_wait_is_people_ahead_per_batch_times_interval(db):
    event = EventFactory(admission_batch_size=50, admission_interval_seconds=30)

    assert estimated_wait_seconds(users_ahead=0, event=event) == 30
    assert estimated_wait_seconds(users_ahead=49, event=event) == 30
    assert estimated_wait_seconds(users_ahead=120, event=event) == 90
    assert estimated_wait_seconds(users_ahead=5000, event=event) == 101 * 30


def test_a_slower_measured_outflow_makes_the_estimate_longer(db):
    # The original service admitted 1 per 30 s but promised 50: the estimate must follow reality.
    event = EventFactory(admission_batch_size=50, admission_interval_seconds=30)

    assert estimated_wait_seconds(users_ahead=120, event=event, measured_rate_per_second=1 / 30) == 90 * 50


def test_the_measured_rate_follows_the_admission_log():
    now = 10_000.0
    every_30s_50 = [(now - 30 * i, 50) for i in range(5)]

    assert measured_rate_per_second(log=every_30s_50, interval_seconds=30, now_epoch=now) == 50 / 30
    assert measured_rate_per_second(log=every_30s_50[:1], interval_seconds=30, now_epoch=now) is None
    stalled = measured_rate_per_second(log=every_30s_50, interval_seconds=30, now_epoch=now + 120)
    assert stalled < 50 / 30


def test_a_fans_estimated_wait_uses_the_measured_admissions(event, make_fans):
    fans = make_fans(10)
    for fan in fans:
        queue_join(user=fan, event=event)
    now = time.time()
    # Admissions ran at a third of the configured rate (1 instead of 3 every 30 s) for minutes.
    queue_redis().lpush(QueueKeys(event.pk).log, *[f"{now - 300 * i / 10 - 1}:1" for i in range(10)][::-1])

    waiting = queue_status(user=fans[-1], event=event)

    configured = estimated_wait_seconds(users_ahead=9, event=event)
    assert waiting.estimated_wait_seconds == 3 * configured
    assert queue_stats(event=event).admission_rate_per_minute == 2.0
