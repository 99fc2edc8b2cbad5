"""Seat holds, bookings and their line items.

The database carries the invariants, so a bug in application code cannot break them:

- ``SeatHold``: at most one row per seat. A row counts only while ``expires_at > now``; an expired row
  is the same as no row for every read and is replaced under the seat's row lock by the next hold.
- ``BookingItem``: at most one *active* item per seat (``is_active`` is true while its booking is pending
  payment or confirmed) — no seat can ever be sold twice (invariant 1).
- ``Booking``: at most one booking pending payment per fan and event.

Logic lives in ``bookings.services`` (writes) and ``bookings.selectors`` (reads), not here.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from events.models import Event, Seat, SeatCategory
from queueing.models import AdmissionPass


class SeatHold(models.Model):
    """A fan's claim on a seat for the rest of their admission window."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="seat_holds")
    # Indexed by the one-row-per-seat constraint below.
    seat = models.ForeignKey(Seat, on_delete=models.CASCADE, related_name="holds", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="seat_holds")
    admission_pass = models.ForeignKey(AdmissionPass, on_delete=models.CASCADE, related_name="seat_holds")
    # Always the admission pass's expiry: clients never choose how long they hold seats.
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    booking = models.ForeignKey(
        "Booking", on_delete=models.SET_NULL, null=True, blank=True, related_name="holds"
    )

    class Meta:
        ordering = ["event_id", "seat_id"]
        constraints = [
            models.UniqueConstraint(fields=["seat"], name="bookings_one_hold_row_per_seat"),
        ]
        indexes = [
            models.Index(fields=["event", "expires_at"], name="bookings_hold_event_expiry"),
            models.Index(fields=["user", "event"], name="bookings_hold_user_event"),
            models.Index(fields=["expires_at"], name="bookings_hold_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.seat} held by {self.user} until {self.expires_at:%H:%M:%S}"

    @property
    def is_live(self) -> bool:
        return self.expires_at > timezone.now()


class Booking(TimeStampedModel):
    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", _("Pending payment")
        CONFIRMED = "confirmed", _("Confirmed")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")
        REFUNDED = "refunded", _("Refunded")

    # Statuses whose line items keep their seats.
    SEAT_KEEPING_STATUSES = (Status.PENDING_PAYMENT, Status.CONFIRMED)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bookings")
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="bookings")
    reference = models.CharField(max_length=12, unique=True, help_text=_("Short code shown to the fan."))
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING_PAYMENT, db_index=True
    )
    total_amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    expires_at = models.DateTimeField(help_text=_("Payment must complete before this time."))
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "event"],
                condition=Q(status="pending_payment"),
                name="bookings_one_pending_booking_per_fan_and_event",
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"], name="bookings_booking_status_expiry")]

    def __str__(self) -> str:
        return f"{self.reference} ({self.get_status_display()})"


class BookingItem(models.Model):
    """One seat of a booking, at the price it had when the booking was made."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="items")
    seat = models.ForeignKey(Seat, on_delete=models.PROTECT, related_name="booking_items")
    category = models.ForeignKey(SeatCategory, on_delete=models.PROTECT, related_name="booking_items")
    price = models.DecimalField(max_digits=10, decimal_places=2)
    # True while the booking is pending payment or confirmed: the seat is taken by this item.
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["booking_id", "seat_id"]
        constraints = [
            # Invariant 1: no seat is sold twice, whatever the application code does.
            models.UniqueConstraint(
                fields=["seat"], condition=Q(is_active=True), name="bookings_one_active_item_per_seat"
            ),
            models.UniqueConstraint(fields=["booking", "seat"], name="bookings_seat_once_per_booking"),
        ]

    def __str__(self) -> str:
        return f"{self.seat} in {self.booking.reference}"


class Ticket(models.Model):
    """Admission for one seat of a confirmed booking. ``code`` is what the QR code carries.

    At most one valid (not voided) ticket per booking item, whatever the application code does; a refund
    or a cancellation voids the tickets (``voided_at``), so a scanned code of such a booking is refused.
    """

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="tickets")
    item = models.ForeignKey(BookingItem, on_delete=models.CASCADE, related_name="tickets")
    code = models.CharField(max_length=32)
    issued_at = models.DateTimeField(default=timezone.now)
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["booking_id", "item_id", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["code"], name="bookings_ticket_code_unique"),
            models.UniqueConstraint(
                fields=["item"],
                condition=Q(voided_at__isnull=True),
                name="bookings_one_valid_ticket_per_item",
            ),
        ]

    def __str__(self) -> str:
        return f"Ticket {self.code} ({self.item.seat})"

    @property
    def is_valid(self) -> bool:
        return self.voided_at is None
