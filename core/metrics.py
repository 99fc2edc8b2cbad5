"""Prometheus metrics, request ids and the site-wide HTTP counters.

Two kinds of figures, so that every one is right whichever worker process answers the scrape:

- **Per-process instruments** (HTTP requests and latencies, WebSocket connections, Celery task
  outcomes) from ``prometheus_client``. Production runs several uvicorn workers: set
  ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory shared by the workers (the launcher empties it at
  start) and ``/metrics`` sums every process's values (``MultiProcessCollector``).
- **Business figures** (queue gauges, joins, admissions, expirations, seats, bookings, payments,
  refunds, revenue) read at scrape time from where they are stored — Redis counters and aggregate
  queries over PostgreSQL — by ``SaleCollector``. They match the database by construction and need no
  hook in the services; only events on sale or with a live queue are reported (a bounded set).

``RequestObservabilityMiddleware`` is async-capable (no thread hop under ASGI) and costs a few
microseconds per request: a timer, an id, two instrument updates and a header. Code answering HTTP
outside Django (the queue's fast path) calls ``observe_http`` with its own route label.
"""

from __future__ import annotations

import asyncio
import contextvars
import hmac
import ipaddress
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_redis import get_redis_connection
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from redis.exceptions import RedisError

from core.redis_clients import async_client

# --- Per-process instruments -------------------------------------------------------------------

# In multi-process mode every instrument is a file there, some created at import: the directory must exist.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

HTTP_REQUESTS = Counter(
    "turnstile_http_requests_total",
    "HTTP requests answered, by route pattern and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "turnstile_http_request_duration_seconds",
    "Time from request to response start, by route pattern.",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
WEBSOCKETS_OPEN = Gauge(
    "turnstile_websocket_connections_open", "WebSocket connections open now.", multiprocess_mode="livesum"
)
WEBSOCKETS_ACCEPTED = Counter("turnstile_websocket_connections_accepted", "WebSocket connections accepted.")
CELERY_TASKS = Counter("turnstile_celery_tasks_total", "Celery task outcomes, by task.", ["task", "outcome"])

# Site-wide HTTP counts in Redis (a hash with "requests" and "errors"), added to about once a second by
# each web process: what the box-office dashboard's error rate reads without scraping anybody.
HTTP_COUNTERS_KEY = "boxoffice:http"
_FLUSH_SECONDS = 1.0


class _HttpTotals:
    """This process's requests and 5xx answers not yet added to the Redis counters."""

    def __init__(self) -> None:
        self.requests = 0
        self.errors = 0
        self.last_flush = time.monotonic()
        self.tasks: set[asyncio.Task] = set()

    def add(self, status: int) -> bool:
        """Count one answer; True when it is time to flush."""
        self.requests += 1
        if status >= 500:
            self.errors += 1
        return time.monotonic() - self.last_flush >= _FLUSH_SECONDS

    def take(self) -> tuple[int, int]:
        counts = (self.requests, self.errors)
        self.requests = self.errors = 0
        self.last_flush = time.monotonic()
        return counts


_totals = _HttpTotals()


def _flush_sync() -> None:
    requests, errors = _totals.take()
    try:
        pipe = get_redis_connection("default").pipeline(transaction=False)
        pipe.hincrby(HTTP_COUNTERS_KEY, "requests", requests)
        pipe.hincrby(HTTP_COUNTERS_KEY, "errors", errors)
        pipe.execute()
    except (RedisError, OSError):  # metrics must never fail a request; the counts are lost, not it
        return


async def _flush_async(requests: int, errors: int) -> None:
    try:
        pipe = async_client(settings.REDIS_URL, cluster=False).pipeline(transaction=False)
        pipe.hincrby(HTTP_COUNTERS_KEY, "requests", requests)
        pipe.hincrby(HTTP_COUNTERS_KEY, "errors", errors)
        await pipe.execute()
    except (RedisError, OSError):  # metrics must never fail a request
        return


_http_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_http(method: str, route: str, status: int, seconds: float) -> None:
    """Record one HTTP answer. For code that answers outside Django, e.g. the queue fast path:
    ``observe_http("POST", "api/queue/join", 201, elapsed)`` (use the same label as its Django URL)."""
    children = _http_children.get((method, route, status))
    if children is None:
        # ``labels()`` validates and locks on every call; the few route/status pairs are cached once.
        children = (HTTP_REQUESTS.labels(method, route, str(status)), HTTP_LATENCY.labels(method, route))
        _http_children[(method, route, status)] = children
    children[0].inc()
    children[1].observe(seconds)
    if _totals.add(status):
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            _flush_sync()
        else:
            # Fire and forget on this loop: the answer does not wait for Redis.
            task = loop.create_task(_flush_async(*_totals.take()))
            _totals.tasks.add(task)
            task.add_done_callback(_totals.tasks.discard)


# --- Request ids and the fan in logs -------------------------------------------------------------

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
current_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "current_request", default=None
)


def _request_id(request: HttpRequest) -> str:
    # Keep a load balancer's id so one request can be followed across hops; otherwise make one.
    incoming = request.META.get("HTTP_X_REQUEST_ID", "")
    return incoming if _SAFE_REQUEST_ID.match(incoming) else os.urandom(8).hex()


