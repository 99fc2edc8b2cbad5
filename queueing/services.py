"""Writes of the waiting room: join, leave, the opening lottery, admission, expiry, rebuild, pause.

Public interface (all keyword-only; call them outside a transaction — they commit their own work):

- ``queue_join(user=, event=) -> QueueStatus`` — idempotent; ``already_in_queue`` tells a new join
  (``False``) from a repeat (``True``). Raises ``SaleClosed`` (409) when the event is not on sale or
  upcoming. A fan holding a valid pass gets ``status == "admitted"``. Durable before it returns.
  ``aqueue_join`` is the same for asyncio callers, with the PostgreSQL row group-committed.
- ``queue_leave(user=, event=) -> None`` — raises ``NotInQueue`` (404) when the fan is not queued.
  Leaving after admission gives the pass up.
- ``queue_open_prequeue(event=) -> int`` — the opening lottery, exactly once; returns how many
  pre-queued fans got a place (0 when it already ran or is not due).
- ``queue_admit_batch(event=, size=None, tick=None) -> list[int]`` — user ids admitted, in queue order.
  With ``tick`` (the admission job) at most one batch per (event, tick); without it (operators) one
  more batch. Paused or not-on-sale events admit nobody.
- ``queue_run_admission_tick(now=None) -> dict[int, list[int]]`` — the beat job: every running sale.
- ``queue_expire_passes(event=None, now=None) -> int`` — ends expired passes (and turns).
- ``queue_rebuild_from_database(event=) -> int`` / ``queue_ensure_ready(event=)`` — restore Redis.
- ``queue_ensure_current(event=) -> bool`` — rebuild when Redis is missing or behind PostgreSQL.
- ``queue_finish_pending(event=) -> list[int]`` — commit an admission a crash left half done.
- ``queue_repair(event=) -> QueueRepair`` — all of the above plus dropping unconfirmed places whose
  row never came: the periodic repair job (``QUEUE_REPAIR_SECONDS``).
- ``queue_pause(event=)`` / ``queue_resume(event=)``.

PostgreSQL is the truth; Redis is a cache of the order, checked against it cheaply:
``EventQueue.generation`` is bumped by every change other than a join and Redis keeps the value it
applied (``meta.gen``); joins are covered by the sequence counter (Redis ``seq`` never below the
highest sequence in PostgreSQL). Either one behind means an older snapshot came back: rebuild.

Order of writes: a join takes its place in Redis (one Lua script, marked unconfirmed), then records
it in PostgreSQL, then confirms it; a place whose row never came is dropped by the repair job. An
admission claims its tick in PostgreSQL, pops in Redis into a pending hash (one Lua script), commits
the passes to PostgreSQL, then moves the fans to ``admitted`` in Redis. Realtime notifications go out
after commit. Database lock order: event queue row, then queue entries by primary key, then passes.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Q, Sum
from django.utils import timezone

from core.exceptions import Busy
from events.models import Event
from lottery.services import lottery_draw
from queueing import notify
from queueing.batching import join_recorder
from queueing.exceptions import NotInQueue, SaleClosed
from queueing.models import AdmissionPass, AdmissionTick, EventQueue, QueueEntry
from queueing.redis_queue import (
    ADMISSION_LOG_LENGTH,
    ADMIT_ALREADY_POPPED,
    ADMIT_NOT_READY,
    ADMIT_POPPED,
    BUCKET,
    JOIN_ADMITTED,
    JOIN_NOT_OPENED,
    JOIN_NOT_READY,
    JOIN_PENDING,
    READY,
    QueueKeys,
    arun_join,
    arun_undo_join,
    as_int,
    as_text,
    drop_line_version,
    fenwick_bytes,
    line_version,
    parse_admission_log,
    parse_unconfirmed,
    pipe_line_load,
    pipe_line_remove,
    pipe_line_set,
    queue_rebuild_finish,
    queue_redis,
    queue_set_generation,
    run_admit,
    run_join,
    run_line_remove,
    run_line_set,
    run_set_generation,
    run_undo_join,
)
from queueing.selectors import (
    QueueState,
    QueueStatus,
    admission_tick_number,
    estimated_wait_seconds,
    events_with_running_sale,
    measured_rate_per_second,
    queue_status,
)
from queueing.signals import fan_left_queue

logger = logging.getLogger(__name__)

ACTIVE_STATES = [state.value for state in QueueEntry.ACTIVE_STATES]
_CHUNK = 5000
# Rebuild writes: chunks sent per round trip, each round trip a few hundred milliseconds of Redis.
_CHUNKS_PER_ROUND_TRIP = 20
# Staging keys (and versions of the line) of a rebuild that died mid-way go this long after its last write.
_STAGING_SECONDS = 600
# Rows of the rebuild's grouped read (a bucket of up to 128 fans each) written per round trip.
_LINE_GROUPS_PER_ROUND_TRIP = 500
# How long before a rebuild began a join may have started and still be committing during it, and
# how far below the top of the line read its place may be (others joining meanwhile).
_LATE_JOIN_SECONDS = timedelta(seconds=30)
_LATE_JOIN_SEQUENCES = 100_000
_REBUILD_LOCK_SECONDS = 120


def _event_queue_state(event: Event) -> EventQueue:
    state, _ = EventQueue.objects.get_or_create(event=event)
    return state


def _bump_generation(event: Event) -> int:
    """Lock the event's queue row (first in the lock order) and count one more change Redis must mirror."""
    _event_queue_state(event)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {EventQueue._meta.db_table} SET generation = generation + 1 "  # noqa: S608
            "WHERE event_id = %s RETURNING generation",
            [event.pk],
        )
        (generation,) = cursor.fetchone()
    return generation


