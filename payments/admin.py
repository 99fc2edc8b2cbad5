"""Payments, refunds and webhook events in the admin: read-only (the services write them)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from bookings.admin import ReadOnlyAdminMixin
from events.money import minor_units_display
from payments.models import Payment, Refund, WebhookEvent


class MoneyColumnMixin:
    """Amounts are stored in minor units (paise, cents): show them as money in their currency."""

    @admin.display(description=_("amount"), ordering="amount_minor")
    def amount(self, row: Payment | Refund) -> str:
        return minor_units_display(row.amount_minor, row.currency)


class RefundInline(MoneyColumnMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = Refund
    fields = ("status", "reason", "amount", "provider_refund_id", "attempts", "last_error")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Payment)
class PaymentAdmin(MoneyColumnMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    # Narrow enough for 1280x800: provider, attempt and currency are filters or on the detail page.
    list_display = ("booking", "status", "amount", "provider_intent_id", "created_at")
    list_filter = ("status", "provider", "currency")
    list_select_related = ("booking",)
    search_fields = ("booking__reference", "provider_intent_id", "booking__user__email")
    date_hierarchy = "created_at"
    # The client secret stays out of the admin.
    fields = (
        "booking",
        "attempt",
        "provider",
        "provider_intent_id",
        "idempotency_key",
        "amount",
        "status",
        "last_error",
        "succeeded_at",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
    inlines = (RefundInline,)


@admin.register(Refund)
class RefundAdmin(MoneyColumnMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("payment", "status", "reason", "amount", "created_at")
    list_filter = ("status", "reason")
    list_select_related = ("payment", "payment__booking")
    search_fields = ("payment__booking__reference", "payment__provider_intent_id", "provider_refund_id")
    readonly_fields = (
        "payment",
        "provider_refund_id",
        "amount",
        "reason",
        "status",
        "idempotency_key",
        "requested_by",
        "attempts",
        "last_error",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("event_id", "type", "provider", "result", "received_at", "processed_at")
    list_filter = ("provider", "type", "result")
    search_fields = ("event_id", "payload__id", "payload__payment_intent")
    date_hierarchy = "received_at"
    fields = ("provider", "event_id", "type", "result", "received_at", "processed_at", "payload")
    readonly_fields = fields
