"""One application error family, mapped once for the API and shown as messages on pages."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class ApplicationError(Exception):
    """A business rule said no. Services raise these; views and the API turn them into responses."""

    code: str = "APPLICATION_ERROR"
    status_code: int = status.HTTP_400_BAD_REQUEST
    default_message = _("The request could not be completed.")

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
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
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
