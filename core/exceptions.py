"""One application error family, mapped once for the API and shown as messages on pages.

Store outages (PostgreSQL or Redis unreachable) are not bugs: ``store_outage(exc)`` turns them into a
``ServiceUnavailable`` (503 ``SERVICE_UNAVAILABLE`` with ``Retry-After``) for the API handler, the
page middleware (``core.middleware.StoreOutageMiddleware``), the 500 handler and the queue fast path.
``retry_after_headers(exc)`` gives the header of any 503 answer.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

import psycopg
from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent
from django.db import InterfaceError as DjangoInterfaceError
from django.db import OperationalError as DjangoOperationalError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)

# How long a client should wait before retrying after an outage: a Redis restart takes seconds.
OUTAGE_RETRY_AFTER_SECONDS = 5


class ApplicationError(Exception):
    """A business rule said no. Services raise these; views and the API turn them into responses."""

    code: str = "APPLICATION_ERROR"
    status_code: int = status.HTTP_400_BAD_REQUEST
    default_message = _("The request could not be completed.")
    retry_after: int | None = None  # seconds, sent as Retry-After (503s)

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None) -> None:
        self.message = str(message or self.default_message)
        self.details = details or {}
        super().__init__(self.message)


class NotFound(ApplicationError):
    code = "NOT_FOUND"
    status_code = status.HTTP_404_NOT_FOUND
    default_message = _("Not found.")


class Conflict(ApplicationError):
    code = "CONFLICT"
    status_code = status.HTTP_409_CONFLICT
    default_message = _("The request conflicts with the current state.")


class Forbidden(ApplicationError):
    code = "FORBIDDEN"
    status_code = status.HTTP_403_FORBIDDEN
    default_message = _("You are not allowed to do this.")


class Busy(ApplicationError):
    """A lock could not be taken in time: the client should retry shortly."""

    code = "BUSY"
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_message = _("We are very busy right now. Please try again in a moment.")
    retry_after = 1


class ServiceUnavailable(ApplicationError):
    """PostgreSQL or Redis cannot be reached right now: nothing was changed, retry shortly."""

    code = "SERVICE_UNAVAILABLE"
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_message = _("The service is briefly unavailable. Please try again in a few seconds.")
    retry_after = OUTAGE_RETRY_AFTER_SECONDS

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details=details or {"retryAfter": self.retry_after})


class PayloadTooLarge(ApplicationError):
    code = "PAYLOAD_TOO_LARGE"
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_message = _("The request body is too large.")


@cache
def _outage_types() -> tuple[type[BaseException], ...]:
    from kombu.exceptions import OperationalError as KombuOperationalError
    from redis.exceptions import ClusterDownError, RedisClusterException, TryAgainError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return (
        RedisConnectionError,  # BusyLoadingError (a restart loading its data) is one too
        RedisTimeoutError,
        # The queue's Redis Cluster: no node reachable, a slot without a master, a resharding.
        RedisClusterException,
        ClusterDownError,
        TryAgainError,
        DjangoOperationalError,
        DjangoInterfaceError,
        psycopg.OperationalError,
        psycopg.InterfaceError,
        KombuOperationalError,  # the Celery broker (Redis) is down
        ConnectionError,
    )


def store_outage(exc: BaseException) -> ServiceUnavailable | None:
    """A ``ServiceUnavailable`` when ``exc`` (or what caused it) means a store is unreachable."""
    outage_types = _outage_types()
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ServiceUnavailable):
            return current
        if isinstance(current, outage_types):
            logger.warning("Store outage answered 503: %s: %s", type(current).__name__, current)
            return ServiceUnavailable()
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def retry_after_headers(exc: BaseException) -> dict[str, str]:
    """The ``Retry-After`` header an answer to ``exc`` carries (none for most errors)."""
    wait = getattr(exc, "retry_after", None)
    return {"Retry-After": str(wait)} if wait else {}


# DRF's own exceptions get stable upper-case codes in the same envelope.
_DRF_CODES: dict[type[Exception], str] = {
    drf_exceptions.ValidationError: "VALIDATION_ERROR",
    drf_exceptions.ParseError: "INVALID_JSON",
    drf_exceptions.AuthenticationFailed: "AUTHENTICATION_FAILED",
    drf_exceptions.NotAuthenticated: "NOT_AUTHENTICATED",
    drf_exceptions.PermissionDenied: "PERMISSION_DENIED",
    drf_exceptions.NotFound: "NOT_FOUND",
    drf_exceptions.MethodNotAllowed: "METHOD_NOT_ALLOWED",
    drf_exceptions.NotAcceptable: "NOT_ACCEPTABLE",
    drf_exceptions.UnsupportedMediaType: "UNSUPPORTED_MEDIA_TYPE",
    drf_exceptions.Throttled: "RATE_LIMITED",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _drf_code(exc: drf_exceptions.APIException) -> str:
    for exc_type in type(exc).__mro__:
        if exc_type in _DRF_CODES:
            return _DRF_CODES[exc_type]
    return str(exc.default_code).upper()


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Give every API error the shape {"error": {"code", "message", "details"}}."""
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent):
        exc = PayloadTooLarge()
    elif not isinstance(exc, ApplicationError | drf_exceptions.APIException):
        exc = store_outage(exc) or exc
    if isinstance(exc, ApplicationError):
        return Response(
            error_body(exc.code, exc.message, exc.details),
            status=exc.status_code,
            headers=retry_after_headers(exc),
        )
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, drf_exceptions.APIException):
        return response

    if isinstance(exc, drf_exceptions.ValidationError):
        message = str(_("Some fields are invalid."))
        details: Any = exc.detail if isinstance(exc.detail, dict) else {"nonFieldErrors": exc.detail}
    else:
        detail = exc.detail
        message = str(detail.get("detail", exc.default_detail)) if isinstance(detail, dict) else str(detail)
        details = {}
        wait = getattr(exc, "wait", None)  # set on Throttled
        if wait is not None:
            details = {"retryAfter": int(wait)}
    response.data = error_body(_drf_code(exc), message, details)
    return response
