"""Per-fan API throttles whose rates live in settings (read on every request, set from the environment)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

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


class SettingsRateThrottle(SimpleRateThrottle):
    """Throttle by the view's ``throttle_scope``, with the rate looked up on every request.

    Subclasses say where rates live (``rates()``), which switch turns them off (``enable_setting``,
    off for load tests from one address) and whether the caller is the fan or the address (``per``).
    A throttled request gets 429 ``RATE_LIMITED`` through the API error handler.
    """

    enable_setting: str
    scope_prefix = ""
    per: Literal["fan", "address"] = "fan"

    def __init__(self) -> None:  # the rate depends on the view: resolved in allow_request
        pass

    def parse_rate(self, rate):  # type: ignore[override]
        return parse_rate(rate) if rate else (None, None)

    def rates(self) -> Mapping[str, str]:
        raise NotImplementedError

    def rate_key(self, view) -> str:
        return view.throttle_scope

    def allow_request(self, request, view) -> bool:
        if not getattr(settings, self.enable_setting):
            return True
        key = self.rate_key(view)
        self.scope = f"{self.scope_prefix}{key}"
        try:
            self.rate = self.rates()[key]
        except KeyError as exc:
            raise ImproperlyConfigured(f"No throttle rate for {key!r}.") from exc
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str | None:
        if self.per == "address":
            return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
        if not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class SettingsRateUserThrottle(SettingsRateThrottle):
    """Per fan, with rates in a settings dict named by ``rates_setting`` (scope → rate)."""

    rates_setting: str

    def rates(self) -> Mapping[str, str]:
        return getattr(settings, self.rates_setting)