def _route(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.route or match.view_name or "unnamed"
    if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return "static"
    return "unmatched"  # 404s: one label, whatever the path (no unbounded label values)


class RequestObservabilityMiddleware:
    """Request id (header and logs), the fan in logs, HTTP metrics. Place it first in MIDDLEWARE."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        start = time.perf_counter()
        token = self._begin(request)
        try:
            response = self.get_response(request)
        finally:
            current_request.reset(token)
        return self._finish(request, response, start)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        token = self._begin(request)
        try:
            response = await self.get_response(request)
        finally:
            current_request.reset(token)
        return self._finish(request, response, start)

    @staticmethod
    def _begin(request: HttpRequest) -> contextvars.Token:
        request.request_id = _request_id(request)  # type: ignore[attr-defined]
        return current_request.set(request)

    @staticmethod
    def _finish(request: HttpRequest, response: HttpResponse, start: float) -> HttpResponse:
        response[REQUEST_ID_HEADER] = request.request_id  # type: ignore[attr-defined]
        observe_http(
            request.method or "GET", _route(request), response.status_code, time.perf_counter() - start
        )
        return response


def add_request_context(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: the request id and, once authentication has run, the fan's id."""
    request = current_request.get()
    if request is not None:
        event_dict.setdefault("request_id", getattr(request, "request_id", None))
        # Only a user already loaded: a log line must never cost a session or database read.
        user = getattr(request, "_cached_user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            event_dict.setdefault("fan_id", user.pk)
    return event_dict


# --- WebSockets ------------------------------------------------------------------------------------


class WebSocketMetrics:
    """Pure ASGI wrapper: counts WebSocket connections accepted and open, whatever consumer runs."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        accepted = False

        async def counting_send(message: dict) -> None:
            nonlocal accepted
            if not accepted and message["type"] == "websocket.accept":
                accepted = True
                WEBSOCKETS_ACCEPTED.inc()
                WEBSOCKETS_OPEN.inc()
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            if accepted:
                WEBSOCKETS_OPEN.dec()


# --- Celery ------------------------------------------------------------------------------------------


def connect_celery_signals() -> None:
    from celery import signals

    def outcome(name: str) -> Callable[..., None]:
        def record(sender: Any = None, **kwargs: Any) -> None:
            task_name = getattr(sender, "name", None) or getattr(kwargs.get("request"), "task", None)
            CELERY_TASKS.labels(str(task_name or "unknown"), name).inc()

        return record

    for signal, name in (
        (signals.task_success, "success"),
        (signals.task_failure, "failure"),
        (signals.task_retry, "retry"),
        (signals.task_revoked, "revoked"),
    ):
        signal.connect(outcome(name), weak=False, dispatch_uid=f"turnstile-metrics-{name}")


# --- Business figures, read at scrape time -----------------------------------------------------------


class SaleCollector(Collector):
    """Queue, seat, booking, payment and refund figures of every live sale, from Redis and PostgreSQL:
    one Redis round trip and a fixed number of aggregate queries, whatever the number of fans."""

    def collect(self) -> Iterable[Any]:
        from boxoffice.selectors import live_sale_figures  # apps are loaded by the time of a scrape

        yield from live_sale_figures().metric_families()

    def describe(self) -> Iterable[Any]:
        return []  # figures are only known at scrape time; no registration-time collect


def metric_families_for(rows: list[tuple[str, str, str, dict[str, str], float]]) -> list[Any]:
    """Build metric families from ``(name, kind, help, labels, value)`` rows (kind: gauge|counter)."""
    families: dict[str, Any] = {}
    for name, kind, help_text, labels, value in rows:
        family = families.get(name)
        if family is None:
            family_class = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            family = family_class(name, help_text, labels=list(labels))
            families[name] = family
        family.add_metric(list(labels.values()), value)
    return list(families.values())


def metrics_registry() -> CollectorRegistry:
    """The registry a scrape reads: every process's instruments plus the business figures."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_DefaultRegistryCollector())
    registry.register(SaleCollector())
    return registry


class _DefaultRegistryCollector(Collector):
    """This process's instruments (single-process mode: tests, ``manage.py runserver``)."""

    def collect(self) -> Iterable[Any]:
        return REGISTRY.collect()

    def describe(self) -> Iterable[Any]:
        return []


def render_metrics() -> tuple[bytes, str]:
    return generate_latest(metrics_registry()), CONTENT_TYPE_LATEST


# --- Who may scrape ----------------------------------------------------------------------------------


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for item in settings.METRICS_ALLOWED_ADDRESSES:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            continue
    return networks


def may_read_metrics(request: HttpRequest) -> bool:
    """A staff session, ``Authorization: Bearer <METRICS_TOKEN>``, or an address in the allow list."""
    token = settings.METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
        return True
    networks = _allowed_networks()
    if networks:
        try:
            address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            address = None
        if address is not None and any(address in network for network in networks):
            return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_staff)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """GET /metrics in the Prometheus text format, for allowed scrapers only (403 otherwise)."""
    if not may_read_metrics(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain; charset=utf-8")
    body, content_type = render_metrics()
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response
