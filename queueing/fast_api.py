"""The queue API's two hot endpoints as a lean ASGI path in front of Django.

``POST /api/queue/join`` and ``GET /api/queue/position/<event_id>`` (with or without the trailing
slash) are what a crowd of mobile clients hammers at an on-sale. Through Django + DRF each request
costs a thread hop, the whole middleware stack and a database connection; here it costs a JWT check,
one Redis round trip and a share of a batched database round trip (``queueing.batching``):

- the caller is authenticated exactly as DRF's ``JWTAuthentication`` does (the same token classes,
  then "the user exists and is active", batched across concurrent requests);
- the event comes from a small per-process cache (``QUEUE_FAST_PATH_EVENT_SECONDS``, 1 s by default),
  so a staff edit of an event reaches the fast path within that time;
- answers are the DRF views' (``queueing.api``) to the byte: the same ``status_body``, status codes and
  ``{"error": {...}}`` envelope; the throttles are the same classes when ``QUEUE_THROTTLE_ENABLE`` is on;
- a join goes through the same steps as ``QueueJoinApi``: a fan already in line gets the place back,
  then ``accounts.services.email_verified_require`` (the verified flag comes with the batched user
  check), the throttles, and ``queueing.challenges.achallenge_redeem`` — the one challenge check, on
  the asyncio Redis client (one round trip).

Anything else — another method or path, no ``Bearer`` token, a token or body that does not validate,
a host outside ``ALLOWED_HOSTS`` — goes to Django unchanged, so every error case keeps its one
implementation there. ``QUEUE_FAST_PATH = False`` sends everything to Django.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.http.request import split_domain_port, validate_host
from django.utils.translation import gettext as _
from rest_framework import exceptions as drf_exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from accounts.services import email_verified_require
from core import ratelimit
from core.exceptions import (
    ApplicationError,
    api_exception_handler,
    error_body,
    retry_after_headers,
    store_outage,
)
from core.metrics import observe_http
from core.parsers import parse_json
from events.models import Event
from queueing.api import status_body
from queueing.batching import active_users
from queueing.challenges import achallenge_redeem
from queueing.exceptions import EventNotFound, NotInQueue
from queueing.selectors import aqueue_place_to_return, aqueue_status, queue_event_get
from queueing.services import aqueue_join
from queueing.throttles import queue_limits

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_JOIN_PATH = re.compile(r"^/api/queue/join/?$")
_POSITION_PATH = re.compile(r"^/api/queue/position/([0-9]{1,18})/?$")
# The request headers this path itself looks at.
_HEADERS_READ = frozenset({b"host", b"authorization", b"content-type", b"content-length"})
_MAX_BODY = 8192  # a join with its challenge solution is about 1 kB
_VERIFIED = datetime.fromtimestamp(0, tz=UTC)  # any time will do: the fast path never shows it
_JOIN_ROUTE = "api/queue/join"
_POSITION_ROUTE = "api/queue/position/<id:event_id>"
# What Django's SecurityMiddleware / XFrameOptionsMiddleware and DRF add to these responses.
_HEADERS = [
    (b"content-type", b"application/json"),
    (b"vary", b"Accept"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class _PassToDjango(Exception):
    """This request is not for the fast path: Django answers it."""


class _ClientGone(Exception):
    """The client disconnected before its request body arrived: nobody to answer."""


class _EventCache:
    """Events by id for a short time (and unknown ids too), loaded once per id however many ask."""

    max_entries = 10_000

    def __init__(self) -> None:
        self._entries: dict[int, tuple[float, Event | None]] = {}
        self._loading: dict[tuple[asyncio.AbstractEventLoop, int], asyncio.Future] = {}

    async def get(self, event_id: int) -> Event:
        entry = self._entries.get(event_id)
        if entry is None or entry[0] < time.monotonic():
            entry = await self._load(event_id)
        if entry[1] is None:
            raise EventNotFound()
        return entry[1]

    async def _load(self, event_id: int) -> tuple[float, Event | None]:
        key = (asyncio.get_running_loop(), event_id)  # a future belongs to one event loop
        loading = self._loading.get(key)
        if loading is not None:
            return await asyncio.shield(loading)
        future = key[0].create_future()
        self._loading[key] = future
        try:
            event = await database_sync_to_async(_event_or_none)(event_id)
            entry = (time.monotonic() + settings.QUEUE_FAST_PATH_EVENT_SECONDS, event)
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[event_id] = entry
            future.set_result(entry)
            return entry
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # the waiters get it; nobody else needs to retrieve it
            raise
        finally:
            del self._loading[key]


def _event_or_none(event_id: int) -> Event | None:
    try:
        return queue_event_get(event_id=event_id)
    except EventNotFound:
        return None


class QueueFastPath:
    """ASGI middleware: answers the hot queue endpoints itself, passes everything else to ``app``."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app
        self.events = _EventCache()
        self.authentication = JWTAuthentication()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not settings.QUEUE_FAST_PATH:
            return await self.app(scope, receive, send)
        path, method = scope["path"], scope["method"]
        position = _POSITION_PATH.match(path) if method == "GET" else None
        if position is None and not (method == "POST" and _JOIN_PATH.match(path)):
            return await self.app(scope, receive, send)

        body: bytes | None = None  # None: not read, Django reads it itself
        started = time.perf_counter()
        try:
            headers = self._headers(scope)
            if position is None:
                body = await self._read_body(headers, receive)
                status, payload, extra_headers = await self._join(scope, headers, body)
            else:
                status, payload, extra_headers = await self._position(scope, headers, int(position[1]))
        except _PassToDjango:
            return await self.app(scope, receive if body is None else _replay(body, receive), send)
        except _ClientGone:
            return None
        except ApplicationError as exc:
            status, payload, extra_headers = _error_answer(exc)
        except Exception as exc:
            outage = store_outage(exc)  # Redis or PostgreSQL unreachable: 503 and when to retry
            if outage is not None:
                status, payload, extra_headers = _error_answer(outage)
            else:  # what Django's handler500 (core.views.server_error) answers an API client
                logger.exception("Queue fast path failed on %s %s", method, path)
                message = _("Something went wrong on our side. Please try again in a moment.")
                status, payload, extra_headers = 500, error_body("SERVER_ERROR", message), []
        await _respond(send, status, payload, extra_headers)
        # The same HTTP metrics as Django's requests (core.metrics), under the DRF views' routes.
        route = _JOIN_ROUTE if position is None else _POSITION_ROUTE
        observe_http(method, route, status, time.perf_counter() - started)
        return None

    # --- Request parsing -----------------------------------------------------------------------

    @staticmethod
    def _headers(scope: Scope) -> dict[bytes, bytes]:
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            # A repeated header this path reads: leave the subtleties to Django. Others may repeat:
            # each proxy in front may add its own X-Forwarded-For line (HAProxy does), and
            # ``client_address_of_scope`` joins them as Django does.
            if name in headers and name in _HEADERS_READ:
                raise _PassToDjango
            headers[name] = value
        host = headers.get(b"host", b"").decode("latin-1")
        domain, _port = split_domain_port(host)
        if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
            raise _PassToDjango
        return headers

    @staticmethod
    async def _read_body(headers: dict[bytes, bytes], receive: Receive) -> bytes:
        length = headers.get(b"content-length")
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if content_type != b"application/json" or length is None or not length.isdigit():
            raise _PassToDjango
        if int(length) > _MAX_BODY:
            raise _PassToDjango
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise _ClientGone
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                return b"".join(chunks)

    async def _user(self, headers: dict[bytes, bytes]) -> AbstractBaseUser:
        """What ``JWTAuthentication`` accepts; anything it would refuse or skip goes to Django."""
        parts = headers.get(b"authorization", b"").split()
        if len(parts) != 2 or parts[0].decode("latin-1") not in jwt_settings.AUTH_HEADER_TYPES:
            raise _PassToDjango
        try:
            token = self.authentication.get_validated_token(parts[1])
            user_id = int(token[jwt_settings.USER_ID_CLAIM])
        except (InvalidToken, TokenError, KeyError, TypeError, ValueError) as exc:
            raise _PassToDjango from exc
        if jwt_settings.USER_ID_FIELD != "id" or jwt_settings.CHECK_REVOKE_TOKEN:
            raise _PassToDjango  # settings this path does not implement
        active = await active_users().lookup(user_id)
        if active is None:
            raise _PassToDjango
        user = get_user_model()(pk=user_id)  # checked above; the services only need the key
        if active.email_verified:
            user.email_verified_at = _VERIFIED  # what email_verified_require reads
        return user

    # --- Endpoints (the logic of queueing.api.QueueJoinApi / QueuePositionApi) ------------------

    async def _join(self, scope: Scope, headers: dict[bytes, bytes], body: bytes):
        try:
            data = parse_json(body)
        except ValueError as exc:  # Django's parser (the same function) answers it in the envelope
            raise _PassToDjango from exc
        event_id = data.get("eventId") if isinstance(data, dict) else None
        if type(event_id) is not int or event_id < 1:
            raise _PassToDjango  # DRF's validation answers 400 (or accepts "5" as 5)
        solution = data.get("altcha")
        if solution is not None and not isinstance(solution, str):
            raise _PassToDjango  # DRF's validation answers 400
        user = await self._user(headers)
        event = await self.events.get(event_id)
        # A fan already in line gets the place back: no limits counted, no challenge asked.
        if settings.QUEUE_THROTTLE_ENABLE or event.queue_challenge_difficulty > 0:
            current = await aqueue_place_to_return(user=user, event=event)
            if current is not None:
                return 200, status_body(current), []
        email_verified_require(user=user)  # type: ignore[arg-type]
        if settings.QUEUE_THROTTLE_ENABLE:
            throttled = await _throttle(scope, user, "queue_join")
            if throttled is not None:
                return throttled
        await achallenge_redeem(user_id=user.pk, event=event, payload=solution)
        # Without throttles or a challenge the join script itself answers an already queued fan.
        joined = await aqueue_join(user=user, event=event)
        return (200 if joined.already_in_queue else 201), status_body(joined), []

    async def _position(self, scope: Scope, headers: dict[bytes, bytes], event_id: int):
        user = await self._user(headers)
        if settings.QUEUE_THROTTLE_ENABLE:
            # As DRF's check_throttles: every limit counts, the longest wait is reported.
            throttled = await _throttle(scope, user, "queue_read")
            if throttled is not None:
                return throttled
        event = await self.events.get(event_id)
        current = await aqueue_status(user=user, event=event)
        if current is None:
            raise NotInQueue()
        return 200, status_body(current), []


async def _throttle(scope: Scope, user: AbstractBaseUser, throttle_scope: str):
    """The queue API's limits (``queueing.throttles``, counted in Redis without a thread): ``None``
    or the 429 answer DRF gives."""
    address = ratelimit.client_address_of_scope(scope)
    limits = queue_limits(throttle_scope, fan_id=user.pk, address=address)
    wait = await ratelimit.ahit(limits)
    if wait is None:
        return None
    response = api_exception_handler(drf_exceptions.Throttled(wait), {})
    assert response is not None  # noqa: S101 - DRF always answers its own exceptions
    return response.status_code, response.data, [(b"retry-after", response.headers["Retry-After"].encode())]


async def _respond(send: Send, status: int, payload: Any, extra_headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = [*_HEADERS, *extra_headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _error_answer(exc: ApplicationError) -> tuple[int, Any, list[tuple[bytes, bytes]]]:
    headers = [(name.lower().encode(), value.encode()) for name, value in retry_after_headers(exc).items()]
    return exc.status_code, error_body(exc.code, exc.message, exc.details), headers


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` for Django after the fast path read the body (an empty body too: its one message
    is spent, and waiting for another would hang the request)."""
    replayed = False

    async def replay() -> dict[str, Any]:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
