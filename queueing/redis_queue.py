"""The live queue in Redis: key layout and the atomic scripts. No business rules, no database.

Every queue key is read and written through ``queue_redis()`` / ``async_queue_redis()``: the store
named by ``QUEUE_REDIS_URL``, a Redis Cluster when ``QUEUE_REDIS_CLUSTER``. Per event ``E`` (the
``{E}`` hash tag keeps one event's keys on one cluster slot, so the Lua scripts and MULTI blocks may
touch them together; different events spread over the shards):

=====================  ======  ==================================================================
key                    type    content
=====================  ======  ==================================================================
``q:{E}:meta``         hash    ``ready`` (sentinel: structures exist), ``opened`` (lottery ran),
                               ``paused``, ``gen`` (the PostgreSQL generation these structures
                               reflect). Missing after FLUSHALL / a Redis restart → rebuild; a
                               ``gen`` below PostgreSQL's, or ``seq`` below its highest sequence,
                               means an older snapshot came back → rebuild too.
``q:{E}:seq``          string  the sequence counter (``INCR``): the only source of order
``q:{E}:waiting``      zset    member user id, score sequence; position = ``ZRANK`` + 1
``q:{E}:head``         string  the highest sequence admitted so far
``q:{E}:admitted``     zset    member user id, score pass expiry (epoch seconds); written only
                               after the pass is committed in PostgreSQL
``q:{E}:pre``          set     user ids in the pre-queue (before the sale opens)
``q:{E}:pending``      hash    user id → sequence, popped by an admission not yet committed to
                               PostgreSQL; reads, the next admission and the repair job finish it
``q:{E}:unconfirmed``  hash    user id → ``"<sequence>:<epoch>"``: a new place whose PostgreSQL
                               row is not confirmed yet; the repair job drops it if no row appears
``q:{E}:log``          list    ``"<epoch>:<count>"`` per committed admission, newest first
``q:{E}:stats``        hash    ``admitted_total``, ``wait_sum``, ``wait_count``
``q:{E}:pop:<token>``  string  one admission attempt's pop: a retried script call pops nothing
``q:{E}:rebuild``      string  the lock of a rebuild from PostgreSQL
``q:{E}:next:<token>:`` (same)  ``waiting``, ``pre`` and ``admitted`` as one rebuild writes them,
``<name>``                     in chunks (expiring, in case it dies); renamed over the live keys in
                               its last step
=====================  ======  ==================================================================
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django_redis import get_redis_connection
from redis.commands.core import Script
from redis.exceptions import NoScriptError

from core.redis_clients import AsyncClient, SyncClient, async_client_ready, close_async_clients, sync_client

# How many admission log entries are kept: enough for a few minutes at the shortest sane interval.
ADMISSION_LOG_LENGTH = 64

JOIN_NOT_READY = -1
JOIN_NOT_OPENED = -2
JOIN_PENDING = -3
JOIN_WAITING = 1
JOIN_ADMITTED = 2

ADMIT_NOT_READY = -1
ADMIT_ALREADY_POPPED = 0
ADMIT_POPPED = 1


@dataclass(frozen=True)
class QueueKeys:
    event_id: int

    def _key(self, name: str) -> str:
        return f"q:{{{self.event_id}}}:{name}"

    @property
    def meta(self) -> str:
        return self._key("meta")

    @property
    def seq(self) -> str:
        return self._key("seq")

    @property
    def waiting(self) -> str:
        return self._key("waiting")

    @property
    def head(self) -> str:
        return self._key("head")

    @property
    def admitted(self) -> str:
        return self._key("admitted")

    @property
    def pre(self) -> str:
        return self._key("pre")

    @property
    def pending(self) -> str:
        return self._key("pending")

    @property
    def unconfirmed(self) -> str:
        return self._key("unconfirmed")

    @property
    def log(self) -> str:
        return self._key("log")

    @property
    def stats(self) -> str:
        return self._key("stats")

    @property
    def rebuild_lock(self) -> str:
        return self._key("rebuild")

    def pop_token(self, token: str) -> str:
        return self._key(f"pop:{token}")

    def staged(self, token: str) -> StagedKeys:
        """Where the rebuild ``token`` writes: its own keys, so two rebuilds never mix their halves."""
        return StagedKeys(
            waiting=self._key(f"next:{token}:waiting"),
            pre=self._key(f"next:{token}:pre"),
            admitted=self._key(f"next:{token}:admitted"),
        )


@dataclass(frozen=True)
class StagedKeys:
    waiting: str
    pre: str
    admitted: str


def queue_redis_is_separate() -> bool:
    """Whether the queue lives elsewhere than ``REDIS_URL`` (its own address, or a cluster)."""
    return settings.QUEUE_REDIS_CLUSTER or settings.QUEUE_REDIS_URL != settings.REDIS_URL


def queue_redis() -> SyncClient:
    """The queue's Redis: ``QUEUE_REDIS_URL``, a Redis Cluster when ``QUEUE_REDIS_CLUSTER``.

    Every read and write of a queue key goes through here (or ``async_queue_redis``); on the default
    address it is the cache's own connection pool.
    """
    if not queue_redis_is_separate():
        return get_redis_connection("default")
    return sync_client(settings.QUEUE_REDIS_URL, cluster=settings.QUEUE_REDIS_CLUSTER)


async def async_queue_redis() -> AsyncClient:
    """The running event loop's client of the queue's Redis (same store as ``queue_redis``)."""
    return await async_client_ready(settings.QUEUE_REDIS_URL, cluster=settings.QUEUE_REDIS_CLUSTER)


async def close_async_redis_client() -> None:
    """Close the running loop's asyncio clients (tests, benchmarks, shutdown)."""
    await close_async_clients()


