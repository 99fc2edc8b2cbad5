"""Django's ASGI handler, with its two early refusals (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, a path
that is not UTF-8) answered like every other error: the API's envelope, or our 400 page."""

from __future__ import annotations

from django.core.handlers.asgi import ASGIHandler
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from core.exceptions import ApplicationError, PayloadTooLarge, error_body
from core.middleware import BadRequest


class EnvelopeASGIHandler(ASGIHandler):
    def create_request(self, scope, body_file):
        request, response = super().create_request(scope, body_file)
        if response is None:
            return request, response
        exc: ApplicationError = (
            PayloadTooLarge()
            if response.status_code == 413
            else BadRequest(_("The request could not be read."))
        )
        if str(scope.get("path", "")).startswith("/api/"):
            return None, JsonResponse(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
        return None, HttpResponse(
            render_to_string("400.html", {"message": exc.message}), status=exc.status_code
        )
