"""Reads of the waiting room, for pages, the API, the WebSocket consumer, tasks and bookings.

Public interface (all keyword-only):

- ``queue_event_get(event_id=...) -> Event`` — an event fans may queue for; raises ``EventNotFound``
  (404 ``NOT_FOUND``) for unknown and draft events.
- ``queue_status(user=..., event=...) -> QueueStatus | None`` — one fan's place; ``None`` when the fan
  is not in the queue (never joined, or left). One Redis round trip on the hot path.
  ``aqueue_status`` is the same on the asyncio Redis client (the API's fast path).
- ``queue_stats(event=...) -> QueueStats`` — queue size, admitted now / in total, rate, average wait,
  and the head sequence (what the event group broadcast carries).
- ``admission_pass_is_valid(user=..., event=...) -> bool`` and ``admission_pass_for(...)`` — what seat
  holds, bookings and payments check (invariant 2).
- ``estimated_wait_seconds(users_ahead=..., event=..., measured_rate_per_second=...) -> int``.

When the Redis structures of an event are missing (Redis restarted or was flushed), the reads here
rebuild them from PostgreSQL first (``queueing.services.queue_ensure_ready``). A fan Redis does not
know but PostgreSQL holds as queued or admitted means Redis came back older: the read rebuilds it
(once, however many readers notice). A fan whose admission was popped but not committed (a crashed
admission) is finished by the read. Both cost PostgreSQL only on those rare paths.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from channels.db import database_sync_to_async
from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.compiled_query import CompiledQuery
from core.exceptions import Busy
from events.models import Event
from queueing.exceptions import EventNotFound
from queueing.models import AdmissionPass, QueueEntry
from queueing.redis_queue import (
    READY,
    QueueKeys,
    arun_status_reads,
    as_float,
    as_int,
    async_queue_redis,
    parse_admission_log,
    queue_redis,
    run_status_reads,
)


class QueueState:
    """The ``status`` values a fan sees."""

    PREQUEUE = "prequeue"
    WAITING = "waiting"
    ADMITTED = "admitted"
    EXPIRED = "expired"


@dataclass(frozen=True)
class QueueStatus:
    """One fan's place in one event's queue.

    ``position`` is 1-based (1 = next to be admitted) and ``users_ahead`` = ``position - 1``; both are
    ``None`` outside ``waiting``. ``queue_size`` counts the waiting fans (the pre-queue before opening).
    ``estimated_wait_seconds`` is ``None`` in the pre-queue (places are drawn at opening) and 0 once
    admitted. ``already_in_queue`` is only meaningful on the result of ``queue_join``: ``True`` when the
    fan was already queued (another tab, device, or the API) and this join changed nothing.
    """

    event_id: int
    status: str
    sequence: int | None = None
    position: int | None = None
    users_ahead: int | None = None
    queue_size: int = 0
    estimated_wait_seconds: int | None = None
    admission_expires_at: datetime | None = None
    already_in_queue: bool = False
    # Whether admission is paused, as read with a waiting fan's place (the queue page says so).
    is_paused: bool = False

    def with_already_in_queue(self, value: bool) -> QueueStatus:
        return replace(self, already_in_queue=value)


@dataclass(frozen=True)
class QueueStats:
    event_id: int
    queue_size: int
    prequeue_size: int
    admitted_active: int
    admitted_total: int
    admission_rate_per_minute: float
    average_wait_seconds: int | None
    head_sequence: int
    is_paused: bool


def queue_event_get(*, event_id: int) -> Event:
    event = Event.objects.exclude(status=Event.Status.DRAFT).filter(pk=event_id).first()
    if event is None:
        raise EventNotFound()
    return event


def configured_rate_per_second(*, event: Event) -> float:
    return event.admission_batch_size / event.admission_interval_seconds


def measured_rate_per_second(
    *, log: list[tuple[float, int]], interval_seconds: int, now_epoch: float
) -> float | None:
    """Fans admitted per second over the recent admission log, or ``None`` without enough data.

    Counts every admission after the oldest one in the window, over the time since that oldest one —
    stretched to now when admissions have stalled, so a stopped or slow admission job shows up.
    """
    window = settings.QUEUE_RATE_WINDOW_SECONDS
    recent = [(epoch, count) for epoch, count in log if epoch >= now_epoch - window]
    if len(recent) < 2:
        return None
    newest_epoch = recent[0][0]
    oldest_epoch = recent[-1][0]
    span = max(newest_epoch, now_epoch - interval_seconds) - oldest_epoch
    if span <= 0:
        return None
    return sum(count for _, count in recent[:-1]) / span


def effective_rate_per_second(*, event: Event, log: list[tuple[float, int]], now_epoch: float) -> float:
    measured = measured_rate_per_second(
        log=log, interval_seconds=event.admission_interval_seconds, now_epoch=now_epoch
    )
    return measured if measured is not None else configured_rate_per_second(event=event)


def estimated_wait_seconds(
    *, users_ahead: int, event: Event, measured_rate_per_second: float | None = None
) -> int:
    """People ahead / batch size x interval (the fan goes with the batch their place falls in),
    corrected by the measured outflow when there is one (a slow admission job makes waits longer)."""
    batches = users_ahead // event.admission_batch_size + 1
    wait = float(batches * event.admission_interval_seconds)
    if measured_rate_per_second:
        wait *= configured_rate_per_second(event=event) / measured_rate_per_second
    return math.ceil(wait)


def _epoch_to_datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


# The fan is nowhere in Redis: only PostgreSQL can tell an ended turn from "never joined".
_NOT_IN_REDIS = object()
# Popped by an admission that has not committed (or crashed): finish it, then read again.
_PENDING = object()


def _status_from_reads(*, event: Event, reads: list) -> QueueStatus | object:
    _ready, expiry, sequence, rank, size, in_pre, pre_size, raw_log, pending, paused = reads
    now_epoch = time.time()
    if pending:
        return _PENDING
    if expiry is not None:
        if float(expiry) > now_epoch:
            return QueueStatus(
                event_id=event.pk,
                status=QueueState.ADMITTED,
                queue_size=size,
                estimated_wait_seconds=0,
                admission_expires_at=_epoch_to_datetime(float(expiry)),
            )
        return QueueStatus(event_id=event.pk, status=QueueState.EXPIRED, queue_size=size)
    if sequence is not None:
        log = parse_admission_log(raw_log)
        measured = measured_rate_per_second(
            log=log, interval_seconds=event.admission_interval_seconds, now_epoch=now_epoch
        )
        return QueueStatus(
            event_id=event.pk,
            status=QueueState.WAITING,
            sequence=int(float(sequence)),
            position=rank + 1,
            users_ahead=rank,
            queue_size=size,
            estimated_wait_seconds=estimated_wait_seconds(
                users_ahead=rank, event=event, measured_rate_per_second=measured
            ),
            is_paused=paused == b"1",
        )
    if in_pre:
        return QueueStatus(event_id=event.pk, status=QueueState.PREQUEUE, queue_size=pre_size)
    return _NOT_IN_REDIS


def _latest_entry(*, user, event: Event) -> QueueEntry | None:
    return QueueEntry.objects.filter(event=event, user=user).order_by("-pk").only("state", "sequence").first()


def _redis_lacks(*, latest: QueueEntry | None, user, event: Event) -> bool:
    """PostgreSQL holds the fan as queued, or admitted with a valid pass, yet Redis has no trace."""
    if latest is None:
        return False
    if latest.state in (QueueEntry.State.PREQUEUE, QueueEntry.State.WAITING):
        return True
    return (
        latest.state == QueueEntry.State.ADMITTED and admission_pass_for(user=user, event=event) is not None
    )


def _read_status(*, user, event: Event) -> tuple[QueueStatus | object, list]:
    reads = run_status_reads(QueueKeys(event.pk), user_id=user.pk)
    if reads[0] is None:
        return _NOT_READY, reads
    return _status_from_reads(event=event, reads=reads), reads


_NOT_READY = object()


def queue_status(*, user, event: Event, in_line_only: bool = False) -> QueueStatus | None:
    """The fan's place. ``in_line_only``: None rather than "expired" for a fan Redis does not hold,
    without asking PostgreSQL (as ``aqueue_status``): for a page that offers the same "join" to both.
    A Redis that lost a fan PostgreSQL holds is then healed by that join (PostgreSQL wins)."""
    from queueing import services  # services import this module

    status, reads = _read_status(user=user, event=event)
    for _attempt in range(3):
        if status is _NOT_READY:
            services.queue_ensure_ready(event=event)
        elif status is _PENDING:
            services.queue_finish_pending(event=event)
        elif status is _NOT_IN_REDIS and in_line_only:
            return None
        elif status is _NOT_IN_REDIS:
            latest = _latest_entry(user=user, event=event)
            if not _redis_lacks(latest=latest, user=user, event=event):
                if latest is not None and latest.state in (
                    QueueEntry.State.EXPIRED,
                    QueueEntry.State.ADMITTED,
                ):
                    return QueueStatus(event_id=event.pk, status=QueueState.EXPIRED, queue_size=reads[4])
                return None
            services.queue_rebuild_if(
                event=event, needed=lambda: _read_status(user=user, event=event)[0] is _NOT_IN_REDIS
            )
        else:
            return status  # type: ignore[return-value]
        status, reads = _read_status(user=user, event=event)
    if isinstance(status, QueueStatus):
        return status
    raise Busy()


async def aqueue_status(*, user, event: Event, in_line_only: bool = False) -> QueueStatus | None:
    """``queue_status`` on the asyncio Redis client, for the API's fast path: one round trip.

    The rare cases that need PostgreSQL (structures to rebuild, a fan not in Redis) run the sync
    selector in a thread, so there is one implementation of each. ``in_line_only`` skips the look in
    PostgreSQL for an ended turn (None instead of "expired"): a join only asks "is this fan in line?",
    and every new fan would otherwise cost a query in that one thread.
    """
    reads = await arun_status_reads(QueueKeys(event.pk), user_id=user.pk)
    status = _status_from_reads(event=event, reads=reads) if reads[0] is not None else _NOT_READY
    if isinstance(status, QueueStatus):
        return status
    if status is _NOT_IN_REDIS and in_line_only:
        # Not in line as far as Redis knows. If PostgreSQL says otherwise (a stale Redis), the join
        # that follows reconciles with it (services.aqueue_join): PostgreSQL wins.
        return None
    return await database_sync_to_async(queue_status)(user=user, event=event)


def queue_place_to_return(*, user, event: Event) -> QueueStatus | None:
    """What a repeat join answers at once, without limits or a challenge: the fan's place while the
    sale runs and they are in line (pre-queue, waiting, admitted). ``None`` means "join as new": not
    in line, the turn is over, or the place is not durable yet — its row never committed (a join that
    failed half way), and only a real join may answer 2xx for it (it records the row or reconciles).
    Only Redis is asked (``in_line_only``): a fan it does not hold joins as new, and that join
    reconciles with PostgreSQL if PostgreSQL holds them (a Redis that lost its data)."""
    if event.sale_phase() not in (Event.SalePhase.UPCOMING, Event.SalePhase.ON_SALE):
        return None
    current = queue_status(user=user, event=event, in_line_only=True)
    if current is None or current.status == QueueState.EXPIRED:
        return None
    if current.status == QueueState.WAITING and queue_redis().hexists(
        QueueKeys(event.pk).unconfirmed, str(user.pk)
    ):
        return None
    return current


async def aqueue_place_to_return(*, user, event: Event) -> QueueStatus | None:
    """``queue_place_to_return`` for the API's fast path (asyncio Redis; the unconfirmed check is a
    second round trip only for a fan found waiting)."""
    if event.sale_phase() not in (Event.SalePhase.UPCOMING, Event.SalePhase.ON_SALE):
        return None
    current = await aqueue_status(user=user, event=event, in_line_only=True)
    if current is None or current.status == QueueState.EXPIRED:
        return None
    if current.status == QueueState.WAITING and await (await async_queue_redis()).hexists(
        QueueKeys(event.pk).unconfirmed, str(user.pk)
    ):
        return None
    return current


def queue_stats(*, event: Event) -> QueueStats:
    keys = QueueKeys(event.pk)
    now_epoch = time.time()
    for attempt in range(2):
        pipe = queue_redis().pipeline(transaction=False)
        pipe.hmget(keys.meta, READY, "paused")
        pipe.get(keys.size)
        pipe.scard(keys.pre)
        pipe.zcount(keys.admitted, f"({now_epoch}", "+inf")
        pipe.hmget(keys.stats, "admitted_total", "wait_sum", "wait_count")
        pipe.get(keys.head)
        pipe.lrange(keys.log, 0, -1)
        (ready, paused), raw_size, pre_size, active, (total, wait_sum, wait_count), head, raw_log = (
            pipe.execute()
        )
        if ready is not None or attempt:
            break
        from queueing.services import queue_ensure_ready

        queue_ensure_ready(event=event)

    rate = effective_rate_per_second(event=event, log=parse_admission_log(raw_log), now_epoch=now_epoch)
    count = as_int(wait_count)
    return QueueStats(
        event_id=event.pk,
        queue_size=as_int(raw_size),
        prequeue_size=pre_size,
        admitted_active=active,
        admitted_total=as_int(total),
        admission_rate_per_minute=round(rate * 60, 2),
        average_wait_seconds=round(as_float(wait_sum) / count) if count else None,
        head_sequence=as_int(head),
        is_paused=paused == b"1",
    )


# Asked for every seat map page, hold, checkout and payment: compiled to SQL once per process.
_valid_pass: CompiledQuery[AdmissionPass] = CompiledQuery(
    lambda event_id, user_id, now: AdmissionPass.objects.filter(
        event_id=event_id, user_id=user_id, ended_at__isnull=True, expires_at__gt=now
    ).order_by("-expires_at")[:1],
    event_id=int,
    user_id=int,
    now=datetime,
)


def admission_pass_for(*, user, event: Event, now: datetime | None = None) -> AdmissionPass | None:
    """The fan's valid pass for the event, from PostgreSQL (authoritative)."""
    if not getattr(user, "is_authenticated", False):
        return None
    return _valid_pass.first(event_id=event.pk, user_id=user.pk, now=now or timezone.now())


