"""The interface every payment provider implements, in Stripe's vocabulary (intents, refunds).

Amounts are integer minor units; currencies upper-case ISO codes. Providers raise the payments error
family: ``PaymentProviderUnavailable`` (retry later), ``PaymentDeclined``, ``PaymentProviderError``.
They never run inside a database transaction of ours (callers make sure of it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class IntentInfo:
    id: str
    client_secret: str
    # Stripe's statuses: requires_payment_method, requires_confirmation, requires_action, processing,
    # requires_capture, canceled, succeeded.
    status: str
    amount: int
    currency: str
    last_error: str = ""


@dataclass(frozen=True)
class RefundInfo:
    id: str
    status: str  # pending, requires_action, succeeded, failed, canceled
    amount: int


class PaymentProvider(Protocol):
    name: str

    def create_intent(
        self, *, amount_minor: int, currency: str, metadata: Mapping[str, str], idempotency_key: str
    ) -> IntentInfo: ...

    def retrieve_intent(self, intent_id: str) -> IntentInfo: ...

    def refund(
        self, *, intent_id: str, amount_minor: int | None = None, idempotency_key: str
    ) -> RefundInfo: ...