# Join if absent. Returns {JOIN_WAITING, sequence, rank, size, existed, log} for a queued fan,
# {JOIN_ADMITTED, expiry, size} for a fan holding an unexpired pass, or a negative code.
# A fan whose pass expired loses it here and joins at the back. A new place is marked unconfirmed
# until its PostgreSQL row is known to exist (the repair job drops it otherwise).
_JOIN_LUA = """
local meta = redis.call('HMGET', KEYS[1], 'ready', 'opened')
if meta[1] ~= '1' then return {-1} end
if meta[2] ~= '1' then return {-2} end
local uid = ARGV[1]
if redis.call('HEXISTS', KEYS[6], uid) == 1 then return {-3} end
local expiry = redis.call('ZSCORE', KEYS[3], uid)
if expiry then
  if tonumber(expiry) > tonumber(ARGV[2]) then
    return {2, expiry, redis.call('ZCARD', KEYS[2])}
  end
  redis.call('ZREM', KEYS[3], uid)
end
local seq = redis.call('ZSCORE', KEYS[2], uid)
local existed = 1
if not seq then
  seq = redis.call('INCR', KEYS[4])
  redis.call('ZADD', KEYS[2], seq, uid)
  redis.call('HSET', KEYS[7], uid, seq .. ':' .. ARGV[2])
  existed = 0
end
return {1, tostring(seq), redis.call('ZRANK', KEYS[2], uid), redis.call('ZCARD', KEYS[2]), existed,
        redis.call('LRANGE', KEYS[5], 0, -1)}
"""

# Undo a join whose PostgreSQL record failed: remove the place only if it is still the one that
# join took (a later join of the same fan keeps its own).
_UNDO_JOIN_LUA = """
local unconfirmed = redis.call('HGET', KEYS[2], ARGV[1])
if unconfirmed and string.match(unconfirmed, '^[^:]*') == ARGV[2] then
  redis.call('HDEL', KEYS[2], ARGV[1])
end
if redis.call('ZSCORE', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0
"""

