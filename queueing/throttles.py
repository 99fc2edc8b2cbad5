"""API throttles of the waiting room: per fan and per address, rates from settings / environment.

Rates live in ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` under ``<scope>`` (per fan) and
``<scope>_ip`` (per address) and are read on every request, so tests and operators can change them.
``QUEUE_THROTTLE_ENABLE = False`` switches them off (load tests from one address).
Periods may carry a multiplier: ``"5/5min"`` is five requests per five minutes.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from core.throttles import parse_rate


class _QueueThrottle(SimpleRateThrottle):
    """Throttle by the view's ``throttle_scope``; subclasses say what identifies the caller."""

    suffix = ""

    def __init__(self) -> None:  # the rate depends on the view: resolved in allow_request
        pass

    def parse_rate(self, rate):  # type: ignore[override]
        return parse_rate(rate) if rate else (None, None)

    def allow_request(self, request, view) -> bool:
        if not settings.QUEUE_THROTTLE_ENABLE:
            return True
        self.scope = f"{view.throttle_scope}{self.suffix}"
        try:
            self.rate = api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError as exc:
            raise ImproperlyConfigured(f"No throttle rate for scope {self.scope!r}.") from exc
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)


class QueueUserThrottle(_QueueThrottle):
    def get_cache_key(self, request, view) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class QueueAddressThrottle(_QueueThrottle):
    suffix = "_ip"

    def get_cache_key(self, request, view) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
