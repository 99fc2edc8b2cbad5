"""HTTP caching of public pages for anonymous visitors, with invalidation.

At an on-sale most page views are anonymous visitors reloading the event list and the event page.
Their HTML is the same for everyone, so it is rendered once and kept:

- in Redis (shared by every web process) for ``PUBLIC_PAGE_CACHE_SECONDS``, stamped with a
  *generation* that any staff edit of events, venues, categories or seats bumps (``bump_generation``,
  connected in ``events.apps``): an edit shows on the next request;
- in each process's memory for at most ``PUBLIC_PAGE_LOCAL_SECONDS`` on top, so a hot page costs no
  Redis round trip at all; what changes by itself (a sale opening, seats selling out) therefore shows
  within ``PUBLIC_PAGE_CACHE_SECONDS + PUBLIC_PAGE_LOCAL_SECONDS`` (a few seconds);
- with ``Cache-Control: public, max-age`` and an ``ETag`` so a CDN or the browser can keep it too
  (``If-None-Match`` gets a 304).

Logged-in fans always get a fresh, private page: it shows their own place in line.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_cache_control, patch_vary_headers

from core import local_cache

GENERATION_KEY = "public-pages:generation"
_PAGE_KEY = "public-pages:page:{path}"
_MAX_LOCAL_ENTRIES = 1_000

# path -> (expires at, monotonic), (generation, etag, content, content type)
_local: dict[str, tuple[float, tuple[int, str, bytes, str]]] = {}


def bump_generation(**_signal_kwargs: Any) -> None:
    """Forget every cached public page (connected to model changes that public pages show)."""
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # no generation yet: any value differs from what pages were stamped with
        cache.set(GENERATION_KEY, int(time.time()), timeout=None)
    _local.clear()
    local_cache.clear_all()
    caches["local"].clear()


def _fresh_local(path: str) -> tuple[int, str, bytes, str] | None:
    entry = _local.get(path)
    if entry is None or entry[0] < time.monotonic():
        return None
    return entry[1]


def _remember_local(path: str, page: tuple[int, str, bytes, str]) -> None:
    if len(_local) >= _MAX_LOCAL_ENTRIES:
        _local.clear()
    _local[path] = (time.monotonic() + settings.PUBLIC_PAGE_LOCAL_SECONDS, page)


def _response(request: HttpRequest, page: tuple[int, str, bytes, str]) -> HttpResponse:
    _generation, etag, content, content_type = page
    if etag in request.headers.get("If-None-Match", ""):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(content, content_type=content_type)
    response["ETag"] = etag
    patch_cache_control(response, public=True, max_age=settings.PUBLIC_PAGE_CACHE_SECONDS)
    patch_vary_headers(response, ["Cookie"])
    return response


def _cacheable(request: HttpRequest) -> bool:
    """A GET from a visitor without a session or pending messages: the page everyone gets."""
    return (
        settings.PUBLIC_PAGE_CACHE_SECONDS > 0
        and request.method in ("GET", "HEAD")
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "messages" not in request.COOKIES
        and not request.headers.get("HX-Request")
    )


def public_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Cache a GET page for anonymous visitors (see the module docstring); others get it fresh."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not _cacheable(request):
            response = view(request, *args, **kwargs)
            # A page with the fan's own place in line or messages: never kept by a shared cache.
            patch_cache_control(response, private=True, no_cache=True)
            return response

        path = request.get_full_path()
        page = _fresh_local(path)
        if page is not None:
            return _response(request, page)
        key = _PAGE_KEY.format(path=path)
        found = cache.get_many([key, GENERATION_KEY])
        generation = found.get(GENERATION_KEY, 0)
        page = found.get(key)
        if page is not None and page[0] == generation:
            _remember_local(path, page)
            return _response(request, page)

        response = view(request, *args, **kwargs)
        if (
            response.status_code != 200
            or response.cookies
            or response.streaming
            or request.META.get("CSRF_COOKIE_NEEDS_UPDATE")  # the page holds a CSRF token: not shareable
        ):
            return response
        content = response.content
        etag = f'"{hashlib.blake2b(content, digest_size=12).hexdigest()}"'
        page = (generation, etag, content, response["Content-Type"])
        cache.set(key, page, timeout=settings.PUBLIC_PAGE_CACHE_SECONDS)
        _remember_local(path, page)
        return _response(request, page)

    return wrapper
