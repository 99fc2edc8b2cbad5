"""API throttles of the waiting room: per fan and per address, rates from settings / environment.

Rates live in ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` under ``<scope>`` (per fan) and
``<scope>_ip`` (per address) and are read on every request, so tests and operators can change them.
``QUEUE_THROTTLE_ENABLE = False`` switches them off (load tests from one address).
Periods may carry a multiplier: ``"5/5min"`` is five requests per five minutes.
"""

from __future__ import annotations

from collections.abc import Mapping

from rest_framework.settings import api_settings

from core.throttles import SettingsRateThrottle


class _QueueThrottle(SettingsRateThrottle):
    enable_setting = "QUEUE_THROTTLE_ENABLE"
    suffix = ""

    def rates(self) -> Mapping[str, str]:
        return api_settings.DEFAULT_THROTTLE_RATES

    def rate_key(self, view) -> str:
        return f"{view.throttle_scope}{self.suffix}"


class QueueUserThrottle(_QueueThrottle):
    per = "fan"


class QueueAddressThrottle(_QueueThrottle):
    suffix = "_ip"
    per = "address"
