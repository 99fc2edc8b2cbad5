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
- ``queue_pause(event=)`` / ``queue_resume(event=)``.

Order of writes: a join takes its place in Redis (one Lua script), then records it in PostgreSQL; an
admission pops in Redis and parks the batch in a pending hash (one Lua script), then commits to
PostgreSQL, then clears the pending hash. Realtime notifications go out after commit.
Database lock order: event queue row, then queue entries by primary key, then passes.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Q, Sum
from django.utils import timezone

from core.exceptions import Busy
from events.models import Event
from queueing import notify
from queueing.batching import join_recorder
from queueing.exceptions import NotInQueue, SaleClosed
from queueing.models import AdmissionPass, EventQueue, QueueEntry
from queueing.redis_queue import (
    ADMIT_NOT_READY,
    ADMIT_POPPED,
    JOIN_ADMITTED,
    JOIN_NOT_OPENED,
    JOIN_NOT_READY,
    QueueKeys,
    arun_join,
    arun_undo_join,
    parse_admission_log,
    rebuild_finish_script,
    redis_client,
    run_admit,
    run_join,
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
_REBUILD_LOCK_SECONDS = 120


def _event_queue_state(event: Event) -> EventQueue:
    state, _ = EventQueue.objects.get_or_create(event=event)
    return state


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


def _join_fifo(*, user, event: Event) -> QueueStatus:
    keys = QueueKeys(event.pk)
    for _attempt in range(3):
        result = run_join(keys, user_id=user.pk, now_epoch=time.time())
        code = result[0]
        if code == JOIN_NOT_READY:
            queue_ensure_ready(event=event)
            continue
        if code == JOIN_NOT_OPENED:
            queue_open_prequeue(event=event)
            continue
        if code == JOIN_ADMITTED:
            return _admitted_join_status(event=event, result=result)
        sequence = int(result[1])
        try:
            inserted = _insert_entry(
                event_id=event.pk, user_id=user.pk, sequence=sequence, state=QueueEntry.State.WAITING
            )
        except Exception:
            # Not durable, so not a place: no fan may hold a place in Redis that PostgreSQL lacks.
            if not result[4]:
                run_undo_join(keys, user_id=user.pk, sequence=sequence)
            raise
        if not inserted and not result[4]:
            return _reconcile_join(user=user, event=event, sequence=sequence)
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
    if code in (JOIN_NOT_READY, JOIN_NOT_OPENED):  # nothing was written: the sync service does it all
        return await database_sync_to_async(queue_join)(user=user, event=event)
    if code == JOIN_ADMITTED:
        return _admitted_join_status(event=event, result=result)
    sequence = int(result[1])
    try:
        inserted = await join_recorder().record(event_id=event.pk, user_id=user.pk, sequence=sequence)
    except Exception:
        if not result[4]:  # as in _join_fifo: an unrecorded place is no place
            await arun_undo_join(QueueKeys(event.pk), user_id=user.pk, sequence=sequence)
        raise
    if not inserted and not result[4]:
        return await database_sync_to_async(_reconcile_join)(user=user, event=event, sequence=sequence)
    return _waiting_join_status(event=event, result=result)


def _reconcile_join(*, user, event: Event, sequence: int) -> QueueStatus:
    """Redis gave a new place but PostgreSQL already holds an active entry: PostgreSQL wins."""
    keys = QueueKeys(event.pk)
    client = redis_client()
    now = timezone.now()
    with transaction.atomic():
        entry = (
            QueueEntry.objects.select_for_update()
            .filter(event=event, user=user, state__in=ACTIVE_STATES)
            .first()
        )
        already = True
        if entry is None:  # the other entry ended in the meantime
            _insert_entry(
                event_id=event.pk, user_id=user.pk, sequence=sequence, state=QueueEntry.State.WAITING
            )
            already = False
        elif entry.state == QueueEntry.State.WAITING:
            if entry.sequence == sequence:  # a concurrent repeat of this join recorded our place first
                already = False
            else:
                client.zadd(keys.waiting, {str(user.pk): entry.sequence or sequence})
        elif entry.state == QueueEntry.State.ADMITTED:
            admission = AdmissionPass.objects.filter(queue_entry=entry, ended_at__isnull=True).first()
            if admission is not None and admission.expires_at > now:
                client.zrem(keys.waiting, str(user.pk))
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
            redis_client().sadd(QueueKeys(event.pk).pre, str(user.pk))
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
        entry = (
            QueueEntry.objects.select_for_update()
            .filter(event=event, user=user, state__in=ACTIVE_STATES)
            .first()
        )
        if entry is None:
            raise NotInQueue()
        _end_entry(entry=entry, state=QueueEntry.State.LEFT, now=now)
    keys = QueueKeys(event.pk)
    pipe = redis_client().pipeline(transaction=True)
    pipe.zrem(keys.waiting, str(user.pk))
    pipe.srem(keys.pre, str(user.pk))
    pipe.zrem(keys.admitted, str(user.pk))
    pipe.hdel(keys.pending, str(user.pk))
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
    client = redis_client()
    placed = 0
    with transaction.atomic():
        state = EventQueue.objects.select_for_update().get(pk=state.pk)
        if state.opened_at is None:
            entries = list(
                QueueEntry.objects.filter(event=event, state=QueueEntry.State.PREQUEUE).values_list(
                    "pk", "user_id"
                )
            )
            secrets.SystemRandom().shuffle(entries)
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
                pipe = client.pipeline(transaction=True)
                for start in range(0, placed, _CHUNK):
                    chunk = zip(
                        entries[start : start + _CHUNK], sequences[start : start + _CHUNK], strict=True
                    )
                    pipe.zadd(keys.waiting, {str(user_id): seq for (_, user_id), seq in chunk})
                pipe.delete(keys.pre)
                pipe.execute()
            state.opened_at = now
            state.save(update_fields=["opened_at"])
        # Later joins see the queue open only from here on, so they always come after the lottery.
        client.hset(keys.meta, "opened", "1")
    if placed:
        logger.info("Queue for event %s opened: %s pre-queued fans placed at random.", event.pk, placed)
    return placed


# --- Admission ------------------------------------------------------------------------------------


def queue_admit_batch(*, event: Event, size: int | None = None, tick: int | None = None) -> list[int]:
    now = timezone.now()
    state = _event_queue_state(event)
    queue_ensure_ready(event=event)
    # A batch popped by a process that died before its commit is finished first, paused or not.
    admitted = _finish_pending(event=event, now=now)
    if state.is_paused or event.sale_phase(now) != Event.SalePhase.ON_SALE:
        return admitted
    if state.opened_at is None:
        queue_open_prequeue(event=event)
    keys = QueueKeys(event.pk)
    expires_at = now + event.booking_window
    for _attempt in range(2):
        result = run_admit(
            keys,
            size=size or event.admission_batch_size,
            expires_epoch=expires_at.timestamp(),
            now_epoch=now.timestamp(),
            tick=tick,
            tick_lock_seconds=max(2 * event.admission_interval_seconds, 10),
        )
        if result[0] != ADMIT_NOT_READY:
            break
        queue_ensure_ready(event=event)
    if result[0] != ADMIT_POPPED:
        return admitted
    raw = result[1]
    popped = [(int(raw[i]), int(float(raw[i + 1]))) for i in range(0, len(raw), 2)]
    if popped:
        admitted += _record_admissions(event=event, popped=popped, now=now, expires_at=expires_at)
    return admitted


def _finish_pending(*, event: Event, now: datetime) -> list[int]:
    raw = redis_client().hgetall(QueueKeys(event.pk).pending)
    if not raw:
        return []
    popped = sorted(((int(uid), int(float(seq))) for uid, seq in raw.items()), key=lambda item: item[1])
    logger.warning("Finishing an interrupted admission of %s fans for event %s.", len(popped), event.pk)
    return _record_admissions(event=event, popped=popped, now=now, expires_at=now + event.booking_window)


def _record_admissions(
    *, event: Event, popped: list[tuple[int, int]], now: datetime, expires_at: datetime
) -> list[int]:
    """Commit popped fans as admitted with a pass. Idempotent: fans no longer waiting are skipped."""
    user_ids = [user_id for user_id, _ in popped]
    with transaction.atomic():
        EventQueue.objects.select_for_update().filter(event=event).first()
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
    keys = QueueKeys(event.pk)
    pipe = redis_client().pipeline(transaction=True)
    pipe.hdel(keys.pending, *[str(user_id) for user_id in user_ids])
    if entries:
        pipe.zadd(keys.admitted, {str(user_id): expires_at.timestamp() for user_id in admitted})
        pipe.hincrbyfloat(
            keys.stats, "wait_sum", sum((now - entry.joined_at).total_seconds() for entry in entries)
        )
        pipe.hincrby(keys.stats, "wait_count", len(entries))
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
    pipe = redis_client().pipeline(transaction=False)
    for event_id, user_ids in by_event.items():
        pipe.zrem(QueueKeys(event_id).admitted, *[str(user_id) for user_id in user_ids])
    pipe.execute()
    return len(rows)


# --- Pause ----------------------------------------------------------------------------------------


def _set_paused(*, event: Event, paused: bool) -> None:
    state = _event_queue_state(event)
    EventQueue.objects.filter(pk=state.pk).update(is_paused=paused)
    redis_client().hset(QueueKeys(event.pk).meta, "paused", "1" if paused else "0")
    transaction.on_commit(lambda: notify.notify_queue_status(event=event), robust=True)


def queue_pause(*, event: Event) -> None:
    _set_paused(event=event, paused=True)


def queue_resume(*, event: Event) -> None:
    _set_paused(event=event, paused=False)


# --- Rebuild from PostgreSQL ----------------------------------------------------------------------


def queue_ensure_ready(*, event: Event) -> None:
    """Rebuild the event's Redis structures if they are missing (first use, Redis restart, flush)."""
    if redis_client().hget(QueueKeys(event.pk).meta, "ready") is None:
        _rebuild_locked(event=event, only_if_missing=True)


def queue_rebuild_from_database(*, event: Event) -> int:
    """Restore the event's queue in Redis from PostgreSQL, keeping everybody's place.

    Returns the number of waiting fans restored. Safe while joins go on: places handed out after
    the database was read (higher sequences) are kept, and the counter never moves backwards.
    """
    return _rebuild_locked(event=event, only_if_missing=False)


def _rebuild_locked(*, event: Event, only_if_missing: bool) -> int:
    keys = QueueKeys(event.pk)
    client = redis_client()
    token = secrets.token_hex(8)
    deadline = time.monotonic() + settings.QUEUE_REBUILD_WAIT_SECONDS
    while not client.set(keys.rebuild_lock, token, nx=True, ex=_REBUILD_LOCK_SECONDS):
        if only_if_missing and client.hget(keys.meta, "ready") is not None:
            return 0
        if time.monotonic() > deadline:
            raise Busy()
        time.sleep(0.02)
    try:
        if only_if_missing and client.hget(keys.meta, "ready") is not None:
            return 0
        return _rebuild(event=event)
    finally:
        if client.get(keys.rebuild_lock) == token.encode():
            client.delete(keys.rebuild_lock)


def _rebuild(*, event: Event) -> int:
    now = timezone.now()
    keys = QueueKeys(event.pk)
    client = redis_client()
    state = _event_queue_state(event)
    if client.hlen(keys.pending):
        _finish_pending(event=event, now=now)
    entries = QueueEntry.objects.filter(event=event)
    waiting = list(
        entries.filter(state=QueueEntry.State.WAITING, sequence__isnull=False).values_list(
            "user_id", "sequence"
        )
    )
    prequeue = list(entries.filter(state=QueueEntry.State.PREQUEUE).values_list("user_id", flat=True))
    passes = list(
        AdmissionPass.objects.filter(event=event, ended_at__isnull=True, expires_at__gt=now).values_list(
            "user_id", "expires_at"
        )
    )
    was_admitted = Q(admitted_at__isnull=False)
    totals = entries.aggregate(
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

    pipe = client.pipeline(transaction=True)
    # Members up to the highest recorded sequence are replaced by the database's view; higher ones
    # are joins whose database write is still in flight and keep their place.
    pipe.zremrangebyscore(keys.waiting, "-inf", max_sequence)
    for start in range(0, len(waiting), _CHUNK):
        pipe.zadd(keys.waiting, {str(user_id): seq or 0 for user_id, seq in waiting[start : start + _CHUNK]})
    pipe.delete(keys.pre)
    for start in range(0, len(prequeue), _CHUNK):
        pipe.sadd(keys.pre, *[str(user_id) for user_id in prequeue[start : start + _CHUNK]])
    pipe.delete(keys.admitted)
    for start in range(0, len(passes), _CHUNK):
        pipe.zadd(
            keys.admitted,
            {str(user_id): expires.timestamp() for user_id, expires in passes[start : start + _CHUNK]},
        )
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
    rebuild_finish_script()(
        keys=[keys.seq, keys.waiting, keys.admitted, keys.pending, keys.meta],
        args=[
            max_sequence,
            (now + event.booking_window).timestamp(),
            "1" if state.opened_at else "0",
            "1" if state.is_paused else "0",
        ],
        client=pipe,
    )
    pipe.execute()
    logger.info("Rebuilt the queue of event %s from the database: %s waiting.", event.pk, len(waiting))
    return len(waiting)