# Pop the next batch into `pending` (not yet `admitted`: a pass exists only once PostgreSQL has it).
# A process dying before its database commit leaves them in `pending` for reads, the next admission
# or the repair job to finish, never lost. The token makes a retried call (a reply lost to a
# dropped connection) pop nothing more.
_ADMIT_LUA = """
if redis.call('HGET', KEYS[1], 'ready') ~= '1' then return {-1} end
if not redis.call('SET', KEYS[5], '1', 'NX', 'EX', ARGV[2]) then return {0} end
local popped = redis.call('ZPOPMIN', KEYS[2], ARGV[1])
local last = nil
for i = 1, #popped, 2 do
  redis.call('HSET', KEYS[4], popped[i], popped[i + 1])
  last = popped[i + 1]
end
if last and tonumber(last) > tonumber(redis.call('GET', KEYS[3]) or '0') then
  redis.call('SET', KEYS[3], last)
end
return {1, popped}
"""

# Record the PostgreSQL generation a change brought, unless a later one is already recorded.
_SET_GENERATION_LUA = """
if tonumber(ARGV[1]) > tonumber(redis.call('HGET', KEYS[1], 'gen') or '-1') then
  redis.call('HSET', KEYS[1], 'gen', ARGV[1])
end
return 1
"""

# The last step of a rebuild: the structures written in chunks (``next:*``) replace the live ones
# (old values freed in the background); places above the highest sequence read are joins whose row
# is still in flight and keep their place; never move the counter backwards, keep fans whose
# admission is still pending out of the waiting set, and mark the structures ready at the generation.
_REBUILD_FINISH_LUA = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1]) end
local newer = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf', 'WITHSCORES')
for i = 1, #newer, 2 do redis.call('ZADD', KEYS[5], newer[i + 1], newer[i]) end
local live = {KEYS[2], KEYS[6], KEYS[7]}
for i, staged in ipairs({KEYS[5], KEYS[8], KEYS[9]}) do
  redis.call('UNLINK', live[i])
  if redis.call('EXISTS', staged) == 1 then
    redis.call('RENAME', staged, live[i])
    redis.call('PERSIST', live[i])
  end
end
local pending = redis.call('HKEYS', KEYS[3])
for _, uid in ipairs(pending) do
  redis.call('ZREM', KEYS[2], uid)