def admission_pass_is_valid(*, user, event: Event) -> bool:
    """Whether the fan may hold seats, book and pay for the event now (invariant 2).

    Redis answers "no" for the many fans without a pass in one call; every "yes" is confirmed in
    PostgreSQL, so a pass that is only in Redis (an admission still being committed) does not count.
    """
    if not getattr(user, "is_authenticated", False):
        return False
    keys = QueueKeys(event.pk)
    pipe = queue_redis().pipeline(transaction=False)
    pipe.hget(keys.meta, READY)
    pipe.zscore(keys.admitted, str(user.pk))
    pipe.hexists(keys.pending, str(user.pk))
    ready, expiry, pending = pipe.execute()
    if pending:  # popped by an admission that did not commit: finish it rather than refuse
        from queueing.services import queue_finish_pending

        queue_finish_pending(event=event)
    elif ready is not None and (expiry is None or float(expiry) <= time.time()):
        return False
    return admission_pass_for(user=user, event=event) is not None


def events_with_running_sale(*, now: datetime | None = None) -> QuerySet[Event]:
    """Published events whose sale is open now and whose queue is not paused: the admission job's work."""
    now = now or timezone.now()
    return (
        Event.objects.filter(status=Event.Status.PUBLISHED, sale_opens_at__lte=now)
        .filter(Q(sale_closes_at__gt=now) | Q(sale_closes_at__isnull=True, starts_at__gt=now))
        .exclude(queue_state__is_paused=True)
        .order_by("pk")
    )


def events_with_live_queue(*, now: datetime | None = None) -> QuerySet[Event]:
    """Published events with a queue in use whose sale has not ended: what the status broadcast covers."""
    now = now or timezone.now()
    return (
        Event.objects.filter(status=Event.Status.PUBLISHED, queue_state__isnull=False)
        .filter(Q(sale_closes_at__gt=now) | Q(sale_closes_at__isnull=True, starts_at__gt=now))
        .order_by("pk")
    )


def admission_tick_number(*, event: Event, now: datetime | None = None) -> int:
    """The event's admission tick: one batch per tick, ticks ``admission_interval_seconds`` long."""
    return int((now or timezone.now()).timestamp() // event.admission_interval_seconds)
