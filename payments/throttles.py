"""Per-fan API throttles of payments; rates in ``settings.PAYMENTS_THROTTLE_RATES`` (environment)."""

from core.throttles import SettingsRateUserThrottle


class PaymentUserThrottle(SettingsRateUserThrottle):
    enable_setting = "PAYMENTS_THROTTLE_ENABLE"
    rates_setting = "PAYMENTS_THROTTLE_RATES"
    scope_prefix = "payments_"
