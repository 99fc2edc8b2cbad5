"""Rate limits in Redis: atomic, one round trip per request, for sync views and async code alike.

Every API throttle (DRF views through ``core.throttles``, the queue's fast path in
``queueing.fast_api``) counts here, with the `limits` library's *sliding window counter*: two
counters per key updated by one Lua script, so concurrent requests never exceed a limit and a check
costs the same at 5 or 5,000 requests per window (DRF's own throttle kept every timestamp, read and
rewrote the whole list, and was not atomic). All the limits of one request go in one pipelined round
trip; a refusal costs one more, for its retry time.

``client_address`` is the one rule for "who is calling" by address: the socket address, or the
address ``NUM_PROXIES`` trusted proxies put in ``X-Forwarded-For``.

Pages use ``ratelimit``, django-ratelimit's decorator counted the same way (the end of this module).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import math
import re
import time
import weakref
from dataclasses import dataclass

import redis
import redis.asyncio
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django_ratelimit import ALL
from django_ratelimit.exceptions import Ratelimited
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import RedisStorage as AsyncRedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter as AsyncSlidingWindowCounter
from limits.storage import RedisStorage
from limits.strategies import SlidingWindowCounterRateLimiter

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])[a-z]*\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
KEY_PREFIX = "turnstile:ratelimit"


def parse_rate(rate: str) -> tuple[int, int]:
    """(requests, seconds) of a rate like "60/min"; periods may carry a multiplier: "5/5min"."""
    match = _RATE.match(rate)
    if match is None:
        raise ImproperlyConfigured(f"Invalid throttle rate {rate!r}; use e.g. '60/min' or '5/5min'.")
    count, multiplier, unit = match.groups()
    return int(count), int(multiplier or 1) * _UNIT_SECONDS[unit]


@functools.lru_cache(maxsize=256)
def _item(scope: str, rate: str) -> RateLimitItem:
    count, seconds = parse_rate(rate)
    return RateLimitItemPerSecond(count, seconds, namespace=scope)


@dataclass(frozen=True)
class Limit:
    """``rate`` for one caller (``who``: a fan's id or an address) in ``scope``."""

    scope: str
    rate: str
    who: str

    @property
    def item(self) -> RateLimitItem:
        return _item(self.scope, self.rate)


def client_address(remote_addr: str | None, forwarded_for: str | None) -> str:
    """The caller's address: the socket's, or the one ``NUM_PROXIES`` trusted proxies report."""
    num_proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0
    if num_proxies and forwarded_for:
        addresses = [part.strip() for part in forwarded_for.split(",")]
        reported = addresses[-min(num_proxies, len(addresses))]
        if _is_ip(reported):  # a garbled header must not become everybody's shared address
            return reported
    return remote_addr or ""


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def client_address_of_scope(scope) -> str:
    """``client_address`` of an ASGI scope (the queue's fast path, WebSocket connections)."""
    # Each proxy may add its own X-Forwarded-For line (HAProxy does): one list, in order, as Django's
    # request.META joins them, so both edges count the same address.
    lines = [
        value.decode("latin-1") for name, value in scope.get("headers", []) if name == b"x-forwarded-for"
    ]
    client = scope.get("client")
    return client_address(str(client[0]) if client else None, ",".join(lines) or None) or "unknown"


def client_address_of_request(request) -> str:
    """``client_address`` of a Django request (also django-ratelimit's ``RATELIMIT_IP_META_KEY``)."""
    return client_address(request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR"))


# --- Storage: one sync client per process, one async client per event loop -------------------------

_sync_limiter: SlidingWindowCounterRateLimiter | None = None
_async_limiters: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, tuple[AsyncSlidingWindowCounter, redis.asyncio.BlockingConnectionPool]
] = weakref.WeakKeyDictionary()


# Blocking pools: a burst of concurrent requests waits a moment for a connection instead of failing.
_POOL_SIZE = 64
_POOL_TIMEOUT_SECONDS = 5


def _limiter() -> SlidingWindowCounterRateLimiter:
    global _sync_limiter
    if _sync_limiter is None:
        pool = redis.BlockingConnectionPool.from_url(
            settings.REDIS_URL, max_connections=_POOL_SIZE, timeout=_POOL_TIMEOUT_SECONDS
        )
        storage = RedisStorage(settings.REDIS_URL, connection_pool=pool, key_prefix=KEY_PREFIX)
        _sync_limiter = SlidingWindowCounterRateLimiter(storage)
    return _sync_limiter


def _async_limiter() -> AsyncSlidingWindowCounter:
    loop = asyncio.get_running_loop()
    entry = _async_limiters.get(loop)
    if entry is None:
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            settings.REDIS_URL, max_connections=_POOL_SIZE, timeout=_POOL_TIMEOUT_SECONDS
        )
        storage = AsyncRedisStorage(
            f"async+{settings.REDIS_URL}",
            implementation="redispy",
            key_prefix=KEY_PREFIX,
            connection_pool=pool,
        )
        entry = _async_limiters[loop] = (AsyncSlidingWindowCounter(storage), pool)
    return entry[0]


async def aclose() -> None:
    """Close this event loop's connections (tests and tools that run a loop per call)."""
    entry = _async_limiters.pop(asyncio.get_running_loop(), None)
    if entry is not None:
        await entry[1].disconnect()


def _retry_after(reset_time: float) -> int:
    return max(1, math.ceil(reset_time - time.time()))