def _place_recorded(exc: BaseException, *, event_id: int, user_id: int, sequence: int) -> bool | None:
    """After a join's database write failed: did its row land? ``None`` when PostgreSQL cannot say
    (still down) — the place then stays unconfirmed and the repair job decides."""
    if not _write_may_have_committed(exc):
        return False
    try:
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
        return QueueEntry.objects.filter(event_id=event_id, user_id=user_id, sequence=sequence).exists()
    except Exception:  # noqa: BLE001 - unknown is an answer here
        return None


def _write_may_have_committed(exc: BaseException) -> bool:
    """A lost connection leaves a write's outcome unknown; any other database error means no row."""
    return isinstance(
        exc, OperationalError | InterfaceError | psycopg.OperationalError | psycopg.InterfaceError
    )


def _insert_entry(*, event_id: int, user_id: int, sequence: int | None, state: str) -> bool:
    """Record a place unless the fan already has an active entry. True when a row was inserted."""
    table = QueueEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (event_id, user_id, sequence, state, joined_at) "  # noqa: S608 (table name is ours)
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
            [event_id, user_id, sequence, state, timezone.now()],
        )
        return cursor.fetchone() is not None


# --- Join and leave -------------------------------------------------------------------------------


def queue_join(*, user, event: Event) -> QueueStatus:
    phase = event.sale_phase()
    if phase in (Event.SalePhase.NOT_PUBLISHED, Event.SalePhase.CLOSED):
        raise SaleClosed()
    if phase == Event.SalePhase.UPCOMING:
        status = _join_prequeue(user=user, event=event)
        if status is not None:
            return status
    return _join_fifo(user=user, event=event)


def _join_fifo(*, user, event: Event, attempts: int = 3) -> QueueStatus:
    keys = QueueKeys(event.pk)
    for _attempt in range(attempts):
        result = run_join(keys, user_id=user.pk, now_epoch=time.time())
        code = result[0]
        if code == JOIN_NOT_READY:
            queue_ensure_ready(event=event)
            continue
        if code == JOIN_NOT_OPENED:
            queue_open_prequeue(event=event)
            continue
        if code == JOIN_PENDING:
            queue_finish_pending(event=event)
            continue
        if code == JOIN_ADMITTED:
            return _admitted_join_status(event=event, result=result)
        sequence = int(result[1])
        try:
            inserted = _insert_entry(
                event_id=event.pk, user_id=user.pk, sequence=sequence, state=QueueEntry.State.WAITING
            )
        except Exception as exc:
            # Not durable, so not a place — unless the write did commit before the connection broke.
            if not result[4]:
                recorded = _place_recorded(exc, event_id=event.pk, user_id=user.pk, sequence=sequence)
                if recorded:
                    queue_redis().hdel(keys.unconfirmed, str(user.pk))
                    return _waiting_join_status(event=event, result=result)
                if recorded is False:
                    run_undo_join(keys, user_id=user.pk, sequence=sequence)
            raise
        if inserted:
            queue_redis().hdel(keys.unconfirmed, str(user.pk))
        elif not result[4]:
            return _reconcile_join(user=user, event=event, sequence=sequence, attempts=attempts - 1)
        return _waiting_join_status(event=event, result=result)
    raise Busy()


def _admitted_join_status(*, event: Event, result: list) -> QueueStatus:
    """The join script's answer for a fan holding an unexpired pass."""
    return QueueStatus(
        event_id=event.pk,
        status=QueueState.ADMITTED,
        queue_size=int(result[2]),
        estimated_wait_seconds=0,
        admission_expires_at=datetime.fromtimestamp(float(result[1]), tz=UTC),
        already_in_queue=True,
    )


def _waiting_join_status(*, event: Event, result: list) -> QueueStatus:
    """The join script's answer for a queued fan, once the place is recorded in PostgreSQL."""
    _, raw_sequence, rank, size, existed, raw_log = result
    measured = measured_rate_per_second(
        log=parse_admission_log(raw_log),
        interval_seconds=event.admission_interval_seconds,
        now_epoch=time.time(),
    )
    return QueueStatus(
        event_id=event.pk,
        status=QueueState.WAITING,
        sequence=int(raw_sequence),
        position=rank + 1,
        users_ahead=rank,
        queue_size=size,
        estimated_wait_seconds=estimated_wait_seconds(
            users_ahead=rank, event=event, measured_rate_per_second=measured
        ),
        already_in_queue=bool(existed),
    )