end
redis.call('HSET', KEYS[4], 'ready', '1', 'opened', ARGV[2], 'paused', ARGV[3], 'gen', ARGV[4])
return #pending
"""


@cache
def _script(source: str) -> Script:
    return queue_redis().register_script(source)


def join_script() -> Script:
    return _script(_JOIN_LUA)


def admit_script() -> Script:
    return _script(_ADMIT_LUA)


def parse_unconfirmed(value: bytes | str) -> tuple[int, float]:
    """``(sequence, epoch)`` of an ``unconfirmed`` hash value."""
    text = value.decode() if isinstance(value, bytes) else value
    sequence, _, epoch = text.partition(":")
    return int(sequence), float(epoch)


def _join_keys(keys: QueueKeys) -> list[str]:
    return [keys.meta, keys.waiting, keys.admitted, keys.seq, keys.log, keys.pending, keys.unconfirmed]


def run_join(keys: QueueKeys, *, user_id: int, now_epoch: float) -> list:
    return join_script()(keys=_join_keys(keys), args=[user_id, now_epoch], client=queue_redis())


# --- asyncio (the API's fast path) ----------------------------------------------------------------


@cache
def _sha(source: str) -> str:
    return hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1


async def _arun_script(source: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
    """EVALSHA on the asyncio client, loading the script once per server (a cluster's every master)."""
    client = await async_queue_redis()
    try:
        return await client.evalsha(_sha(source), len(keys), *keys, *args)
    except NoScriptError:
        await client.script_load(source)
        return await client.evalsha(_sha(source), len(keys), *keys, *args)


def _pipe_script(pipe: Any, source: str, keys: Sequence[str], args: Sequence[Any]) -> None:
    """A script queued on a pipeline, plain or cluster: EVAL, since a cluster pipeline refuses
    EVALSHA (these scripts are small and run once per admission, leave or rebuild)."""
    pipe.execute_command("EVAL", source, len(keys), *keys, *args)


def queue_set_generation(pipe: Any, keys: QueueKeys, *, generation: int) -> None:
    _pipe_script(pipe, _SET_GENERATION_LUA, [keys.meta], [generation])


def queue_rebuild_finish(
    pipe: Any,
    keys: QueueKeys,
    staged: StagedKeys,
    *,
    max_sequence: int,
    opened: bool,
    paused: bool,
    generation: int,
) -> None:
    _pipe_script(
        pipe,
        _REBUILD_FINISH_LUA,
        [
            keys.seq, keys.waiting, keys.pending, keys.meta, staged.waiting,
            keys.pre, keys.admitted, staged.pre, staged.admitted,
        ],
        [max_sequence, "1" if opened else "0", "1" if paused else "0", generation],
    )  # fmt: skip


def run_undo_join(keys: QueueKeys, *, user_id: int, sequence: int) -> None:
    _script(_UNDO_JOIN_LUA)(
        keys=[keys.waiting, keys.unconfirmed], args=[user_id, sequence], client=queue_redis()
    )


async def arun_undo_join(keys: QueueKeys, *, user_id: int, sequence: int) -> None:
    await _arun_script(_UNDO_JOIN_LUA, [keys.waiting, keys.unconfirmed], [user_id, sequence])


def run_set_generation(keys: QueueKeys, *, generation: int) -> None:
    _script(_SET_GENERATION_LUA)(keys=[keys.meta], args=[generation], client=queue_redis())


async def arun_join(keys: QueueKeys, *, user_id: int, now_epoch: float) -> list:
    """``run_join`` on the asyncio client: the same script, one round trip."""
    return await _arun_script(_JOIN_LUA, _join_keys(keys), [user_id, now_epoch])


def run_admit(keys: QueueKeys, *, size: int, token: str, token_seconds: int) -> list:
    """Pop up to ``size`` fans into ``pending`` atomically, once per ``token``.

    Returns ``[ADMIT_POPPED, [uid, seq, uid, seq, ...]]``, ``[ADMIT_ALREADY_POPPED]`` when this token
    already popped (its fans are in ``pending``) or ``[ADMIT_NOT_READY]``.
    """
    return admit_script()(
        keys=[keys.meta, keys.waiting, keys.head, keys.pending, keys.pop_token(token)],
        args=[size, token_seconds],
        client=queue_redis(),
    )


def parse_admission_log(raw: Iterable[bytes | str]) -> list[tuple[float, int]]:
    """``[(epoch, count)]``, newest first."""
    entries = []
    for item in raw:
        text = item.decode() if isinstance(item, bytes) else item
        epoch, _, count = text.partition(":")
        entries.append((float(epoch), int(count)))
    return entries


def as_int(value: bytes | str | int | None, default: int = 0) -> int:
    if value is None:
        return default
    return int(float(value))


def as_float(value: bytes | str | float | None, default: float = 0.0) -> float:
    if value is None:
        return default
    return float(value)


# --- Join challenges (queueing.challenges) ------------------------------------------------------------
# A solution is claimed once (SET NX, living as long as its challenge) and only a claimed one counts
# as a join for the spike rule, so replaying one solution cannot raise everyone's difficulty.
_CLAIM_SOLUTION_LUA = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1
"""


def run_claim_solution(*, used_key: str, ttl: int, joins_key: str, joins_ttl: int) -> bool:
    result = _script(_CLAIM_SOLUTION_LUA)(
        keys=[used_key, joins_key], args=[ttl, joins_ttl], client=queue_redis()
    )
    return bool(result)


async def arun_claim_solution(*, used_key: str, ttl: int, joins_key: str, joins_ttl: int) -> bool:
    return bool(await _arun_script(_CLAIM_SOLUTION_LUA, [used_key, joins_key], [ttl, joins_ttl]))
