"""Throttles of log-in, sign-up and token refresh (API and pages share the rates and the switch).

A crowd behind one mobile carrier's NAT shares an address, so the strict limit is per account
(log-in attempts for one e-mail address) and the per-address limits are generous but escalate:
a burst limit per minute and a sustained one per hour, so an address that keeps guessing waits longer.
Rates in ``settings.AUTH_THROTTLE_RATES``; the switch is ``AUTH_THROTTLE_ENABLE`` (default
``RATELIMIT_ENABLE``).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from core import ratelimit
from core.throttles import SettingsRateThrottle


class _AuthThrottle(SettingsRateThrottle):
    enable_setting = "AUTH_THROTTLE_ENABLE"
    scope_prefix = "auth_"
    per = "address"
    window = ""

    def rates(self):
        return settings.AUTH_THROTTLE_RATES

    def rate_key(self, throttle_scope: str) -> str:
        return self.window


class AuthAddressBurstThrottle(_AuthThrottle):
    window = "address"


class AuthAddressSustainedThrottle(_AuthThrottle):
    window = "address_hour"


AUTH_ADDRESS_THROTTLES = [AuthAddressBurstThrottle, AuthAddressSustainedThrottle]


def normalized_account(email: str) -> str:
    return email.strip().lower()


def account_login_wait(email: str) -> int | None:
    """Count one log-in attempt for this account: ``None`` if allowed, else seconds to wait."""
    if not settings.AUTH_THROTTLE_ENABLE or not email:
        return None
    limit = ratelimit.Limit(
        scope="auth_account", rate=settings.AUTH_THROTTLE_RATES["account"], who=normalized_account(email)
    )
    return ratelimit.hit([limit])


def verify_email_resend_wait(user_id: int) -> int | None:
    """Count one request for a new verification link (page and API): each mail costs us and lands in
    someone's inbox. ``None`` if allowed, else seconds to wait. ``THROTTLE_VERIFY_EMAIL_RESEND``."""
    if not settings.AUTH_THROTTLE_ENABLE:
        return None
    limit = ratelimit.Limit(
        scope="verify_email_resend", rate=settings.THROTTLE_VERIFY_EMAIL_RESEND, who=str(user_id)
    )
    return ratelimit.hit([limit])


# django-ratelimit (the log-in and sign-up pages): the same rates and switch as the API.


def page_account_key(group: str, request: HttpRequest) -> str:
    return normalized_account(request.POST.get("username", ""))


def page_account_rate(group: str, request: HttpRequest) -> str | None:
    return settings.AUTH_THROTTLE_RATES["account"] if settings.AUTH_THROTTLE_ENABLE else None


def page_address_rate(group: str, request: HttpRequest) -> str | None:
    return settings.AUTH_THROTTLE_RATES["address"] if settings.AUTH_THROTTLE_ENABLE else None


def page_address_sustained_rate(group: str, request: HttpRequest) -> str | None:
    return settings.AUTH_THROTTLE_RATES["address_hour"] if settings.AUTH_THROTTLE_ENABLE else None
