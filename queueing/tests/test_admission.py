import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from events.tests.factories import EventFactory
from queueing.models import AdmissionPass, AdmissionTick, EventQueue, QueueEntry
from queueing.redis_queue import QueueKeys, parse_admission_log, queue_redis, run_admit, waiting_count
from queueing.selectors import (
    QueueState,
    admission_pass_for,
    admission_pass_is_valid,
    admission_tick_number,
    queue_status,
)
from queueing.services import (
    queue_admit_batch,
    queue_expire_passes,
    queue_join,
    queue_pause,
    queue_resume,
    queue_run_admission_tick,
)
from queueing.tests.helpers import in_thread


@pytest.fixture
def queued(event, make_fans):
    fans = make_fans(7)
    for fan in fans:
        queue_join(user=fan, event=event)
    return fans


def test_a_batch_admits_exactly_batch_size_fans_in_queue_order(event, queued):
    admitted = queue_admit_batch(event=event)

    assert admitted == [fan.pk for fan in queued[:3]]
    assert set(AdmissionPass.objects.values_list("user_id", flat=True)) == set(admitted)
    assert QueueEntry.objects.filter(state=QueueEntry.State.ADMITTED).count() == 3
    assert [queue_status(user=fan, event=event).position for fan in queued[3:]] == [1, 2, 3, 4]
    assert queue_status(user=queued[0], event=event).status == QueueState.ADMITTED
    assert int(queue_redis().get(QueueKeys(event.pk).head)) == 3
    assert EventQueue.objects.get(event=event).admitted_total == 3


def test_an_admission_pass_lasts_the_booking_window(event, queued):
    before = timezone.now()
    queue_admit_batch(event=event)

    admission = AdmissionPass.objects.get(user=queued[0])

    assert before + timedelta(minutes=10) <= admission.expires_at <= timezone.now() + timedelta(minutes=10)


def test_an_operator_may_choose_the_batch_size(event, queued):
    assert queue_admit_batch(event=event, size=5) == [fan.pk for fan in queued[:5]]


def test_the_same_tick_admits_only_one_batch(event, queued):
    tick = admission_tick_number(event=event)

    first = queue_admit_batch(event=event, tick=tick)
    second = queue_admit_batch(event=event, tick=tick)
    third = queue_admit_batch(event=event, tick=tick + 1)

    assert len(first) == 3
    assert second == []
    assert third == [fan.pk for fan in queued[3:6]]


