"""Payments, refunds and webhook events in the admin: read-only (the services write them)."""

from __future__ import annotations

from django.contrib import admin

from bookings.admin import ReadOnlyAdminMixin
from payments.models import Payment, Refund, WebhookEvent


class RefundInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Refund
    fields = ("status", "reason", "amount_minor", "currency", "provider_refund_id", "attempts", "last_error")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "provider_intent_id",
        "booking",
        "status",
        "amount_minor",
        "currency",
        "provider",
        "attempt",
        "created_at",
    )
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
        "amount_minor",
        "currency",
        "status",
        "last_error",
        "succeeded_at",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
    inlines = (RefundInline,)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("payment", "status", "reason", "amount_minor", "currency", "attempts", "created_at")
    list_filter = ("status", "reason")
    list_select_related = ("payment", "payment__booking")
    search_fields = ("payment__booking__reference", "payment__provider_intent_id", "provider_refund_id")
    readonly_fields = (
        "payment",
        "provider_refund_id",
        "amount_minor",
        "currency",
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
