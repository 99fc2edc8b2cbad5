"""The live queue in Redis: key layout and the atomic scripts. No business rules, no database.

Every queue key is read and written through ``queue_redis()`` / ``async_queue_redis()``: the store
named by ``QUEUE_REDIS_URL``, a Redis Cluster when ``QUEUE_REDIS_CLUSTER``. Per event ``E`` (the
``{E}`` hash tag keeps one event's keys on one cluster slot, so the Lua scripts and MULTI blocks may
touch them together; different events spread over the shards):

=====================  ======  ==================================================================
key                    type    content
=====================  ======  ==================================================================
``q:{E}:meta``         hash    ``v`` (the live version of the line, and the sentinel: the
                               structures exist), ``opened`` (lottery ran), ``paused``, ``gen``
                               (the PostgreSQL generation these structures reflect). Missing
                               after FLUSHALL / a Redis restart → rebuild; a ``gen`` below
                               PostgreSQL's, or ``seq`` below its highest sequence, means an
                               older snapshot came back → rebuild too. (Before the bucketed line
                               the sentinel was ``ready``: such data reads as absent and is
                               rebuilt, the old ``q:{E}:waiting`` set deleted.)
``q:{E}:seq``          string  the sequence counter (``INCR``): the only source of order
``q:{E}:size``         string  how many fans wait (in the live version of the line)
``q:{E}:w:V:<b>``      zset    the waiting fans whose sequence // 128 is ``b`` (member user id,
                               score sequence), in version ``V`` (``meta.v``) of the line
``q:{E}:u:V:<b>``      hash    the waiting fans whose user id // 128 is ``b``: user id → sequence
``q:{E}:f:V``          string  a Fenwick tree of how many wait in each sequence bucket: position =
                               fans in earlier buckets + ``ZRANK`` in the fan's own, + 1
``q:{E}:um:V``         string  the highest user bucket of version ``V`` (what dropping it deletes;
                               ``wm:V``: the highest sequence bucket a rebuild wrote)
``q:{E}:versions``     zset    versions a rebuild wrote, by epoch: what a dead rebuild left behind
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
``q:{E}:next:<token>:`` (same)  ``pre`` and ``admitted`` as one rebuild writes them (its line is
``<name>``                     version ``<token>``), in chunks (expiring, in case it dies);
                               renamed over the live keys in its last step
=====================  ======  ==================================================================
"""

from __future__ import annotations

import hashlib
import struct
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
    def size(self) -> str:
        return self._key("size")

    @property
    def versions(self) -> str:
        return self._key("versions")

    def line_bucket(self, version: str, bucket: int) -> str:
        return self._key(f"w:{version}:{bucket}")

    def line_users(self, version: str, bucket: int) -> str:
        return self._key(f"u:{version}:{bucket}")

    def line_fenwick(self, version: str) -> str:
        return self._key(f"f:{version}")

    def line_user_max(self, version: str) -> str:
        return self._key(f"um:{version}")

    def line_bucket_max(self, version: str) -> str:
        return self._key(f"wm:{version}")

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
            pre=self._key(f"next:{token}:pre"),
            admitted=self._key(f"next:{token}:admitted"),
        )


@dataclass(frozen=True)
class StagedKeys:
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


# The meta field naming the live version of the line: its presence means the structures exist.
READY = "v"

BUCKET = 128  # fans per bucket of the line: Redis keeps hashes and sorted sets this small as listpacks

