"""Group commit for the API's fast path: many concurrent requests, one database round trip.

Each batcher owns one asyncio PostgreSQL connection (autocommit) in one event loop. Callers ``await``
their item; the first caller starts a drain task, and while a batch is in flight the next one fills
up, so under load every round trip carries many items and at rest a lone item goes at once (no timer,
no added latency). A caller gets its answer only after its batch committed: a join answered 2xx is
durable.

- ``join_recorder().record(event_id=, user_id=, sequence=) -> bool`` — records a waiting place
  (``INSERT … ON CONFLICT DO NOTHING``, as ``services._insert_entry``); ``True`` when a row was inserted.
  The places inserted are then confirmed in Redis (``q:{E}:unconfirmed``), one round trip per batch.
- ``active_users().lookup(user_id) -> ActiveUser | None`` — the user exists and may log in (what
  ``JWTAuthentication.get_user`` checks; ``None`` otherwise), and whether their e-mail address is
  verified, for many requests in one ``SELECT``.

A failed batch is retried item by item, so one bad item (say a user deleted meanwhile) fails alone.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from django.contrib.auth import get_user_model
from django.db import connections
from django.utils import timezone

from queueing.models import QueueEntry
from queueing.redis_queue import QueueKeys, async_queue_redis

logger = logging.getLogger(__name__)


def _connection_kwargs() -> dict[str, Any]:
    """Exactly what Django's own connections use (a socket directory in OPTIONS included), minus
    the parts that only fit Django's synchronous cursors."""
    params = connections["default"].get_connection_params()
    for django_only in ("cursor_factory", "context"):
        params.pop(django_only, None)
    return params


class _Batcher:
    max_batch = 1000

    def __init__(self) -> None:
        self._pending: list[tuple[Any, asyncio.Future]] = []
        self._drain_task: asyncio.Task | None = None
        self._connection: psycopg.AsyncConnection | None = None
        self.batches = 0  # round trips so far, and the items they carried
        self.items = 0

    async def _submit(self, item: Any) -> Any:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._drain_task is None or self._drain_task.done():
            self._drain_task = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            items = [item for item, _ in batch]
            self.batches += 1
            self.items += len(items)
            try:
                outcomes: Sequence[Any] = await self._run(items)
            except Exception:  # noqa: BLE001 - isolate the item that broke the batch
                await self.close()
                outcomes = [await self._run_alone(item) for item in items]
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

    async def _run_alone(self, item: Any) -> Any:
        try:
            return (await self._run([item]))[0]
        except Exception as exc:  # noqa: BLE001 - handed to that item's caller
            await self.close()
            return exc

    async def _cursor_connection(self) -> psycopg.AsyncConnection:
        if self._connection is None or self._connection.closed:
            self._connection = await psycopg.AsyncConnection.connect(**_connection_kwargs(), autocommit=True)
        return self._connection

    async def _run(self, items: list[Any]) -> Sequence[Any]:
        raise NotImplementedError

    async def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            try:
                await connection.close()
            except Exception:
                logger.debug("closing a broken batch connection failed", exc_info=True)


class JoinRecorder(_Batcher):
    """Waiting places into ``queueing_queueentry``, many per INSERT (one COMMIT, one WAL flush)."""

    _SQL = (
        f"INSERT INTO {QueueEntry._meta.db_table} (event_id, user_id, sequence, state, joined_at) "  # noqa: S608
        "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::varchar[], %s::timestamptz[]) "
        "ON CONFLICT DO NOTHING RETURNING event_id, user_id, sequence"
    )

    async def record(self, *, event_id: int, user_id: int, sequence: int) -> bool:
        return await self._submit((event_id, user_id, sequence, timezone.now()))

    async def _run(self, items: list[tuple[int, int, int, datetime]]) -> list[bool]:
        # A repeated join of one fan in one batch is one row.
        unique = list({item[:3]: item for item in items}.values())
        connection = await self._cursor_connection()
        async with connection.cursor() as cursor:
            await cursor.execute(
                self._SQL,
                [
                    [item[0] for item in unique],
                    [item[1] for item in unique],
                    [item[2] for item in unique],
                    [QueueEntry.State.WAITING.value] * len(unique),
                    [item[3] for item in unique],
                ],
            )
            inserted = {tuple(row) for row in await cursor.fetchall()}
        await _confirm_places(inserted)
        return [item[:3] in inserted for item in items]


async def _confirm_places(inserted: set[tuple[int, int, int]]) -> None:
    """The rows exist: their places are no longer the repair job's business."""
    if not inserted:
        return
    by_event: dict[int, list[str]] = {}
    for event_id, user_id, _sequence in inserted:
        by_event.setdefault(event_id, []).append(str(user_id))
    try:
        pipe = (await async_queue_redis()).pipeline(transaction=False)
        for event_id, user_ids in by_event.items():
            pipe.hdel(QueueKeys(event_id).unconfirmed, *user_ids)
        await pipe.execute()
    except Exception:  # the rows are committed: the repair job confirms these places instead
        logger.warning("Could not confirm %s queue places in Redis.", len(inserted), exc_info=True)


@dataclass(frozen=True)
class ActiveUser:
    pk: int
    email_verified: bool


class ActiveUsers(_Batcher):
    """Which user ids exist and are active (and verified their address), many per SELECT."""

    async def lookup(self, user_id: int) -> ActiveUser | None:
        return await self._submit(user_id)

    async def _run(self, items: list[int]) -> list[ActiveUser | None]:
        table = get_user_model()._meta.db_table
        connection = await self._cursor_connection()
        async with connection.cursor() as cursor:
            await cursor.execute(
                f"SELECT id, email_verified_at IS NOT NULL FROM {table} "  # noqa: S608
                "WHERE id = ANY(%s::bigint[]) AND is_active",
                [list(set(items))],
            )
            active = {row[0]: ActiveUser(pk=row[0], email_verified=row[1]) for row in await cursor.fetchall()}
        return [active.get(item) for item in items]


_BATCHERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[type, _Batcher]]
_BATCHERS = weakref.WeakKeyDictionary()


def _batcher(kind: type[_Batcher]) -> Any:
    per_loop = _BATCHERS.setdefault(asyncio.get_running_loop(), {})
    if kind not in per_loop:
        per_loop[kind] = kind()
    return per_loop[kind]


def join_recorder() -> JoinRecorder:
    return _batcher(JoinRecorder)


def active_users() -> ActiveUsers:
    return _batcher(ActiveUsers)


async def close_batchers() -> None:
    """Close this event loop's batch connections (tests, benchmarks, shutdown)."""
    for batcher in _BATCHERS.pop(asyncio.get_running_loop(), {}).values():
        await batcher.close()