@pytest.mark.django_db(transaction=True)
def test_two_admission_jobs_racing_for_one_tick_admit_one_batch(make_fans):
    event = EventFactory(admission_batch_size=50)
    for fan in make_fans(120):
        queue_join(user=fan, event=event)
    tick = admission_tick_number(event=event)
    start = threading.Barrier(4)

    @in_thread
    def admission_job():
        start.wait()
        return queue_admit_batch(event=event, tick=tick)

    threads_results: list[list[int]] = []
    threads = [threading.Thread(target=lambda: threads_results.append(admission_job())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(len(result) for result in threads_results) == [0, 0, 0, 50]
    assert AdmissionPass.objects.count() == 50
    assert QueueEntry.objects.filter(state=QueueEntry.State.ADMITTED).count() == 50


def test_a_batch_popped_by_a_process_that_died_before_committing_is_not_lost(event, queued):
    keys = QueueKeys(event.pk)
    # The admission job pops a batch in Redis, then dies before its database transaction.
    run_admit(keys, size=3, token="crashed", token_seconds=60)
    assert queue_redis().hlen(keys.pending) == 3
    assert not AdmissionPass.objects.exists()
    assert queue_redis().zcard(keys.admitted) == 0, "no pass is shown before PostgreSQL has it"

    recovered_and_next = queue_admit_batch(event=event, tick=2)

    assert recovered_and_next == [fan.pk for fan in queued[:6]]
    assert sorted(AdmissionPass.objects.values_list("user_id", flat=True)) == sorted(recovered_and_next)
    assert queue_redis().hlen(keys.pending) == 0
    assert all(admission_pass_is_valid(user=fan, event=event) for fan in queued[:6])
    assert queue_status(user=queued[6], event=event).position == 1
    # Running the recovery again changes nothing: no fan is admitted twice.
    assert queue_admit_batch(event=event, tick=2) == []
    assert AdmissionPass.objects.count() == 6


def test_a_half_admitted_fan_is_finished_by_their_own_read_not_shown_admitted_without_a_pass(event, queued):
    keys = QueueKeys(event.pk)
    run_admit(keys, size=3, token="crashed", token_seconds=60)

    status = queue_status(user=queued[1], event=event)

    assert status.status == QueueState.ADMITTED
    assert admission_pass_for(user=queued[1], event=event) is not None
    assert AdmissionPass.objects.count() == 3, "the whole popped batch is finished, in queue order"
    assert queue_redis().hlen(keys.pending) == 0


def test_a_half_admitted_fan_may_hold_seats_at_once(event, queued):
    run_admit(QueueKeys(event.pk), size=3, token="crashed", token_seconds=60)

    assert admission_pass_is_valid(user=queued[0], event=event)


def test_a_retried_pop_call_pops_nothing_more(event, queued):
    keys = QueueKeys(event.pk)
    first = run_admit(keys, size=3, token="same-call", token_seconds=60)
    again = run_admit(keys, size=3, token="same-call", token_seconds=60)

    assert first[0] == 1
    assert len(first[1]) == 6
    assert again == [0]
    assert waiting_count(keys) == 4


def test_a_tick_claimed_in_postgresql_admits_no_second_batch_after_redis_forgot_everything(event, queued):
    tick = admission_tick_number(event=event)
    first = queue_admit_batch(event=event, tick=tick)

    queue_redis().flushdb()  # an empty restart inside the interval: the Redis side remembers nothing
    second = queue_admit_batch(event=event, tick=tick)

    assert len(first) == 3
    assert second == []
    assert AdmissionPass.objects.count() == 3
    assert AdmissionTick.objects.get(event=event, tick=tick).admitted == 3


def test_the_admission_log_records_what_was_admitted_not_the_batch_size(event, make_fans):
    for fan in make_fans(2):
        queue_join(user=fan, event=event)
    tick = admission_tick_number(event=event)

    queue_admit_batch(event=event, tick=tick)  # batch size 3, two waiting
    queue_admit_batch(event=event, tick=tick + 1)  # nobody left

    log = parse_admission_log(queue_redis().lrange(QueueKeys(event.pk).log, 0, -1))
    assert [count for _, count in log] == [2]


def test_a_paused_queue_admits_nobody_until_resumed(event, queued):
    queue_pause(event=event)

    assert queue_admit_batch(event=event) == []
    assert queue_run_admission_tick() == {}
    assert queue_status(user=queued[0], event=event).position == 1

    queue_resume(event=event)
    assert len(queue_admit_batch(event=event)) == 3


def test_a_closed_sale_admits_nobody(event, queued):
    event.sale_closes_at = timezone.now() - timedelta(seconds=1)
    event.save(update_fields=["sale_closes_at"])

    assert queue_admit_batch(event=event) == []


def test_the_admission_tick_admits_each_running_sale_once_per_interval(event, queued, make_fans):
    other_event = EventFactory(admission_batch_size=2, admission_interval_seconds=30)
    for fan in make_fans(3):
        queue_join(user=fan, event=other_event)
    tick_start = datetime.fromtimestamp(time.time() // 30 * 30, tz=UTC)

    first = queue_run_admission_tick(now=tick_start + timedelta(seconds=1))
    again = queue_run_admission_tick(now=tick_start + timedelta(seconds=6))  # the next beat, same tick

    assert {event_id: len(ids) for event_id, ids in first.items()} == {event.pk: 3, other_event.pk: 2}
    assert {event_id: len(ids) for event_id, ids in again.items()} == {event.pk: 0, other_event.pk: 0}
    now = tick_start
    later = queue_run_admission_tick(now=now + timedelta(seconds=30))
    assert {event_id: len(ids) for event_id, ids in later.items()} == {event.pk: 3, other_event.pk: 1}


def test_an_expired_pass_ends_the_fans_turn(event, queued):
    queue_admit_batch(event=event)
    fan = queued[0]
    assert admission_pass_is_valid(user=fan, event=event)

    ended = queue_expire_passes(now=timezone.now() + timedelta(minutes=11))

    assert ended == 3
    assert not admission_pass_is_valid(user=fan, event=event)
    assert admission_pass_for(user=fan, event=event) is None
    assert QueueEntry.objects.get(user=fan).state == QueueEntry.State.EXPIRED
    assert queue_status(user=fan, event=event).status == QueueState.EXPIRED


def test_a_pass_is_no_longer_valid_once_its_time_is_up_even_before_the_sweep(event, queued):
    queue_admit_batch(event=event)
    AdmissionPass.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert not admission_pass_is_valid(user=queued[0], event=event)


def test_a_pass_is_valid_only_for_its_own_fan_and_event(event, queued):
    queue_admit_batch(event=event)
    other_event = EventFactory()

    assert admission_pass_is_valid(user=queued[0], event=event)
    assert not admission_pass_is_valid(user=queued[3], event=event)
    assert not admission_pass_is_valid(user=queued[0], event=other_event)