# The waiting line, shared by every script that touches it (prepended to its source). Per event and
# version V of the line (``meta.v``; a rebuild writes a new version beside the live one and switches):
#   q:{E}:w:V:<b>  zset    fans whose sequence // BUCKET is b (member user id, score sequence)
#   q:{E}:u:V:<b>  hash    fans whose user id // BUCKET is b (user id → sequence)
#   q:{E}:f:V      string  a Fenwick tree (BITFIELD u32 #i, i = b + 1) of how many wait in bucket b;
#                          (capacity + 1) x 4 bytes long, the capacity a power of two
#   q:{E}:um:V     string  the highest user bucket written (what dropping V deletes; wm:V the
#                          highest sequence bucket a rebuild wrote, before its tree exists)
#   q:{E}:size     string  how many wait in the live version
# Small buckets are listpacks, ~25 B a fan, where one sorted set of millions costs ~120 B (skiplist,
# hash table, an allocation per member). Position = the fans of earlier buckets (a Fenwick prefix
# sum: one BITFIELD of ~17 reads) + ZRANK in the fan's own bucket. KEYS[1] is always the event's
# meta key; the line's keys are named from it, in the same hash slot.
_LINE_LUA = """
local B = 128
local P = string.sub(KEYS[1], 1, -5)
local LIVE = redis.call('HGET', KEYS[1], 'v')  -- false: no structures (rebuild first)
local V = LIVE or '0'
local function wkey(b) return P .. 'w:' .. V .. ':' .. b end
local function ukeyb(ub) return P .. 'u:' .. V .. ':' .. ub end
local function ukey(uid) return ukeyb(math.floor(tonumber(uid) / B)) end
local function umark(ub)  -- the highest user bucket of V: what dropping V deletes
  if ub > tonumber(redis.call('GET', P .. 'um:' .. V) or '-1') then redis.call('SET', P .. 'um:' .. V, ub) end
end
local function fkey() return P .. 'f:' .. V end
local function fcap()
  local n = redis.call('STRLEN', fkey())
  if n == 0 then return 0 end
  return n / 4 - 1
end
local function fget(i) return redis.call('BITFIELD_RO', fkey(), 'GET', 'u32', '#' .. i)[1] end
local function fadd(i, d)
  local c = fcap()
  if c < i then
    if c == 0 then
      c = 1
      redis.call('BITFIELD', fkey(), 'SET', 'u32', '#1', 0)
    end
    while c < i do  -- double: the new root holds the old total, the nodes between stay empty
      local total = fget(c)
      c = c * 2
      redis.call('BITFIELD', fkey(), 'SET', 'u32', '#' .. c, total)
    end
  end
  local ops = {'OVERFLOW', 'SAT'}
  while i <= c do
    ops[#ops + 1] = 'INCRBY'; ops[#ops + 1] = 'u32'; ops[#ops + 1] = '#' .. i; ops[#ops + 1] = d
    i = i + bit.band(i, -i)
  end
  redis.call('BITFIELD', fkey(), unpack(ops))
end
local function fprefix(i)
  local c = fcap()
  if i > c then i = c end
  local ops = {}
  while i > 0 do
    ops[#ops + 1] = 'GET'; ops[#ops + 1] = 'u32'; ops[#ops + 1] = '#' .. i
    i = i - bit.band(i, -i)
  end
  if #ops == 0 then return 0 end
  local sum = 0
  for _, v in ipairs(redis.call('BITFIELD_RO', fkey(), unpack(ops))) do sum = sum + v end
  return sum
end
local function ffirst()  -- the first bucket (1-based) anyone waits in
  local c = fcap()
  if c == 0 or fget(c) == 0 then return nil end
  local pos, rest, step = 0, 1, c
  while step >= 1 do
    local v = fget(pos + step)
    if v < rest then pos = pos + step; rest = rest - v end
    step = step / 2
  end
  return pos + 1
end
local function wseq(uid) return redis.call('HGET', ukey(uid), uid) end
local function wadd(uid, seq)
  local b = math.floor(tonumber(seq) / B)
  redis.call('ZADD', wkey(b), seq, uid)
  redis.call('HSET', ukey(uid), uid, seq)
  fadd(b + 1, 1)
  redis.call('INCR', P .. 'size')
  umark(math.floor(tonumber(uid) / B))
end
local function wrem(uid)
  local seq = wseq(uid)
  if not seq then return false end
  local b = math.floor(tonumber(seq) / B)
  redis.call('ZREM', wkey(b), uid)
  redis.call('HDEL', ukey(uid), uid)
  fadd(b + 1, -1)
  redis.call('DECR', P .. 'size')
  return seq
end
local function wrank(uid, seq)  -- false if the fan's bucket lost them (never in a consistent line)
  local b = math.floor(tonumber(seq) / B)
  local rank = redis.call('ZRANK', wkey(b), uid)
  if not rank then return false end
  return fprefix(b) + rank
end
local function wsize() return tonumber(redis.call('GET', P .. 'size') or '0') end
local function wpop(n)
  local out = {}
  while n > 0 do
    local i = ffirst()
    if not i then break end
    local popped = redis.call('ZPOPMIN', wkey(i - 1), n)
    local k = #popped / 2
    if k == 0 then  -- the tree counts fans this bucket does not hold: set it right, not stall
      fadd(i, -(fprefix(i) - fprefix(i - 1)))
    end
    for j = 1, #popped, 2 do
      redis.call('HDEL', ukey(popped[j]), popped[j])
      out[#out + 1] = popped[j]; out[#out + 1] = popped[j + 1]
    end
    fadd(i, -k)
    redis.call('DECRBY', P .. 'size', k)
    n = n - k
  end
  return out
end
"""