async def aqueue_join(*, user, event: Event) -> QueueStatus:
    """``queue_join`` for asyncio callers (the API's fast path): the same rules and answers.

    The common case — the sale is on and the queue's Redis structures are in place — is one Redis
    round trip and one row in a group commit (``queueing.batching``): many concurrent joins share one
    INSERT and one COMMIT, and each caller gets its answer only after that commit (durable).
    Everything else (pre-queue, rebuild, the opening lottery, reconciling with PostgreSQL) runs the
    sync service in a thread.
    """
    phase = event.sale_phase()
    if phase in (Event.SalePhase.NOT_PUBLISHED, Event.SalePhase.CLOSED):
        raise SaleClosed()
    if phase == Event.SalePhase.UPCOMING:
        return await database_sync_to_async(queue_join)(user=user, event=event)
    result = await arun_join(QueueKeys(event.pk), user_id=user.pk, now_epoch=time.time())
    code = result[0]
    if code in (
        JOIN_NOT_READY,
        JOIN_NOT_OPENED,
        JOIN_PENDING,
    ):  # nothing written: the sync service does it all
        return await database_sync_to_async(queue_join)(user=user, event=event)
    if code == JOIN_ADMITTED:
        return _admitted_join_status(event=event, result=result)
    sequence = int(result[1])
    try:
        # The recorder confirms the places it inserted (one Redis round trip per batch).
        inserted = await join_recorder().record(event_id=event.pk, user_id=user.pk, sequence=sequence)
    except Exception as exc:
        if not result[4]:  # as in _join_fifo
            recorded = await database_sync_to_async(_place_recorded)(
                exc, event_id=event.pk, user_id=user.pk, sequence=sequence
            )
            if recorded:
                await database_sync_to_async(queue_redis().hdel)(
                    QueueKeys(event.pk).unconfirmed, str(user.pk)
                )
                return _waiting_join_status(event=event, result=result)
            if recorded is False:
                await arun_undo_join(QueueKeys(event.pk), user_id=user.pk, sequence=sequence)
        raise
    if not inserted and not result[4]:
        return await database_sync_to_async(_reconcile_join)(user=user, event=event, sequence=sequence)
    return _waiting_join_status(event=event, result=result)


def _reconcile_join(*, user, event: Event, sequence: int, attempts: int = 2) -> QueueStatus:
    """Redis gave a new place but PostgreSQL did not take it: PostgreSQL wins.

    Either the fan already holds an active entry, or the sequence belongs to another row — Redis came
    back from an older snapshot and hands out sequences again: rebuild it and join again.
    """
    keys = QueueKeys(event.pk)
    if queue_ensure_current(event=event) and attempts > 0:
        return _join_fifo(user=user, event=event, attempts=attempts)
    client = queue_redis()
    now = timezone.now()
    with transaction.atomic():
        entry = (
            QueueEntry.objects.select_for_update()
            .filter(event=event, user=user, state__in=ACTIVE_STATES)
            .first()
        )
        already = True
        sequence_taken = False
        if entry is None:  # no entry of this fan took it: is the sequence another fan's?
            sequence_taken = not _insert_entry(
                event_id=event.pk, user_id=user.pk, sequence=sequence, state=QueueEntry.State.WAITING
            )
            already = False
        elif entry.state == QueueEntry.State.WAITING:
            if entry.sequence == sequence:  # a concurrent repeat of this join recorded our place first
                already = False
            else:
                run_line_set(keys, {user.pk: entry.sequence or sequence})
        elif entry.state == QueueEntry.State.ADMITTED:
            admission = AdmissionPass.objects.filter(queue_entry=entry, ended_at__isnull=True).first()
            if admission is not None and admission.expires_at > now:
                run_line_remove(keys, user.pk)
                client.zadd(keys.admitted, {str(user.pk): admission.expires_at.timestamp()})
            else:  # the turn is over: this join goes to the back with the new place
                _end_entry(entry=entry, state=QueueEntry.State.EXPIRED, now=now)
                _insert_entry(
                    event_id=event.pk, user_id=user.pk, sequence=sequence, state=QueueEntry.State.WAITING
                )
                already = False
        else:  # a pre-queue entry the lottery did not see: it joins with the new place
            entry.sequence = sequence
            entry.state = QueueEntry.State.WAITING
            entry.save(update_fields=["sequence", "state"])
            client.srem(keys.pre, str(user.pk))
            already = False
    if sequence_taken:  # Redis hands out sequences PostgreSQL already gave: it is behind
        run_undo_join(keys, user_id=user.pk, sequence=sequence)
        _rebuild_locked(event=event, needed=lambda: True)
        if attempts > 0:
            return _join_fifo(user=user, event=event, attempts=attempts)
        raise Busy()
    client.hdel(keys.unconfirmed, str(user.pk))
    status = queue_status(user=user, event=event)
    if status is None:  # only if the fan left concurrently
        raise NotInQueue()
    return status.with_already_in_queue(already)


def _join_prequeue(*, user, event: Event) -> QueueStatus | None:
    """Join the pre-queue, or return None when the lottery already ran (join the FIFO queue then)."""
    state = _event_queue_state(event)
    if state.opened_at is not None:
        return None
    queue_ensure_ready(event=event)
    with transaction.atomic():
        # A share lock: many pre-queue joins run side by side, and the lottery (FOR UPDATE) waits
        # for those in flight, so no pre-queue join can commit after the lottery read the pre-queue.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT opened_at FROM {EventQueue._meta.db_table} WHERE id = %s FOR SHARE",  # noqa: S608
                [state.pk],
            )
            (opened_at,) = cursor.fetchone()
        if opened_at is not None:
            return None
        inserted = _insert_entry(
            event_id=event.pk, user_id=user.pk, sequence=None, state=QueueEntry.State.PREQUEUE
        )
        if inserted:
            queue_redis().sadd(QueueKeys(event.pk).pre, str(user.pk))
    status = queue_status(user=user, event=event)
    if status is None:
        raise NotInQueue()
    return status.with_already_in_queue(not inserted)


def _end_entry(*, entry: QueueEntry, state: str, now: datetime) -> None:
    entry.state = state
    if state == QueueEntry.State.LEFT:
        entry.left_at = now
    else:
        entry.expired_at = now
    entry.save(update_fields=["state", "left_at", "expired_at"])
    AdmissionPass.objects.filter(queue_entry=entry, ended_at__isnull=True).update(ended_at=now)


