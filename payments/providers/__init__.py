"""Payment providers: Stripe when ``STRIPE_SECRET_KEY`` is set, else the offline simulated provider."""

from __future__ import annotations

from django.conf import settings

from payments.models import Provider
from payments.providers.base import IntentInfo, PaymentProvider, RefundInfo
from payments.providers.simulated_provider import SimulatedProvider
from payments.providers.stripe_provider import StripeProvider

__all__ = ["IntentInfo", "PaymentProvider", "RefundInfo", "active_provider_name", "get_provider"]


def active_provider_name() -> str:
    """The provider new payments use: Stripe with a secret key, the simulated one without (offline)."""
    return Provider.STRIPE if settings.STRIPE_SECRET_KEY else Provider.SIMULATED


def get_provider(name: str | None = None) -> PaymentProvider:
    """The provider called ``name`` (a payment keeps the provider it was made with), else the active one."""
    name = name or active_provider_name()
    if name == Provider.STRIPE:
        return StripeProvider(
            api_key=settings.STRIPE_SECRET_KEY,
            api_base=settings.STRIPE_API_BASE,
            timeout_seconds=settings.PAYMENTS_STRIPE_TIMEOUT_SECONDS,
            max_network_retries=settings.PAYMENTS_STRIPE_MAX_NETWORK_RETRIES,
        )
    if name == Provider.SIMULATED:
        return SimulatedProvider()
    raise ValueError(f"Unknown payment provider {name!r}")
