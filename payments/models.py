"""Payments, refunds and the provider's webhook events, in integer minor units (paise for INR).

The database carries the invariants:

- ``Payment``: one provider intent per row (unique intent id) and one idempotency key per booking attempt;
  at most one *active* payment (awaiting payment or processing) per booking, so a double click or a retry
  can never start a second charge.
- ``WebhookEvent``: each provider event id is recorded once; a redelivered event hits the unique
  constraint and is acknowledged without being processed again.
- ``Refund``: full refunds only, at most one per payment: money is never returned twice.

``SimulatedIntent`` / ``SimulatedRefund`` are the offline provider's own records (what Stripe would keep).
Logic lives in ``payments.services`` and ``payments.selectors``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bookings.models import Booking
from core.models import TimeStampedModel


class Provider(models.TextChoices):
    STRIPE = "stripe", _("Stripe")
    SIMULATED = "simulated", _("Simulated (offline)")


class Payment(TimeStampedModel):
    class Status(models.TextChoices):
        REQUIRES_PAYMENT = "requires_payment", _("Awaiting payment")
        PROCESSING = "processing", _("Processing")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELED = "canceled", _("Canceled")
        REFUND_PENDING = "refund_pending", _("Refund pending")
        REFUNDED = "refunded", _("Refunded")

    ACTIVE_STATUSES = (Status.REQUIRES_PAYMENT, Status.PROCESSING)
    # The money arrived (and may be on its way back): a late failure event must not undo these.
    PAID_STATUSES = (Status.SUCCEEDED, Status.REFUND_PENDING, Status.REFUNDED)

    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="payments")
    attempt = models.PositiveSmallIntegerField(default=1)
    provider = models.CharField(max_length=16, choices=Provider.choices)
    # Null between reserving the row and the provider's answer (the call happens outside transactions).
    provider_intent_id = models.CharField(max_length=255, null=True, blank=True)
    client_secret = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=100)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.REQUIRES_PAYMENT, db_index=True
    )
    last_error = models.TextField(blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["provider_intent_id"], name="payments_intent_id_unique"),
            models.UniqueConstraint(fields=["idempotency_key"], name="payments_idempotency_key_unique"),
            models.UniqueConstraint(fields=["booking", "attempt"], name="payments_attempt_once_per_booking"),
            models.UniqueConstraint(
                fields=["booking"],
                condition=Q(status__in=["requires_payment", "processing"]),
                name="payments_one_active_payment_per_booking",
            ),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="payments_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.provider_intent_id or 'intent pending'} for {self.booking.reference}"


class WebhookEvent(models.Model):
    provider = models.CharField(max_length=16, choices=Provider.choices)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=100)
    payload = models.JSONField(help_text=_("The event's data object, as the provider sent it."))
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="payments_webhook_event_once"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class Refund(TimeStampedModel):
    class Reason(models.TextChoices):
        STAFF = "staff", _("Refunded by staff")
        LATE_PAYMENT_SEATS_GONE = "late_payment_seats_gone", _("Paid after the hold expired; seats sold")
        BOOKING_NOT_PAYABLE = "booking_not_payable", _("Paid for a cancelled or refunded booking")
        PROVIDER = "provider", _("Refunded at the provider (e.g. the Stripe dashboard)")

    # Refunds of payments that arrived for seats we could no longer sell.
    LATE_REASONS = (Reason.LATE_PAYMENT_SEATS_GONE, Reason.BOOKING_NOT_PAYABLE)

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending (to send to the provider)")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed (needs staff)")

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    provider_refund_id = models.CharField(max_length=255, null=True, blank=True)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=32, choices=Reason.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    idempotency_key = models.CharField(max_length=100)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # Full refunds only: one per payment, so the money can never go back twice.
            models.UniqueConstraint(fields=["payment"], name="payments_one_refund_per_payment"),
            models.UniqueConstraint(fields=["provider_refund_id"], name="payments_refund_id_unique"),
            models.UniqueConstraint(fields=["idempotency_key"], name="payments_refund_key_unique"),
        ]

    def __str__(self) -> str:
        return f"Refund of {self.payment} ({self.get_status_display()})"


class SimulatedIntent(models.Model):
    """The offline provider's payment intent, shaped like Stripe's."""

    id = models.CharField(max_length=64, primary_key=True)
    client_secret = models.CharField(max_length=128)
    idempotency_key = models.CharField(max_length=100, unique=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=32, default="requires_payment_method")
    metadata = models.JSONField(default=dict)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.id


class SimulatedRefund(models.Model):
    id = models.CharField(max_length=64, primary_key=True)
    intent = models.ForeignKey(SimulatedIntent, on_delete=models.CASCADE, related_name="refunds")
    idempotency_key = models.CharField(max_length=100, unique=True)
    amount = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.id
