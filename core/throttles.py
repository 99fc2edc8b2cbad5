"""Per-fan API throttles whose rates live in settings (read on every request, set from the environment)."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from rest_framework.throttling import SimpleRateThrottle

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])[a-z]*\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """(requests, seconds) of a rate like "60/min"; periods may carry a multiplier: "5/5min"."""
    match = _RATE.match(rate)
    if match is None:
        raise ImproperlyConfigured(f"Invalid throttle rate {rate!r}; use e.g. '60/min' or '5/5min'.")
    count, multiplier, unit = match.groups()
    return int(count), int(multiplier or 1) * _UNIT_SECONDS[unit]


class SettingsRateUserThrottle(SimpleRateThrottle):
    """Throttle by the view's ``throttle_scope`` (a key of the ``rates_setting`` dict) and the fan.

    Subclasses name the settings: ``enable_setting`` (a bool switch, off for load tests from one
    address) and ``rates_setting`` (scope → rate like "60/min" or "5/5min"). A throttled request gets
    429 ``RATE_LIMITED`` through the API error handler.
    """

    enable_setting: str
    rates_setting: str
    scope_prefix: str

    def __init__(self) -> None:  # the rate depends on the view: resolved in allow_request
        pass

    def parse_rate(self, rate):  # type: ignore[override]
        return parse_rate(rate) if rate else (None, None)

    def allow_request(self, request, view) -> bool:
        if not getattr(settings, self.enable_setting):
            return True
        self.scope = f"{self.scope_prefix}_{view.throttle_scope}"
        try:
            self.rate = getattr(settings, self.rates_setting)[view.throttle_scope]
        except KeyError as exc:
            raise ImproperlyConfigured(f"No {self.rates_setting} rate for {view.throttle_scope!r}.") from exc
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
