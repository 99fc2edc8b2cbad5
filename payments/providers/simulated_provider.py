"""The offline provider (no keys, no network): intents live in our database, and a checkout page lets the
fan choose "the payment succeeds" or "is declined".

Completing a checkout produces the same webhook-style events Stripe sends
(``payment_intent.succeeded`` / ``payment_intent.payment_failed``), which ``payments.services`` processes
with the same code as Stripe's webhooks. A decline leaves the intent payable, as Stripe does.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from payments.exceptions import PaymentAlreadyCompleted, PaymentProviderError
from payments.models import SimulatedIntent, SimulatedRefund
from payments.providers.base import IntentInfo, RefundInfo

PAYABLE = "requires_payment_method"
SUCCEEDED = "succeeded"
DECLINE_MESSAGE = "Your card was declined. (Simulated payment)"


def _info(intent: SimulatedIntent) -> IntentInfo:
    return IntentInfo(
        id=intent.id,
        client_secret=intent.client_secret,
        status=intent.status,
        amount=intent.amount,
        currency=intent.currency,
        last_error=intent.last_error,
    )


def intent_object(intent: SimulatedIntent) -> dict[str, Any]:
    """The intent as Stripe puts it in an event's ``data.object``."""
    return {
        "id": intent.id,
        "object": "payment_intent",
        "amount": intent.amount,
        "amount_received": intent.amount if intent.status == SUCCEEDED else 0,
        "currency": intent.currency.lower(),
        "status": intent.status,
        "metadata": intent.metadata,
        "last_payment_error": {"message": intent.last_error} if intent.last_error else None,
        "created": int(intent.created_at.timestamp()),
    }


class SimulatedProvider:
    name = "simulated"

    def create_intent(
        self, *, amount_minor: int, currency: str, metadata: Mapping[str, str], idempotency_key: str
    ) -> IntentInfo:
        intent_id = f"pi_sim_{secrets.token_hex(12)}"
        intent, _created = SimulatedIntent.objects.get_or_create(
            idempotency_key=idempotency_key,
            defaults={
                "id": intent_id,
                "client_secret": f"{intent_id}_secret_{secrets.token_urlsafe(18)}",
                "amount": amount_minor,
                "currency": currency.upper(),
                "metadata": dict(metadata),
            },
        )
        return _info(intent)

    def retrieve_intent(self, intent_id: str) -> IntentInfo:
        intent = SimulatedIntent.objects.filter(pk=intent_id).first()
        if intent is None:
            raise PaymentProviderError(f"No such payment intent: {intent_id}")
        return _info(intent)

    def refund(self, *, intent_id: str, amount_minor: int | None = None, idempotency_key: str) -> RefundInfo:
        intent = SimulatedIntent.objects.filter(pk=intent_id, status=SUCCEEDED).first()
        if intent is None:
            raise PaymentProviderError(f"No succeeded payment intent {intent_id} to refund")
        refund, _created = SimulatedRefund.objects.get_or_create(
            idempotency_key=idempotency_key,
            defaults={
                "id": f"re_sim_{secrets.token_hex(12)}",
                "intent": intent,
                "amount": intent.amount if amount_minor is None else amount_minor,
            },
        )
        return RefundInfo(id=refund.id, status="succeeded", amount=refund.amount)

    @transaction.atomic
    def complete_checkout(self, *, intent_id: str, succeed: bool) -> dict[str, Any]:
        """What the card network would do: the payment succeeds or is declined. Returns the event."""
        intent = SimulatedIntent.objects.select_for_update().filter(pk=intent_id).first()
        if intent is None:
            raise PaymentProviderError(f"No such payment intent: {intent_id}")
        if intent.status != PAYABLE:
            raise PaymentAlreadyCompleted()
        if succeed:
            intent.status = SUCCEEDED
            intent.last_error = ""
            event_type = "payment_intent.succeeded"
        else:
            intent.last_error = DECLINE_MESSAGE
            event_type = "payment_intent.payment_failed"
        intent.save(update_fields=["status", "last_error"])
        return {
            "id": f"evt_sim_{secrets.token_hex(12)}",
            "object": "event",
            "type": event_type,
            "created": int(timezone.now().timestamp()),
            "data": {"object": intent_object(intent)},
        }
