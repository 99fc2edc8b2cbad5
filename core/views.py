import sys

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from core.exceptions import PayloadTooLarge, error_body, store_outage
from core.middleware import BadRequest, error_response

RATE_LIMIT_RETRY_AFTER_SECONDS = 60


def rate_limited(request: HttpRequest, exception: Exception) -> HttpResponse:
    """django-ratelimit's RATELIMIT_VIEW: a readable 429, JSON for API and htmx callers."""
    message = _("Too many requests. Please wait a minute and try again.")
    # core.ratelimit's refusals know the wait; django-ratelimit's own (fixed windows) do not.
    retry_after = getattr(exception, "retry_after", None) or RATE_LIMIT_RETRY_AFTER_SECONDS
    wants_json = _is_api_request(request) or "application/json" in request.headers.get("Accept", "")
    if wants_json:
        response: HttpResponse = JsonResponse(
            error_body("RATE_LIMITED", message, {"retryAfter": retry_after}), status=429
        )
    else:
        response = render(request, "429.html", {"message": message}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def _is_api_request(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api_request(request):
        return JsonResponse(error_body("NOT_FOUND", _("Not found.")), status=404)
    return render(request, "404.html", status=404)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's own refusals (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, a bad host...) in our shapes."""
    if isinstance(exception, RequestDataTooBig | TooManyFieldsSent):
        return error_response(request, PayloadTooLarge(), template="400.html")
    return error_response(request, BadRequest(_("The request could not be read.")), template="400.html")


def server_error(request: HttpRequest) -> HttpResponse:
    """Never leak a traceback; API clients still get the JSON error envelope. A store outage
    outside any view (a session save, say) is a 503 with Retry-After, not a 500."""
    outage = store_outage(sys.exc_info()[1]) if sys.exc_info()[1] is not None else None
    if outage is not None:
        return error_response(request, outage, template="503.html")
    message = _("Something went wrong on our side. Please try again in a moment.")
    if _is_api_request(request):
        return JsonResponse(error_body("SERVER_ERROR", message), status=500)
    return render(request, "500.html", status=500)
