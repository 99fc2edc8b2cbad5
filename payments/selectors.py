"""Reads of payments and tickets, for the booking page's payment panel, e-mails and the API.

Public interface (keyword-only):

- ``tickets_for_booking(booking=) -> list[Ticket]`` — the valid tickets of a confirmed booking, by seat.
- ``ticket_views(tickets=) -> list[TicketView]`` — with seat labels and QR codes (SVG data URIs).
- ``payment_latest_for_booking(booking=) -> Payment | None``.
- ``booking_payment_summary(booking=, now=None) -> BookingPaymentSummary`` — what the fan should see
  about paying for a booking: a state, whether they can pay now, the tickets, the refund.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking, Ticket
from events.money import price_display
from payments.models import Payment, Refund
from payments.qr import qr_svg_data_uri


class PaymentState:
    AWAITING_PAYMENT = "awaiting_payment"
    PROCESSING = "processing"
    PAID = "paid"
    DECLINED = "declined"
    EXPIRED = "expired"
    REFUNDED = "refunded"
    REFUNDED_LATE = "refunded_late"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class TicketView:
    code: str
    seat_label: str
    category: str
    qr_data_uri: str


@dataclass(frozen=True)
class BookingPaymentSummary:
    booking: Booking
    state: str
    amount_display: str
    payment: Payment | None = None
    refund: Refund | None = None
    can_pay: bool = False
    pay_url: str = ""
    tickets: list[TicketView] = field(default_factory=list)


def tickets_for_booking(*, booking: Booking) -> list[Ticket]:
    if booking.status != Booking.Status.CONFIRMED:
        return []
    return list(
        Ticket.objects.filter(booking=booking, voided_at__isnull=True)
        .select_related("item__seat", "item__category")
        .order_by("item__seat__section", "item__seat__row", "item__seat__number", "pk")
    )


def _seat_label(ticket: Ticket) -> str:
    seat = ticket.item.seat
    return f"{seat.section} · Row {seat.row} · Seat {seat.number}"


def ticket_views(*, tickets: list[Ticket]) -> list[TicketView]:
    return [
        TicketView(
            code=ticket.code,
            seat_label=_seat_label(ticket),
            category=ticket.item.category.name,
            qr_data_uri=qr_svg_data_uri(ticket.code),
        )
        for ticket in tickets
    ]


def payment_latest_for_booking(*, booking: Booking) -> Payment | None:
    return Payment.objects.filter(booking=booking).order_by("-attempt", "-pk").first()


def _state(booking: Booking, payment: Payment | None, refund: Refund | None, now: datetime) -> str:
    Status = Booking.Status
    if booking.status == Status.CONFIRMED:
        return PaymentState.PAID
    if booking.status == Status.REFUNDED:
        late = refund is not None and refund.reason in Refund.LATE_REASONS
        return PaymentState.REFUNDED_LATE if late else PaymentState.REFUNDED
    if booking.status == Status.CANCELLED:
        return PaymentState.CANCELLED
    if payment is not None and payment.status == Payment.Status.PROCESSING:
        return PaymentState.PROCESSING
    if booking.status == Status.PENDING_PAYMENT and booking.expires_at > now:
        return PaymentState.AWAITING_PAYMENT
    if payment is not None and payment.status in (Payment.Status.FAILED, Payment.Status.CANCELED):
        return PaymentState.DECLINED
    return PaymentState.EXPIRED


def booking_payment_summary(*, booking: Booking, now: datetime | None = None) -> BookingPaymentSummary:
    now = now or timezone.now()
    payment = payment_latest_for_booking(booking=booking)
    refund = Refund.objects.filter(payment__booking=booking).order_by("-pk").first()
    state = _state(booking, payment, refund, now)
    return BookingPaymentSummary(
        booking=booking,
        state=state,
        amount_display=price_display(booking.total_amount, booking.currency),
        payment=payment,
        refund=refund,
        can_pay=state == PaymentState.AWAITING_PAYMENT,
        pay_url=reverse("payments:checkout", kwargs={"reference": booking.reference}),
        tickets=ticket_views(tickets=tickets_for_booking(booking=booking))
        if state == PaymentState.PAID
        else [],
    )
