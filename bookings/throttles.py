"""Per-fan API throttles of holds and bookings; rates in ``settings.BOOKING_THROTTLE_RATES`` (environment)."""

from core.throttles import SettingsRateUserThrottle


class BookingUserThrottle(SettingsRateUserThrottle):
    enable_setting = "BOOKING_THROTTLE_ENABLE"
    rates_setting = "BOOKING_THROTTLE_RATES"
    scope_prefix = "booking_"