# Join if absent. Returns {JOIN_WAITING, sequence, rank, size, existed, log} for a queued fan,
# {JOIN_ADMITTED, expiry, size} for a fan holding an unexpired pass, or a negative code.
# A fan whose pass expired loses it here and joins at the back. A new place is marked unconfirmed
# until its PostgreSQL row is known to exist (the repair job drops it otherwise).
_JOIN_LUA = (
    _LINE_LUA
    + """
if not LIVE then return {-1} end
if redis.call('HGET', KEYS[1], 'opened') ~= '1' then return {-2} end
local uid = ARGV[1]
if redis.call('HEXISTS', KEYS[6], uid) == 1 then return {-3} end
local expiry = redis.call('ZSCORE', KEYS[3], uid)
if expiry then
  if tonumber(expiry) > tonumber(ARGV[2]) then
    return {2, expiry, wsize()}
  end
  redis.call('ZREM', KEYS[3], uid)
end
local seq = wseq(uid)
local existed = 1
if not seq then
  seq = redis.call('INCR', KEYS[4])
  wadd(uid, seq)
  redis.call('HSET', KEYS[7], uid, seq .. ':' .. ARGV[2])
  existed = 0
end
return {1, tostring(seq), wrank(uid, seq), wsize(), existed, redis.call('LRANGE', KEYS[5], 0, -1)}
"""
)

# Undo a join whose PostgreSQL record failed: remove the place only if it is still the one that
# join took (a later join of the same fan keeps its own).
_UNDO_JOIN_LUA = (
    _LINE_LUA
    + """
local unconfirmed = redis.call('HGET', KEYS[2], ARGV[1])
if unconfirmed and string.match(unconfirmed, '^[^:]*') == ARGV[2] then
  redis.call('HDEL', KEYS[2], ARGV[1])
end
if wseq(ARGV[1]) == ARGV[2] then
  wrem(ARGV[1])
  return 1
end
return 0
"""
)

