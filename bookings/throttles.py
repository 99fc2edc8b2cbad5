"""Per-fan API throttles of holds and bookings; rates in ``settings.BOOKING_THROTTLE_RATES`` (environment).

Rates are read on every request, so tests and operators can change them; ``BOOKING_THROTTLE_ENABLE =
False`` switches them off (load tests from one address). A throttled request gets 429 ``RATE_LIMITED``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from rest_framework.throttling import SimpleRateThrottle

from queueing.throttles import parse_rate


class BookingUserThrottle(SimpleRateThrottle):
    """Throttle by the view's ``throttle_scope`` (a key of ``BOOKING_THROTTLE_RATES``) and the fan."""

    def __init__(self) -> None:  # the rate depends on the view: resolved in allow_request
        pass

    def parse_rate(self, rate):  # type: ignore[override]
        return parse_rate(rate) if rate else (None, None)

    def allow_request(self, request, view) -> bool:
        if not settings.BOOKING_THROTTLE_ENABLE:
            return True
        self.scope = f"booking_{view.throttle_scope}"
        try:
            self.rate = settings.BOOKING_THROTTLE_RATES[view.throttle_scope]
        except KeyError as exc:
            raise ImproperlyConfigured(f"No booking throttle rate for {view.throttle_scope!r}.") from exc
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
