"""Errors of payments (codes and statuses are part of the API)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import status

from core.exceptions import ApplicationError, Conflict, NotFound


class PaymentProviderFailure(ApplicationError):
    """The provider did not do what we asked.

    ``idempotency_key_spent``: the provider answered, and stored that answer under the request's
    idempotency key (Stripe replays even a 500 for the same key for 24 hours), so a retry needs a new key.
    False when the request may never have arrived (connection error, timeout, rate limit): a retry with the
    same key is safe, and returns the first result if there was one.
    """

    def __init__(
        self, message: str | None = None, *, details: dict | None = None, idempotency_key_spent: bool = False
    ) -> None:
        super().__init__(message, details=details)
        self.idempotency_key_spent = idempotency_key_spent


class PaymentProviderUnavailable(PaymentProviderFailure):
    """The provider could not be reached, timed out or failed on its side (5xx, rate limit): retry later."""

    code = "PAYMENT_PROVIDER_UNAVAILABLE"
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_message = _(
        "The payment service is unreachable right now. Nothing was charged and your booking is unchanged; "
        "please try again in a moment."
    )


class PaymentProviderError(PaymentProviderFailure):
    """The provider refused the request for a reason that retrying will not fix (logged for staff)."""

    code = "PAYMENT_PROVIDER_ERROR"
    status_code = status.HTTP_502_BAD_GATEWAY
    default_message = _("The payment service returned an error. Nothing was charged; please contact us.")


class PaymentDeclined(ApplicationError):
    code = "PAYMENT_DECLINED"
    status_code = status.HTTP_402_PAYMENT_REQUIRED
    default_message = _("The payment was declined. Nothing was charged.")


class PaymentNotFound(NotFound):
    default_message = _("No such payment.")


class PaymentAlreadyCompleted(Conflict):
    """The simulated checkout was submitted again for a payment that already went through."""

    code = "PAYMENT_ALREADY_COMPLETED"
    default_message = _("This payment has already been completed.")


class NothingToRefund(Conflict):
    code = "NOTHING_TO_REFUND"
    default_message = _("This booking has no completed payment to refund.")


class AlreadyRefunded(Conflict):
    code = "ALREADY_REFUNDED"
    default_message = _("This booking's payment has already been refunded.")
