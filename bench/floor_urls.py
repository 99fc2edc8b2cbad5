"""The site's URLs plus two views that do nothing (``bench/floor_settings.py``).

Each request still goes through the whole middleware stack; the logged-in one reads the session and
the user (as every fan page does) and refuses a visitor it does not know, so a broken session shows
as errors rather than as a fast page."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from ticketing.urls import urlpatterns as site_urlpatterns


def floor_anonymous(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


def floor_logged_in(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return HttpResponse(b"not logged in", status=403, content_type="text/plain")
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("bench-floor/anonymous/", floor_anonymous),
    path("bench-floor/logged-in/", floor_logged_in),
    *site_urlpatterns,
]
