"""Per-fan API throttles of payments; rates in ``settings.PAYMENTS_THROTTLE_RATES`` (environment).

Read on every request; ``PAYMENTS_THROTTLE_ENABLE = False`` switches them off (load tests from one address).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from rest_framework.throttling import SimpleRateThrottle

from queueing.throttles import parse_rate


class PaymentUserThrottle(SimpleRateThrottle):
    """Throttle by the view's ``throttle_scope`` (a key of ``PAYMENTS_THROTTLE_RATES``) and the fan."""

    def __init__(self) -> None:  # the rate depends on the view: resolved in allow_request
        pass

    def parse_rate(self, rate):  # type: ignore[override]
        return parse_rate(rate) if rate else (None, None)

    def allow_request(self, request, view) -> bool:
        if not settings.PAYMENTS_THROTTLE_ENABLE:
            return True
        self.scope = f"payments_{view.throttle_scope}"
        try:
            self.rate = settings.PAYMENTS_THROTTLE_RATES[view.throttle_scope]
        except KeyError as exc:
            raise ImproperlyConfigured(f"No payments throttle rate for {view.throttle_scope!r}.") from exc
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
