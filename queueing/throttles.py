"""API throttles of the waiting room: per fan and per address, rates from settings / environment.

Rates live in ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` under ``<scope>`` (per fan) and
``<scope>_ip`` (per address) and are read on every request, so tests and operators can change them.
``QUEUE_THROTTLE_ENABLE = False`` switches them off (load tests from one address).
Periods may carry a multiplier: ``"5/5min"`` is five requests per five minutes.
The DRF views and the fast path (``queueing.fast_api``) count through the same classes.
"""

from __future__ import annotations

from collections.abc import Mapping

from rest_framework.settings import api_settings

from core.ratelimit import Limit
from core.throttles import SettingsRateThrottle, limits_for


class _QueueThrottle(SettingsRateThrottle):
    enable_setting = "QUEUE_THROTTLE_ENABLE"
    suffix = ""

    def rates(self) -> Mapping[str, str]:
        return api_settings.DEFAULT_THROTTLE_RATES

    def rate_key(self, throttle_scope: str) -> str:
        return f"{throttle_scope}{self.suffix}"


class QueueUserThrottle(_QueueThrottle):
    per = "fan"


class QueueAddressThrottle(_QueueThrottle):
    suffix = "_ip"
    per = "address"


QUEUE_THROTTLES = [QueueUserThrottle, QueueAddressThrottle]


def queue_limits(throttle_scope: str, *, fan_id: object, address: str) -> list[Limit]:
    """Per fan first, then per address: what one queue request counts against."""
    return limits_for(QUEUE_THROTTLES, throttle_scope=throttle_scope, fan_id=fan_id, address=address)