# --- Checks ---------------------------------------------------------------------------------------
#
# Every limit of a request is counted in one round trip: the library's own sliding-window script
# (``acquire_sliding_window_entry``: the same keys, arguments and Lua) once per limit, pipelined.
# ``test_ratelimit`` checks that the library's own reading of a window sees these counts, so an
# upgrade of `limits` that changes its keys or script fails there, not in production.


def _acquire_calls(storage, window_storage, limits: list[Limit]) -> list[tuple[str, str, int, int]]:
    """(previous key, current key, limit, expiry) per limit, as the library's limiter passes them."""
    calls = []
    for limit in limits:
        item = limit.item
        key = item.key_for(limit.who)
        calls.append(
            (
                storage.prefixed_key(window_storage._previous_window_key(key)),
                storage.prefixed_key(window_storage._current_window_key(key)),
                item.amount,
                item.get_expiry(),
            )
        )
    return calls


def _acquiring_pipeline(client, sha: str, calls: list[tuple[str, str, int, int]]):
    """A pipeline (sync or asyncio, as ``client``) with the acquire script once per limit, cost 1."""
    pipe = client.pipeline(transaction=False)
    for previous_key, current_key, amount, expiry in calls:
        pipe.evalsha(sha, 2, previous_key, current_key, amount, expiry, 1)
    return pipe


def _longest_wait(refused_resets: list[float]) -> int | None:
    return max(_retry_after(reset) for reset in refused_resets) if refused_resets else None


def hit(limits: list[Limit]) -> int | None:
    """Count one request against every limit: ``None`` if all allow it, else the longest wait in
    seconds (DRF's behaviour with several throttles). One round trip; a refusal costs one more per
    refusing limit, for its retry time."""
    if not limits:
        return None
    limiter = _limiter()
    storage = limiter.storage
    script = storage.lua_acquire_sliding_window
    calls = _acquire_calls(storage, storage, limits)
    client = storage.get_connection()
    for attempt in range(2):
        try:
            acquired = _acquiring_pipeline(client, script.sha, calls).execute()
            break
        except redis.exceptions.NoScriptError:  # Redis restarted: its scripts are gone, nothing counted
            if attempt:
                raise
            script.sha = client.script_load(script.script)
    resets = [
        limiter.get_window_stats(limit.item, limit.who).reset_time
        for limit, allowed in zip(limits, acquired, strict=True)
        if not allowed
    ]
    return _longest_wait(resets)


async def ahit(limits: list[Limit]) -> int | None:
    """``hit`` for async callers, without a thread."""
    if not limits:
        return None
    limiter = _async_limiter()
    storage = limiter.storage
    bridge = storage.bridge
    script = bridge.lua_acquire_sliding_window
    calls = _acquire_calls(bridge, storage, limits)
    client = bridge.get_connection()
    for attempt in range(2):
        try:
            acquired = await _acquiring_pipeline(client, script.sha, calls).execute()
            break
        except redis.exceptions.NoScriptError:
            if attempt:
                raise
            script.sha = await client.script_load(script.script)
    resets = [
        (await limiter.get_window_stats(limit.item, limit.who)).reset_time
        for limit, allowed in zip(limits, acquired, strict=True)
        if not allowed
    ]
    return _longest_wait(resets)


# --- Pages: django-ratelimit's decorator, counted here -------------------------------------------
#
# django-ratelimit's own decorator counts with two cache round trips (``add``, then ``incr``) in
# fixed windows. Pages use the same arguments, its ``Ratelimited`` exception and its middleware's
# ``RATELIMIT_VIEW`` (the 429 page), but count with ``hit``: one round trip, the API's sliding window.


class PageRateLimited(Ratelimited):
    """django-ratelimit's refusal, knowing how long to wait (the 429's ``Retry-After``)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


def _page_caller(key, group: str, request) -> str | None:
    if callable(key):
        return key(group, request)
    if key == "user":
        return str(request.user.pk)
    if key == "ip":
        return client_address_of_request(request)
    if key == "user_or_ip":
        return str(request.user.pk) if request.user.is_authenticated else client_address_of_request(request)
    raise ImproperlyConfigured(
        f"Unknown rate limit key {key!r}: use 'user', 'ip', 'user_or_ip' or a callable."
    )


def _methods(method) -> frozenset[str] | None:
    if method is ALL or method is None:
        return None
    return frozenset(m.upper() for m in ([method] if isinstance(method, str) else method))


def ratelimit(*, group: str | None = None, key, rate, method=ALL):
    """``django_ratelimit.decorators.ratelimit(..., block=True)``, one Redis round trip per request.

    ``rate``: "60/min" or ``rate(group, request)`` (``None``: no limit); ``key``: "user", "ip",
    "user_or_ip" or ``key(group, request)``; ``group`` defaults to the view's dotted name.
    """
    methods = _methods(method)

    def decorator(view):
        scope = group or f"{view.__module__}.{view.__qualname__}"

        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if settings.RATELIMIT_ENABLE and (methods is None or request.method in methods):
                current_rate = rate(scope, request) if callable(rate) else rate
                if current_rate:
                    wait = hit(
                        [
                            Limit(
                                scope=f"page:{scope}",
                                rate=current_rate,
                                who=_page_caller(key, scope, request),
                            )
                        ]
                    )
                    if wait is not None:
                        request.limited = True
                        raise PageRateLimited(wait)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
