"""Request hygiene and store outages, for every Django view (pages and API alike).

- ``RequestHygieneMiddleware``: a NUL character in the path or query string is refused with 400
  (PostgreSQL cannot store or compare it: it would be a 500 deeper down), and API requests render
  times in UTC (one convention for every endpoint, like the queue's).
- ``StoreOutageMiddleware``: PostgreSQL or Redis unreachable in a view becomes 503 with ``Retry-After``
  (the error envelope for the API, a friendly page otherwise), never 500. What fails outside a view
  (a session save, say) reaches ``core.views.server_error``, which answers the same.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exceptions import ApplicationError, error_body, retry_after_headers, store_outage


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def error_response(request: HttpRequest, exc: ApplicationError, *, template: str) -> HttpResponse:
    """``exc`` as the API's envelope, or as a standalone page (no database, session or Redis)."""
    if is_api_request(request) or "application/json" in request.headers.get("Accept", ""):
        response: HttpResponse = JsonResponse(
            error_body(exc.code, exc.message, exc.details), status=exc.status_code
        )
    else:
        response = HttpResponse(render_to_string(template, {"message": exc.message}), status=exc.status_code)
    for name, value in retry_after_headers(exc).items():
        response[name] = value
    return response


class BadRequest(ApplicationError):
    code = "BAD_REQUEST"


class RequestHygieneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path_info or ("%00" in query or "\x00" in unquote(query)):
            return error_response(
                request, BadRequest(_("NUL characters are not allowed in a request.")), template="400.html"
            )
        if is_api_request(request):
            timezone.activate(UTC)
            try:
                return self.get_response(request)
            finally:
                timezone.deactivate()
        return self.get_response(request)


class StoreOutageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        outage = store_outage(exception)
        if outage is None:
            return None
        return error_response(request, outage, template="503.html")