def queue_leave(*, user, event: Event) -> None:
    now = timezone.now()
    with transaction.atomic():
        generation = _bump_generation(event)
        entry = (
            QueueEntry.objects.select_for_update()
            .filter(event=event, user=user, state__in=ACTIVE_STATES)
            .first()
        )
        if entry is None:
            raise NotInQueue()
        _end_entry(entry=entry, state=QueueEntry.State.LEFT, now=now)
    keys = QueueKeys(event.pk)
    pipe = queue_redis().pipeline(transaction=True)
    pipe_line_remove(pipe, keys, user.pk)
    pipe.srem(keys.pre, str(user.pk))
    pipe.zrem(keys.admitted, str(user.pk))
    pipe.hdel(keys.pending, str(user.pk))
    pipe.hdel(keys.unconfirmed, str(user.pk))
    queue_set_generation(pipe, keys, generation=generation)
    pipe.execute()
    notify.notify_fan_left(event=event, sequence=entry.sequence)
    fan_left_queue.send(sender=QueueEntry, user=user, event=event)


# --- Opening lottery ------------------------------------------------------------------------------


def queue_open_prequeue(*, event: Event) -> int:
    """At opening, give the whole pre-queue a random order (sequences before any later arrival)."""
    state = _event_queue_state(event)
    now = timezone.now()
    if state.opened_at is None and now < event.sale_opens_at:
        return 0
    keys = QueueKeys(event.pk)
    client = queue_redis()
    placed = 0
    generation = None
    with transaction.atomic():
        state = EventQueue.objects.select_for_update().get(pk=state.pk)
        if state.opened_at is None:
            entries = list(
                QueueEntry.objects.filter(event=event, state=QueueEntry.State.PREQUEUE).values_list(
                    "pk", "user_id"
                )
            )
            # A shuffle anyone can recompute from the seed committed before the sale (lottery app).
            entries = lottery_draw(event=event, entries=entries, now=now)
            placed = len(entries)
            if entries:
                first = client.incrby(keys.seq, placed) - placed + 1
                sequences = list(range(first, first + placed))
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"UPDATE {QueueEntry._meta.db_table} AS e SET sequence = v.seq, state = %s "  # noqa: S608
                        "FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::bigint[]) AS seq) AS v "
                        "WHERE e.id = v.id",
                        [QueueEntry.State.WAITING, [pk for pk, _ in entries], sequences],
                    )
                # A chunk per script, not one MULTI: a pre-queue of millions would hold the shard for
                # seconds. A fan in both the line and the pre-queue reads as waiting; a lottery that dies
                # half way (its transaction rolled back) is run again and moves them to its new places.
                pipe = client.pipeline(transaction=False)
                for start in range(0, placed, _CHUNK):
                    chunk = zip(
                        entries[start : start + _CHUNK], sequences[start : start + _CHUNK], strict=True
                    )
                    pipe_line_set(pipe, keys, {user_id: seq for (_, user_id), seq in chunk})
                    if len(pipe) >= _CHUNKS_PER_ROUND_TRIP:
                        pipe.execute()
                pipe.delete(keys.pre)
                pipe.execute()
            state.opened_at = now
            state.save(update_fields=["opened_at"])
            generation = _bump_generation(event)
        # Later joins see the queue open only from here on, so they always come after the lottery.
        client.hset(keys.meta, "opened", "1")
    if generation is not None:
        run_set_generation(keys, generation=generation)
    if placed:
        logger.info("Queue for event %s opened: %s pre-queued fans placed at random.", event.pk, placed)
    return placed


# --- Admission ------------------------------------------------------------------------------------


def queue_admit_batch(*, event: Event, size: int | None = None, tick: int | None = None) -> list[int]:
    now = timezone.now()
    state = _event_queue_state(event)
    queue_ensure_current(event=event)
    # A batch popped by a process that died before its commit is finished first, paused or not.
    admitted = queue_finish_pending(event=event, now=now)
    if state.is_paused or event.sale_phase(now) != Event.SalePhase.ON_SALE:
        return admitted
    if state.opened_at is None:
        queue_open_prequeue(event=event)
    if tick is not None and not _claim_tick(event=event, tick=tick):
        return admitted  # this tick's batch was taken already (in PostgreSQL: survives Redis restarts)
    keys = QueueKeys(event.pk)
    expires_at = now + event.booking_window
    token = secrets.token_hex(8)  # the same for redis-py's retry of one call: it pops once
    token_seconds = max(2 * event.admission_interval_seconds, 60)
    for _attempt in range(2):
        result = run_admit(
            keys, size=size or event.admission_batch_size, token=token, token_seconds=token_seconds
        )
        if result[0] != ADMIT_NOT_READY:
            break
        queue_ensure_ready(event=event)
    if result[0] == ADMIT_ALREADY_POPPED:  # a retried call: what it popped waits in `pending`
        batch = queue_finish_pending(event=event, now=now)
    elif result[0] == ADMIT_POPPED:
        raw = result[1]
        popped = [(int(raw[i]), int(float(raw[i + 1]))) for i in range(0, len(raw), 2)]
        batch = (
            _record_admissions(event=event, popped=popped, now=now, expires_at=expires_at) if popped else []
        )
    else:
        batch = []
    if tick is not None:
        AdmissionTick.objects.filter(event=event, tick=tick).update(admitted=len(batch))
    return admitted + batch


