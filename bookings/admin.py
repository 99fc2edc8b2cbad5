from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from bookings.models import Booking, BookingItem, SeatHold
from bookings.services import booking_cancel
from core.exceptions import ApplicationError
from events.money import price_display
from payments.models import Payment
from payments.services import booking_refund


class ReadOnlyAdminMixin:
    """Rows written only by the services: staff look, they do not edit."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class BookingItemInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = BookingItem
    fields = ("seat", "category", "price", "is_active")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[BookingItem]:
        return super().get_queryset(request).select_related("seat", "category")


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    # Few, narrow columns: the status and the amount must be visible at 1280x800 without scrolling.
    list_display = ("reference", "user", "event", "status", "total", "created_at")
    list_filter = ("status", "event")
    list_select_related = ("user", "event")
    search_fields = ("reference", "user__email")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-pk")
    readonly_fields = (
        "reference",
        "user",
        "event",
        "status",
        "total",
        "expires_at",
        "confirmed_at",
        "cancelled_at",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields
    inlines = (BookingItemInline,)
    actions = ("cancel_bookings", "refund_bookings")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("total"), ordering="total_amount")
    def total(self, booking: Booking) -> str:
        return price_display(booking.total_amount, booking.currency)

    @admin.action(description=_("Cancel selected bookings (seats return to sale)"), permissions=["change"])
    def cancel_bookings(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        cancelled = 0
        for booking in queryset.order_by("pk"):
            try:
                booking_cancel(booking=booking, by_staff=True)
            except ApplicationError as exc:
                self.message_user(request, f"{booking.reference}: {exc.message}", messages.WARNING)
            else:
                cancelled += 1
        if cancelled:
            self.message_user(
                request,
                ngettext(
                    "%(count)d booking cancelled; its seats are on sale again.",
                    "%(count)d bookings cancelled; their seats are on sale again.",
                    cancelled,
                )
                % {"count": cancelled},
                messages.SUCCESS,
            )

    @admin.action(
        description=_("Refund selected bookings (provider refund, seats back on sale, fan notified)"),
        permissions=["change"],
    )
    def refund_bookings(self, request: HttpRequest, queryset: QuerySet[Booking]) -> TemplateResponse | None:
        """First a confirmation page listing what will be refunded; the refunds run on its POST."""
        bookings = list(queryset.select_related("user", "event").order_by("pk"))
        if request.POST.get("post") != "yes":
            return self._refund_confirmation(request, bookings)
        refunded = 0
        for booking in bookings:
            try:
                booking_refund(booking=booking, by_staff_user=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"{booking.reference}: {exc.message}", messages.WARNING)
            else:
                refunded += 1
        if refunded:
            self.message_user(
                request,
                ngettext(
                    "%(count)d booking refunded; its seats are on sale again and the fan was notified.",
                    "%(count)d bookings refunded; their seats are on sale again and the fans were notified.",
                    refunded,
                )
                % {"count": refunded},
                messages.SUCCESS,
            )
        return None

    def _refund_confirmation(self, request: HttpRequest, bookings: list[Booking]) -> TemplateResponse:
        paid = set(
            Payment.objects.filter(booking__in=bookings, status=Payment.Status.SUCCEEDED).values_list(
                "booking_id", flat=True
            )
        )
        rows = [
            {
                "booking": booking,
                "total": price_display(booking.total_amount, booking.currency),
                "refundable": booking.pk in paid,
            }
            for booking in bookings
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Refund these bookings?"),
            "opts": self.model._meta,
            "rows": rows,
            "refundable_count": sum(1 for row in rows if row["refundable"]),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "action": "refund_bookings",
        }
        return TemplateResponse(request, "admin/bookings/booking/refund_confirmation.html", context)


@admin.register(SeatHold)
class SeatHoldAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Current holds per event (filter by event); expired rows wait for the sweep and count as free."""

    list_display = ("seat", "event", "user", "expires_at", "state", "booking")
    list_filter = ("event",)
    list_select_related = ("seat", "event", "user", "booking")
    search_fields = ("user__email", "seat__section", "seat__row")
    ordering = ("event", "seat_id")

    # Words, not a red cross: an expired hold is normal, not an error.
    @admin.display(description=_("state"))
    def state(self, hold: SeatHold) -> str:
        return str(_("Holding")) if hold.expires_at > timezone.now() else str(_("Expired (seat free)"))