# Pop the next batch into `pending` (not yet `admitted`: a pass exists only once PostgreSQL has it).
# A process dying before its database commit leaves them in `pending` for reads, the next admission
# or the repair job to finish, never lost. The token makes a retried call (a reply lost to a
# dropped connection) pop nothing more.
_ADMIT_LUA = (
    _LINE_LUA
    + """
if not LIVE then return {-1} end
if not redis.call('SET', KEYS[5], '1', 'NX', 'EX', ARGV[2]) then return {0} end
local popped = wpop(tonumber(ARGV[1]))
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
)

# One fan's place, every read in one call: {version (false: no structures), pass expiry, sequence,
# rank, size, in pre-queue, pre-queue size, admission log, pending, paused} (false for what is missing).
_STATUS_LUA = (
    _LINE_LUA
    + """
local uid = ARGV[1]
local seq = wseq(uid)
local rank = false
if seq then rank = wrank(uid, seq) end
if not rank then seq = false end
return {LIVE, redis.call('ZSCORE', KEYS[2], uid), seq, rank, wsize(),
        redis.call('SISMEMBER', KEYS[3], uid), redis.call('SCARD', KEYS[3]),
        redis.call('LRANGE', KEYS[4], 0, -1), redis.call('HEXISTS', KEYS[5], uid),
        redis.call('HGET', KEYS[1], 'paused')}
"""
)

# Put fans in the line at the given sequences (ARGV: user id, sequence, ...), moving any already in it.
# Written a bucket at a time (one ZADD, HSET and tree update per bucket, not per fan): the lottery
# places a whole pre-queue with it.
_LINE_SET_LUA = (
    _LINE_LUA
    + """
local by_sequence, by_user, counts = {}, {}, {}
for i = 1, #ARGV, 2 do
  local uid, seq = ARGV[i], ARGV[i + 1]
  wrem(uid)
  local b = math.floor(tonumber(seq) / B)
  local ub = math.floor(tonumber(uid) / B)
  if not by_sequence[b] then by_sequence[b] = {}; counts[b] = 0 end
  if not by_user[ub] then by_user[ub] = {} end
  local zs, us = by_sequence[b], by_user[ub]
  zs[#zs + 1] = seq; zs[#zs + 1] = uid
  us[#us + 1] = uid; us[#us + 1] = seq
  counts[b] = counts[b] + 1
end
for b, args in pairs(by_sequence) do
  redis.call('ZADD', wkey(b), unpack(args))
  fadd(b + 1, counts[b])
end
local top = -1
for ub, args in pairs(by_user) do
  redis.call('HSET', ukeyb(ub), unpack(args))
  if ub > top then top = ub end
end
umark(top)
redis.call('INCRBY', P .. 'size', #ARGV / 2)
return #ARGV / 2
"""
)

# Take fans out of the line (ARGV: user ids); returns how many were in it.
_LINE_REMOVE_LUA = (
    _LINE_LUA
    + """
local removed = 0
for _, uid in ipairs(ARGV) do
  if wrem(uid) then removed = removed + 1 end
end
return removed
"""
)

# A rebuild's bulk write of one bucket of its own version (no line functions: nothing live is read).
# ARGV: version, 'w' (a sequence bucket) or 'u' (a user bucket), bucket, "user sequence user sequence …".
_LINE_LOAD_LUA = """
local P = string.sub(KEYS[1], 1, -5)
local key = P .. ARGV[2] .. ':' .. ARGV[1] .. ':' .. ARGV[3]
local args = {}
if ARGV[2] == 'w' then
  for uid, seq in string.gmatch(ARGV[4], '(%d+) (%d+)') do args[#args + 1] = seq; args[#args + 1] = uid end
  redis.call('ZADD', key, unpack(args))
else
  for uid, seq in string.gmatch(ARGV[4], '(%d+) (%d+)') do args[#args + 1] = uid; args[#args + 1] = seq end
  redis.call('HSET', key, unpack(args))
end
-- The highest bucket written, before the tree exists: what dropping a version that died half way deletes.
local mark = P .. ARGV[2] .. 'm:' .. ARGV[1]
if tonumber(ARGV[3]) > tonumber(redis.call('GET', mark) or '-1') then redis.call('SET', mark, ARGV[3]) end
return #args / 2
"""

# Record the PostgreSQL generation a change brought, unless a later one is already recorded.
_SET_GENERATION_LUA = """
if tonumber(ARGV[1]) > tonumber(redis.call('HGET', KEYS[1], 'gen') or '-1') then
  redis.call('HSET', KEYS[1], 'gen', ARGV[1])
end
return 1
"""

# The last step of a rebuild: its version of the line becomes the live one (ARGV[5], holding ARGV[6]
# fans) and the pre-queue and passes written in chunks (``next:*``) replace the live ones. Kept from
# the live line: places above the highest sequence read (joins whose row is in flight); added: the
# late joins read last from PostgreSQL (ARGV[8], ...: user id, sequence), in case their row committed
# while the line was written. (Not kept: other unconfirmed places of the live line, which may be a
# stale snapshot's and hold sequences PostgreSQL gave others.) Never move the counter
# backwards, keep fans whose admission is still pending out of the line, and stamp the generation.
# Returns {pending fans, the version replaced (false if this one already is live: a retried call)}.
_REBUILD_FINISH_LUA = (
    _LINE_LUA
    + """
if V == ARGV[5] then return {0, false} end
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
local highest = tonumber(ARGV[1])
if highest > current then redis.call('SET', KEYS[2], ARGV[1]) end
local kept = {}
for b = math.floor(highest / B), fcap() - 1 do
  local found = redis.call('ZRANGEBYSCORE', wkey(b), '(' .. ARGV[1], '+inf', 'WITHSCORES')
  for i = 1, #found do kept[#kept + 1] = found[i] end
end
local replaced = V
V = ARGV[5]
redis.call('SET', KEYS[4], ARGV[6])
for i = 1, #kept, 2 do
  if not wseq(kept[i]) then wadd(kept[i], kept[i + 1]) end
end
for i = 8, #ARGV, 2 do
  if not wseq(ARGV[i]) then wadd(ARGV[i], ARGV[i + 1]) end
end
local live = {KEYS[5], KEYS[6]}
for i, staged in ipairs({KEYS[7], KEYS[8]}) do
  redis.call('UNLINK', live[i])
  if redis.call('EXISTS', staged) == 1 then
    redis.call('RENAME', staged, live[i])
    redis.call('PERSIST', live[i])
  end
end
local pending = redis.call('HKEYS', KEYS[3])
for _, uid in ipairs(pending) do wrem(uid) end
redis.call('HSET', KEYS[1], 'v', V, 'opened', ARGV[2], 'paused', ARGV[3], 'gen', ARGV[4])
redis.call('HDEL', KEYS[1], 'ready')
redis.call('UNLINK', P .. 'waiting')  -- the one sorted set of the layout before the bucketed line
redis.call('ZADD', KEYS[9], ARGV[7], replaced)
return {#pending, replaced}
"""
)


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
    return [keys.meta, keys.size, keys.admitted, keys.seq, keys.log, keys.pending, keys.unconfirmed]


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
    version: str,
    waiting: int,
    max_sequence: int,
    opened: bool,
    paused: bool,
    generation: int,
    now_epoch: float,
    late_joins: dict[int, int],
) -> None:
    """Queue the rebuild's last step; its reply is ``[pending fans, the version replaced]`` (None
    when this version already was live: the call ran twice)."""
    _pipe_script(
        pipe,
        _REBUILD_FINISH_LUA,
        [
            keys.meta, keys.seq, keys.pending, keys.size,
            keys.pre, keys.admitted, staged.pre, staged.admitted, keys.versions,
        ],
        [
            max_sequence, "1" if opened else "0", "1" if paused else "0", generation,
            version, waiting, now_epoch, *_flat(late_joins),
        ],
    )  # fmt: skip


def run_undo_join(keys: QueueKeys, *, user_id: int, sequence: int) -> None:
    _script(_UNDO_JOIN_LUA)(
        keys=[keys.meta, keys.unconfirmed], args=[user_id, sequence], client=queue_redis()
    )


async def arun_undo_join(keys: QueueKeys, *, user_id: int, sequence: int) -> None:
    await _arun_script(_UNDO_JOIN_LUA, [keys.meta, keys.unconfirmed], [user_id, sequence])


# --- The line outside the join and the admission ---------------------------------------------------


def _status_keys(keys: QueueKeys) -> list[str]:
    return [keys.meta, keys.admitted, keys.pre, keys.log, keys.pending]


def run_status_reads(keys: QueueKeys, *, user_id: int) -> list:
    """Every read of one fan's place in one call: ``[version, pass expiry, sequence, rank, size,
    in pre-queue, pre-queue size, admission log, pending, paused]`` (None for what is missing)."""
    return _script(_STATUS_LUA)(keys=_status_keys(keys), args=[user_id], client=queue_redis())


async def arun_status_reads(keys: QueueKeys, *, user_id: int) -> list:
    return await _arun_script(_STATUS_LUA, _status_keys(keys), [user_id])


def run_line_set(keys: QueueKeys, places: dict[int, int]) -> None:
    """Put fans (user id → sequence) in the line at once, moving any already in it."""
    _script(_LINE_SET_LUA)(keys=[keys.meta], args=_flat(places), client=queue_redis())


def pipe_line_set(pipe: Any, keys: QueueKeys, places: dict[int, int]) -> None:
    _pipe_script(pipe, _LINE_SET_LUA, [keys.meta], _flat(places))


def run_line_remove(keys: QueueKeys, user_id: int) -> None:
    _script(_LINE_REMOVE_LUA)(keys=[keys.meta], args=[user_id], client=queue_redis())


def pipe_line_remove(pipe: Any, keys: QueueKeys, user_id: int) -> None:
    _pipe_script(pipe, _LINE_REMOVE_LUA, [keys.meta], [user_id])


def _flat(places: dict[int, int]) -> list[int]:
    return [value for user_id, sequence in places.items() for value in (user_id, sequence)]


def pipe_line_load(pipe: Any, keys: QueueKeys, *, version: str, kind: str, bucket: int, pairs: str) -> None:
    """A rebuild's write of one bucket of its own version: ``kind`` ``w`` (fans of a sequence bucket)
    or ``u`` (of a user bucket), ``pairs`` "user sequence user sequence …" (one argument, parsed by
    Redis: a 10,000,000-fan rebuild would otherwise spend most of its time packing 40M arguments)."""
    _pipe_script(pipe, _LINE_LOAD_LUA, [keys.meta], [version, kind, bucket, pairs])


def fenwick_bytes(counts: dict[int, int]) -> bytes:
    """The line's Fenwick tree (``q:{E}:f:V``) over the fans per sequence bucket ``counts``."""
    capacity = 1
    while capacity < max(counts, default=0) + 1:
        capacity *= 2
    tree = [0] * (capacity + 1)
    for bucket, count in counts.items():
        tree[bucket + 1] = count
    for index in range(1, capacity + 1):  # each node passes its sum to its parent: O(n)
        parent = index + (index & -index)
        if parent <= capacity:
            tree[parent] += tree[index]
    return struct.pack(f">{capacity + 1}I", *tree)


def line_version(keys: QueueKeys, client: SyncClient | None = None) -> str:
    version = (client or queue_redis()).hget(keys.meta, READY)
    return as_text(version) if version is not None else "0"


def _sequence_buckets(client: SyncClient, keys: QueueKeys, version: str) -> int:
    """How many sequence buckets version ``version`` of the line may have: its tree's capacity, or
    past the highest a rebuild wrote before the tree (one that died)."""
    return max(
        client.strlen(keys.line_fenwick(version)) // 4 - 1,
        int(client.get(keys.line_bucket_max(version)) or -1) + 1,
    )


def line_version_keys(keys: QueueKeys, version: str, client: SyncClient | None = None) -> list[str]:
    """Every key that version ``version`` of the line may have written (some may not exist)."""
    client = client or queue_redis()
    buckets = _sequence_buckets(client, keys, version)
    user_buckets = int(client.get(keys.line_user_max(version)) or -1) + 1
    names = [keys.line_bucket(version, bucket) for bucket in range(buckets)]
    names += [keys.line_users(version, bucket) for bucket in range(user_buckets)]
    return [*names, keys.line_fenwick(version), keys.line_user_max(version), keys.line_bucket_max(version)]


def drop_line_version(keys: QueueKeys, version: str) -> None:
    """Delete one version of the line (replaced by a rebuild, or left by one that died)."""
    client = queue_redis()
    names = line_version_keys(keys, version, client)
    for start in range(0, len(names), 1000):
        client.unlink(*names[start : start + 1000])
    client.zrem(keys.versions, version)


def waiting_places(keys: QueueKeys, client: SyncClient | None = None) -> list[tuple[int, int]]:
    """Every fan in the line as ``(user id, sequence)``, in order (tests, benchmarks, fault checks)."""
    client = client or queue_redis()
    version = line_version(keys, client)
    places = []
    for bucket in range(_sequence_buckets(client, keys, version)):
        bucket_places: list[Any] = client.zrange(keys.line_bucket(version, bucket), 0, -1, withscores=True)
        places += [(int(member), int(score)) for member, score in bucket_places]
    return places


def waiting_sequence(keys: QueueKeys, user_id: int) -> int | None:
    """The fan's sequence in the line, or None."""
    version = line_version(keys)
    sequence = queue_redis().hget(keys.line_users(version, user_id // BUCKET), str(user_id))
    return None if sequence is None else int(sequence)


def waiting_count(keys: QueueKeys) -> int:
    return as_int(queue_redis().get(keys.size))


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
        keys=[keys.meta, keys.size, keys.head, keys.pending, keys.pop_token(token)],
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


def as_text(value: Any) -> str:
    """A Redis reply's text (bytes from the clients here; str from a decoding client)."""
    return value.decode() if isinstance(value, bytes) else str(value)


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