def _claim_tick(*, event: Event, tick: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {AdmissionTick._meta.db_table} (event_id, tick, claimed_at) "  # noqa: S608
            "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
            [event.pk, tick, timezone.now()],
        )
        return cursor.fetchone() is not None


def queue_finish_pending(*, event: Event, now: datetime | None = None) -> list[int]:
    """Commit the fans an admission popped but did not commit (it crashed, or is committing now:
    the queue row lock makes the second one a no-op). Returns the user ids this call admitted."""
    raw = queue_redis().hgetall(QueueKeys(event.pk).pending)
    if not raw:
        return []
    now = now or timezone.now()
    popped = sorted(((int(uid), int(float(seq))) for uid, seq in raw.items()), key=lambda item: item[1])
    return _record_admissions(event=event, popped=popped, now=now, expires_at=now + event.booking_window)


def _record_admissions(
    *, event: Event, popped: list[tuple[int, int]], now: datetime, expires_at: datetime
) -> list[int]:
    """Commit popped fans as admitted with a pass, then mirror PostgreSQL in Redis.

    Idempotent: fans no longer waiting are skipped; whatever PostgreSQL says of every popped fan
    afterwards (a pass, or none) is what Redis shows.
    """
    user_ids = [user_id for user_id, _ in popped]
    with transaction.atomic():
        generation = _bump_generation(event)
        entries = list(
            QueueEntry.objects.select_for_update()
            .filter(event=event, state=QueueEntry.State.WAITING, user_id__in=user_ids)
            .order_by("pk")
        )
        entries.sort(key=lambda entry: entry.sequence or 0)
        admitted = [entry.user_id for entry in entries]
        if entries:
            QueueEntry.objects.filter(pk__in=[entry.pk for entry in entries]).update(
                state=QueueEntry.State.ADMITTED, admitted_at=now
            )
            AdmissionPass.objects.bulk_create(
                AdmissionPass(
                    event=event,
                    user_id=entry.user_id,
                    queue_entry=entry,
                    issued_at=now,
                    expires_at=expires_at,
                )
                for entry in entries
            )
            EventQueue.objects.filter(event=event).update(
                admitted_total=F("admitted_total") + len(entries), last_admission_at=now
            )
        passes = dict(
            AdmissionPass.objects.filter(
                event=event, user_id__in=user_ids, ended_at__isnull=True, expires_at__gt=now
            ).values_list("user_id", "expires_at")
        )
    keys = QueueKeys(event.pk)
    pipe = queue_redis().pipeline(transaction=True)
    pipe.hdel(keys.pending, *[str(user_id) for user_id in user_ids])
    if passes:
        pipe.zadd(keys.admitted, {str(user_id): expires.timestamp() for user_id, expires in passes.items()})
    without_pass = [str(user_id) for user_id in user_ids if user_id not in passes]
    if without_pass:
        pipe.zrem(keys.admitted, *without_pass)
    if entries:
        pipe.hincrby(keys.stats, "admitted_total", len(entries))
        pipe.hincrbyfloat(
            keys.stats, "wait_sum", sum((now - entry.joined_at).total_seconds() for entry in entries)
        )
        pipe.hincrby(keys.stats, "wait_count", len(entries))
    # What was admitted, not what was asked for: the measured rate behind wait estimates.
    pipe.lpush(keys.log, f"{now.timestamp()}:{len(entries)}")
    pipe.ltrim(keys.log, 0, ADMISSION_LOG_LENGTH - 1)
    queue_set_generation(pipe, keys, generation=generation)
    pipe.execute()
    if entries:
        # Told only once the passes are in Redis too: a fan sent to the seat map before that would be
        # refused there (the pass check asks Redis first).
        transaction.on_commit(
            lambda: notify.notify_admitted(event=event, user_ids=admitted, expires_at=expires_at),
            robust=True,
        )
        transaction.on_commit(lambda: notify.notify_queue_status(event=event), robust=True)
    return admitted


def queue_run_admission_tick(*, now: datetime | None = None) -> dict[int, list[int]]:
    """Admit one batch for every running sale whose current tick has not admitted yet."""
    now = now or timezone.now()
    admitted: dict[int, list[int]] = {}
    for event in events_with_running_sale(now=now):
        try:
            admitted[event.pk] = queue_admit_batch(
                event=event, tick=admission_tick_number(event=event, now=now)
            )
        except Exception:  # one broken event must not stop admission for the others
            logger.exception("Admission failed for event %s.", event.pk)
    return admitted


# --- Expiry ---------------------------------------------------------------------------------------


def queue_expire_passes(*, event: Event | None = None, now: datetime | None = None) -> int:
    """End passes whose time is up: the fans' turns are over. Returns how many ended."""
    now = now or timezone.now()
    with transaction.atomic():
        entries = (
            QueueEntry.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                state=QueueEntry.State.ADMITTED,
                admission_pass__ended_at__isnull=True,
                admission_pass__expires_at__lte=now,
            )
            .order_by("pk")
        )
        if event is not None:
            entries = entries.filter(event=event)
        rows = list(entries.values_list("pk", "event_id", "user_id"))
        if not rows:
            return 0
        entry_ids = [pk for pk, _, _ in rows]
        QueueEntry.objects.filter(pk__in=entry_ids).update(state=QueueEntry.State.EXPIRED, expired_at=now)
        AdmissionPass.objects.filter(queue_entry_id__in=entry_ids, ended_at__isnull=True).update(ended_at=now)
        by_event: dict[int, list[int]] = defaultdict(list)
        for _, event_id, user_id in rows:
            by_event[event_id].append(user_id)
        transaction.on_commit(
            lambda: notify.notify_passes_expired(user_ids_by_event=dict(by_event)), robust=True
        )
    pipe = queue_redis().pipeline(transaction=False)
    for event_id, user_ids in by_event.items():
        pipe.zrem(QueueKeys(event_id).admitted, *[str(user_id) for user_id in user_ids])
    pipe.execute()
    return len(rows)


