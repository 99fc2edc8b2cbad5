"""API throttles whose rates live in settings (read on every request, set from the environment).

They only decide *which* limit applies (scope, rate, fan or address); counting is
``core.ratelimit``'s, shared with the queue's fast path. A throttled request gets 429
``RATE_LIMITED`` with ``Retry-After`` through the API error handler.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from rest_framework.throttling import BaseThrottle

from core import ratelimit
from core.ratelimit import Limit

__all__ = ["LimitsInOneRoundTrip", "SettingsRateThrottle", "SettingsRateUserThrottle", "limits_for"]


class SettingsRateThrottle(BaseThrottle):
    """Throttle by the view's ``throttle_scope``, with the rate looked up on every request.

    Subclasses say where rates live (``rates()``), which switch turns them off (``enable_setting``,
    off for load tests from one address) and whether the caller is the fan or the address (``per``).
    """

    enable_setting: str
    scope_prefix = ""
    per: Literal["fan", "address"] = "fan"

    def __init__(self) -> None:
        self._wait: int | None = None

    def rates(self) -> Mapping[str, str]:
        raise NotImplementedError

    def rate_key(self, throttle_scope: str) -> str:
        return throttle_scope

    def limit(self, *, throttle_scope: str, fan_id: object, address: str) -> Limit | None:
        """The limit this throttle puts on a caller, or None (switched off, or no fan to count)."""
        if not getattr(settings, self.enable_setting):
            return None
        key = self.rate_key(throttle_scope)
        try:
            rate = self.rates()[key]
        except KeyError as exc:
            raise ImproperlyConfigured(f"No throttle rate for {key!r}.") from exc
        if not rate:
            return None
        who = address if self.per == "address" else fan_id
        if who is None or who == "":
            return None
        return Limit(scope=f"{self.scope_prefix}{key}", rate=rate, who=str(who))

    def limit_for_request(self, request, view) -> Limit | None:
        user = getattr(request, "user", None)
        fan_id = user.pk if user is not None and user.is_authenticated else None
        return self.limit(
            throttle_scope=view.throttle_scope,
            fan_id=fan_id,
            address=ratelimit.client_address_of_request(request),
        )

    def allow_request(self, request, view) -> bool:
        limit = self.limit_for_request(request, view)
        if limit is None:
            return True
        self._wait = ratelimit.hit([limit])
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


class SettingsRateUserThrottle(SettingsRateThrottle):
    """Per fan, with rates in a settings dict named by ``rates_setting`` (scope → rate)."""

    rates_setting: str

    def rates(self) -> Mapping[str, str]:
        return getattr(settings, self.rates_setting)


def limits_for(
    throttle_classes: Sequence[type[SettingsRateThrottle]],
    *,
    throttle_scope: str,
    fan_id: object,
    address: str,
) -> list[Limit]:
    """The limits a view's throttle classes put on one request, for callers outside DRF (fast path)."""
    found = (
        throttle().limit(throttle_scope=throttle_scope, fan_id=fan_id, address=address)
        for throttle in throttle_classes
    )
    return [limit for limit in found if limit is not None]


class LimitsInOneRoundTrip:
    """APIView mixin: the limits of all the view's ``SettingsRateThrottle`` classes are counted in one
    round trip to Redis (``core.ratelimit.hit``) instead of one per class. DRF's rule is kept: every
    throttle counts, and the longest wait is the one reported."""

    def check_throttles(self, request) -> None:
        limits: list[Limit] = []
        refused = False
        waits: list[float] = []
        for throttle in self.get_throttles():  # type: ignore[attr-defined]
            if isinstance(throttle, SettingsRateThrottle):
                limit = throttle.limit_for_request(request, self)
                if limit is not None:
                    limits.append(limit)
            elif not throttle.allow_request(request, self):
                refused = True  # another kind of throttle: as DRF, refused even without a wait
                wait = throttle.wait()
                if wait is not None:
                    waits.append(wait)
        wait = ratelimit.hit(limits)
        if wait is not None:
            refused = True
            waits.append(wait)
        if refused:
            self.throttled(request, max(waits, default=None))  # type: ignore[attr-defined]
