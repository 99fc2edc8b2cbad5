"""Stripe through the official library (``StripeClient``), test-mode keys from the environment.

``settings.STRIPE_API_BASE`` replaces Stripe's API address when set: the tests point it at a local fake
server. Errors become the payments error family and are logged (never the secret key or client secret).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import stripe

from payments.exceptions import PaymentDeclined, PaymentProviderError, PaymentProviderUnavailable
from payments.providers.base import IntentInfo, RefundInfo

logger = logging.getLogger(__name__)

T = TypeVar("T")


def _as_dict(resource: Any) -> dict[str, Any]:
    # StripeObject is no longer a dict (stripe >= 13): work on a plain copy.
    return resource.to_dict() if hasattr(resource, "to_dict") else dict(resource)


def intent_info(resource: Any) -> IntentInfo:
    intent = _as_dict(resource)
    error = intent.get("last_payment_error") or {}
    return IntentInfo(
        id=intent["id"],
        client_secret=intent.get("client_secret") or "",
        status=intent["status"],
        amount=int(intent["amount"]),
        currency=str(intent["currency"]).upper(),
        last_error=str(error.get("message") or ""),
    )


class StripeProvider:
    name = "stripe"

    def __init__(
        self, *, api_key: str, api_base: str = "", timeout_seconds: float = 10, max_network_retries: int = 2
    ) -> None:
        options: dict[str, Any] = {}
        if api_base:
            options["base_addresses"] = {"api": api_base}
        self._client = stripe.StripeClient(
            api_key,
            http_client=stripe.RequestsClient(timeout=timeout_seconds),
            max_network_retries=max_network_retries,
            **options,
        )

    def _call(self, operation: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except stripe.CardError as exc:
            logger.info("Stripe declined %s: %s", operation, exc.code)
            raise PaymentDeclined(exc.user_message or None) from exc
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            # Never reached Stripe's idempotency layer (or was turned away before it): the key is unused.
            logger.warning("Stripe unreachable during %s: %s", operation, exc.__class__.__name__)
            raise PaymentProviderUnavailable() from exc
        except stripe.StripeError as exc:
            if exc.http_status is None or exc.http_status >= 500:
                logger.warning("Stripe failed during %s: HTTP %s", operation, exc.http_status)
                raise PaymentProviderUnavailable(idempotency_key_spent=exc.http_status is not None) from exc
            logger.error(
                "Stripe refused %s: HTTP %s %s (request %s)",
                operation,
                exc.http_status,
                exc.code,
                exc.request_id,
            )
            raise PaymentProviderError(idempotency_key_spent=True) from exc

    def create_intent(
        self, *, amount_minor: int, currency: str, metadata: Mapping[str, str], idempotency_key: str
    ) -> IntentInfo:
        params: Any = {
            "amount": amount_minor,
            "currency": currency.lower(),
            "metadata": dict(metadata),
            "automatic_payment_methods": {"enabled": True},
        }
        intent = self._call(
            "create_intent",
            lambda: self._client.v1.payment_intents.create(params, {"idempotency_key": idempotency_key}),
        )
        return intent_info(intent)

    def retrieve_intent(self, intent_id: str) -> IntentInfo:
        intent = self._call("retrieve_intent", lambda: self._client.v1.payment_intents.retrieve(intent_id))
        return intent_info(intent)

    def refund(self, *, intent_id: str, amount_minor: int | None = None, idempotency_key: str) -> RefundInfo:
        params: Any = {"payment_intent": intent_id}
        if amount_minor is not None:
            params["amount"] = amount_minor
        refund = self._call(
            "refund", lambda: self._client.v1.refunds.create(params, {"idempotency_key": idempotency_key})
        )
        body = _as_dict(refund)
        return RefundInfo(id=body["id"], status=body["status"], amount=int(body["amount"]))