# --- Pause ----------------------------------------------------------------------------------------


def _set_paused(*, event: Event, paused: bool) -> None:
    with transaction.atomic():
        generation = _bump_generation(event)
        EventQueue.objects.filter(event=event).update(is_paused=paused)
    keys = QueueKeys(event.pk)
    pipe = queue_redis().pipeline(transaction=True)
    pipe.hset(keys.meta, "paused", "1" if paused else "0")
    queue_set_generation(pipe, keys, generation=generation)
    pipe.execute()
    transaction.on_commit(lambda: notify.notify_queue_status(event=event), robust=True)


def queue_pause(*, event: Event) -> None:
    _set_paused(event=event, paused=True)


def queue_resume(*, event: Event) -> None:
    _set_paused(event=event, paused=False)


# --- Rebuild from PostgreSQL and repair --------------------------------------------------------


def queue_ensure_ready(*, event: Event) -> None:
    """Rebuild the event's Redis structures if they are missing (first use, Redis restart, flush)."""
    keys = QueueKeys(event.pk)
    if queue_redis().hget(keys.meta, READY) is None:
        _rebuild_locked(event=event, needed=lambda: queue_redis().hget(keys.meta, READY) is None)


def _redis_is_behind(event: Event) -> bool:
    """One small query on each side: Redis missing, or older than PostgreSQL (generation or sequence)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT generation FROM {EventQueue._meta.db_table} WHERE event_id = %s), "  # noqa: S608
            f"(SELECT max(sequence) FROM {QueueEntry._meta.db_table} WHERE event_id = %s)",
            [event.pk, event.pk],
        )
        generation, max_sequence = cursor.fetchone()
    keys = QueueKeys(event.pk)
    pipe = queue_redis().pipeline(transaction=False)
    pipe.hmget(keys.meta, READY, "gen")
    pipe.get(keys.seq)
    (ready, redis_generation), redis_sequence = pipe.execute()
    if ready is None:
        return True
    behind = as_int(redis_generation, -1) < (generation or 0) or as_int(redis_sequence) < (max_sequence or 0)
    if behind:
        logger.warning(
            "Redis is behind PostgreSQL for event %s (generation %s < %s or sequence %s < %s): rebuilding.",
            event.pk,
            as_int(redis_generation, -1),
            generation or 0,
            as_int(redis_sequence),
            max_sequence or 0,
        )
    return behind


def queue_ensure_current(*, event: Event) -> bool:
    """Rebuild the event's Redis structures when they are missing or behind PostgreSQL (say an older
    snapshot or an AOF that lost its last second came back). True when it rebuilt."""
    if not _redis_is_behind(event):
        return False
    _rebuild_locked(event=event, needed=lambda: _redis_is_behind(event))
    return True


@dataclass(frozen=True)
class QueueRepair:
    rebuilt: bool
    admissions_finished: int
    places_dropped: int


def queue_repair(*, event: Event, grace_seconds: float | None = None) -> QueueRepair:
    """The periodic repair: Redis current, half-done admissions finished, unconfirmed places whose
    PostgreSQL row never came dropped (after ``grace_seconds``, so writes in flight are left alone)."""
    rebuilt = queue_ensure_current(event=event)
    finished = queue_finish_pending(event=event)
    grace = settings.QUEUE_REPAIR_GRACE_SECONDS if grace_seconds is None else grace_seconds
    dropped = _drop_unconfirmed_places(event=event, older_than=time.time() - grace)
    return QueueRepair(rebuilt=rebuilt, admissions_finished=len(finished), places_dropped=dropped)


def queue_repair_all() -> dict[int, dict[str, int]]:
    """``queue_repair`` for every live queue; what was fixed, per event (quiet events left out)."""
    from queueing.selectors import events_with_live_queue

    fixed: dict[int, dict[str, int]] = {}
    # Old tick claims only matter while their tick could still run: a day is plenty.
    AdmissionTick.objects.filter(claimed_at__lt=timezone.now() - timedelta(days=1)).delete()
    for event in events_with_live_queue():
        try:
            repair = queue_repair(event=event)
        except Exception:  # one broken event must not stop the repair of the others
            logger.exception("Queue repair failed for event %s.", event.pk)
            continue
        if repair.rebuilt or repair.admissions_finished or repair.places_dropped:
            fixed[event.pk] = {
                "rebuilt": int(repair.rebuilt),
                "admissionsFinished": repair.admissions_finished,
                "placesDropped": repair.places_dropped,
            }
    return fixed


def _drop_unconfirmed_places(*, event: Event, older_than: float) -> int:
    keys = QueueKeys(event.pk)
    client = queue_redis()
    due = {
        int(uid): sequence
        for uid, value in client.hgetall(keys.unconfirmed).items()
        for sequence, epoch in [parse_unconfirmed(value)]
        if epoch <= older_than
    }
    if not due:
        return 0
    recorded = set(
        QueueEntry.objects.filter(
            event=event, user_id__in=list(due), sequence__in=list(due.values())
        ).values_list("user_id", "sequence")
    )
    dropped = 0
    for user_id, sequence in due.items():
        if (user_id, sequence) in recorded:
            client.hdel(keys.unconfirmed, str(user_id))
        else:  # the join's database write never happened: the place was never real
            run_undo_join(keys, user_id=user_id, sequence=sequence)
            dropped += 1
    if dropped:
        logger.warning(
            "Dropped %s queue places of event %s that PostgreSQL never recorded.", dropped, event.pk
        )
    return dropped


def queue_rebuild_from_database(*, event: Event) -> int:
    """Restore the event's queue in Redis from PostgreSQL, keeping everybody's place.

    Returns the number of waiting fans restored. Safe while joins go on: places handed out after
    the database was read (higher sequences) are kept, and the counter never moves backwards.
    """
    return _rebuild_locked(event=event, needed=lambda: True)


def queue_rebuild_if(*, event: Event, needed: Callable[[], bool]) -> None:
    """Rebuild unless ``needed()`` turns false while waiting for (or after taking) the rebuild lock:
    many readers noticing one stale Redis cause one rebuild."""
    _rebuild_locked(event=event, needed=needed)


def _rebuild_locked(*, event: Event, needed: Callable[[], bool]) -> int:
    keys = QueueKeys(event.pk)
    client = queue_redis()
    token = secrets.token_hex(8)
    deadline = time.monotonic() + settings.QUEUE_REBUILD_WAIT_SECONDS
    while not client.set(keys.rebuild_lock, token, nx=True, ex=_REBUILD_LOCK_SECONDS):
        if not needed():
            return 0
        if time.monotonic() > deadline:
            raise Busy()
        time.sleep(0.02)
    try:
        if not needed():
            return 0
        return _rebuild(event=event)
    finally:
        if client.get(keys.rebuild_lock) == token.encode():
            client.delete(keys.rebuild_lock)


def _rebuild(*, event: Event) -> int:
    now = timezone.now()
    keys = QueueKeys(event.pk)
    client = queue_redis()
    _event_queue_state(event)
    if client.hlen(keys.pending):
        queue_finish_pending(event=event, now=now)
    # Each rebuild writes a version of the line of its own beside the live one and switches to it in
    # its last step: readers never see half of one, and one outliving its lock never mixes with another.
    version = secrets.token_hex(8)
    started = timezone.now()
    _drop_abandoned_line_versions(keys)
    client.zadd(keys.versions, {version: time.time()})
    # The queue row lock holds admissions, leaves and the lottery still while PostgreSQL is read and
    # Redis written, so Redis gets one consistent picture and the generation that goes with it.
    with transaction.atomic():
        state = EventQueue.objects.select_for_update().get(event=event)
        waiting, top_bucket = _write_line_version(keys, event=event, version=version)
        entries = QueueEntry.objects.filter(event=event)
        prequeue = list(entries.filter(state=QueueEntry.State.PREQUEUE).values_list("user_id", flat=True))
        passes = list(
            AdmissionPass.objects.filter(event=event, ended_at__isnull=True, expires_at__gt=now).values_list(
                "user_id", "expires_at"
            )
        )
        was_admitted = Q(admitted_at__isnull=False)
        totals = entries.aggregate(  # after the line was read: every sequence read is at most this
            max_sequence=Max("sequence"),
            head=Max("sequence", filter=was_admitted),
            admitted_total=Count("pk", filter=was_admitted),
            wait_sum=Sum(
                ExpressionWrapper(F("admitted_at") - F("joined_at"), output_field=DurationField()),
                filter=was_admitted,
            ),
        )
        max_sequence = totals["max_sequence"] or 0
        wait_sum: timedelta = totals["wait_sum"] or timedelta(0)

        # Written in chunks beside the live keys, then swapped in by one short script: a 10,000,000-fan
        # queue in one MULTI kept the shard busy longer than the client's socket timeout (the rebuild
        # failed and was retried forever) and stalled every other key on it meanwhile.
        staged = keys.staged(version)
        pipe = client.pipeline(transaction=False)

        def flush_chunks(*, force: bool = False) -> None:
            if force or len(pipe) >= _CHUNKS_PER_ROUND_TRIP:
                for key in (staged.pre, staged.admitted):
                    pipe.expire(key, _STAGING_SECONDS)  # a rebuild that dies leaves nothing for long
                pipe.execute()

        for start in range(0, len(prequeue), _CHUNK):
            pipe.sadd(staged.pre, *[str(user_id) for user_id in prequeue[start : start + _CHUNK]])
            flush_chunks()
        for start in range(0, len(passes), _CHUNK):
            pipe.zadd(
                staged.admitted,
                {str(user_id): expires.timestamp() for user_id, expires in passes[start : start + _CHUNK]},
            )
            flush_chunks()
        flush_chunks(force=True)

        pipe = client.pipeline(transaction=True)
        pipe.set(keys.head, totals["head"] or 0)
        pipe.delete(keys.stats)
        pipe.hset(
            keys.stats,
            mapping={
                "admitted_total": totals["admitted_total"],
                "wait_sum": wait_sum.total_seconds(),
                "wait_count": totals["admitted_total"],
            },
        )
        queue_rebuild_finish(
            pipe,
            keys,
            staged,
            version=version,
            waiting=waiting,
            max_sequence=max_sequence,
            opened=state.opened_at is not None,
            paused=state.is_paused,
            generation=state.generation,
            now_epoch=time.time(),
            late_joins=_late_joins(
                event=event,
                since=started - _LATE_JOIN_SECONDS,
                from_sequence=(top_bucket + 1) * BUCKET - _LATE_JOIN_SEQUENCES,
            ),
        )
        _pending, replaced = pipe.execute()[-1]
    if replaced is not None:  # None: a retried call found this version live already
        drop_line_version(keys, as_text(replaced))
    logger.info("Rebuilt the queue of event %s from the database: %s waiting.", event.pk, waiting)
    return waiting


# PostgreSQL groups the waiting fans both ways in one statement (one snapshot): by sequence bucket
# for the line's sorted sets and by user bucket for its hashes, each group's pairs as one string.
_LINE_GROUPS_SQL = f"""
SELECT sequence / {BUCKET}, user_id / {BUCKET}, count(*), string_agg(user_id || ' ' || sequence, ' ')
FROM {QueueEntry._meta.db_table}
WHERE event_id = %s AND state = %s AND sequence IS NOT NULL
GROUP BY GROUPING SETS ((sequence / {BUCKET}), (user_id / {BUCKET}))
"""  # noqa: S608 - no input in the text


def _write_line_version(keys: QueueKeys, *, event: Event, version: str) -> tuple[int, int]:
    """Write the waiting fans PostgreSQL holds as ``version`` of the line; returns how many, and
    the highest sequence bucket written (-1 for none)."""
    counts: dict[int, int] = {}
    pipe = queue_redis().pipeline(transaction=False)
    with connection.chunked_cursor() as cursor:  # streamed: Redis writes while PostgreSQL sends
        cursor.execute(_LINE_GROUPS_SQL, [event.pk, QueueEntry.State.WAITING])
        while rows := cursor.fetchmany(_LINE_GROUPS_PER_ROUND_TRIP):
            for sequence_bucket, user_bucket, count, pairs in rows:
                if sequence_bucket is not None:
                    counts[sequence_bucket] = count
                    pipe_line_load(pipe, keys, version=version, kind="w", bucket=sequence_bucket, pairs=pairs)
                else:
                    pipe_line_load(pipe, keys, version=version, kind="u", bucket=user_bucket, pairs=pairs)
            pipe.zadd(keys.versions, {version: time.time()})  # still being written: not abandoned
            pipe.execute()
    pipe.set(keys.line_fenwick(version), fenwick_bytes(counts))
    pipe.execute()
    return sum(counts.values()), max(counts, default=-1)


def _late_joins(*, event: Event, since: datetime, from_sequence: int) -> dict[int, int]:
    """Waiting fans who joined since ``since``, read just before the switch: a join whose row
    committed after the line was read (the statements of a READ COMMITTED transaction see different
    moments) is added to the new version, or it would lose its place in Redis. Only the top of the
    line is looked at (``from_sequence`` on, through the index): joins in flight hold the newest places."""
    late = QueueEntry.objects.filter(
        event=event, state=QueueEntry.State.WAITING, sequence__gte=from_sequence, joined_at__gte=since
    ).values_list("user_id", "sequence")
    return {user_id: sequence for user_id, sequence in late if sequence is not None}


def _drop_abandoned_line_versions(keys: QueueKeys) -> None:
    """Versions of the line that rebuilds which died wrote (none written to for ``_STAGING_SECONDS``)."""
    client = queue_redis()
    live = line_version(keys)
    for raw in client.zrangebyscore(keys.versions, "-inf", time.time() - _STAGING_SECONDS):
        if as_text(raw) != live:
            drop_line_version(keys, as_text(raw))


# --- Admission outside the line (the waiting list's offers) ---------------------------------------


def queue_grant_admission(
    *, event: Event, user_id: int, expires_at: datetime, now: datetime
) -> AdmissionPass | None:
    """Admit one fan now with a pass until ``expires_at``, outside the line (``waitlist`` offers).

    Runs inside the caller's transaction, after it locked the event queue row (first in the lock
    order). Nothing happens, and None comes back, while the fan has a place in the line or a valid
    pass: one turn at a time. The fan's Redis mirror and their live "admitted" push follow the commit;
    the generation bump makes the repair job rebuild Redis should the process die before that.
    """
    entry = (
        QueueEntry.objects.select_for_update()
        .filter(event=event, user_id=user_id, state__in=ACTIVE_STATES)
        .first()
    )
    if entry is not None:
        admission = AdmissionPass.objects.filter(queue_entry=entry, ended_at__isnull=True).first()
        if entry.state != QueueEntry.State.ADMITTED or (admission is not None and admission.expires_at > now):
            return None
        _end_entry(entry=entry, state=QueueEntry.State.EXPIRED, now=now)  # a turn over but not swept yet
    generation = _bump_generation(event)
    granted = QueueEntry.objects.create(
        event=event, user_id=user_id, state=QueueEntry.State.ADMITTED, joined_at=now, admitted_at=now
    )
    admission = AdmissionPass.objects.create(
        event=event, user_id=user_id, queue_entry=granted, issued_at=now, expires_at=expires_at
    )
    EventQueue.objects.filter(event=event).update(admitted_total=F("admitted_total") + 1)

    def mirror_in_redis() -> None:
        keys = QueueKeys(event.pk)
        pipe = queue_redis().pipeline(transaction=True)
        pipe.zadd(keys.admitted, {str(user_id): expires_at.timestamp()})
        queue_set_generation(pipe, keys, generation=generation)
        pipe.execute()
        notify.notify_admitted(event=event, user_ids=[user_id], expires_at=expires_at)

    transaction.on_commit(mirror_in_redis, robust=True)
    return admission
