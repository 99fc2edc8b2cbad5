"""E-mails to the fan: tickets with their QR codes (inline PNG images), refunds. Sent by Celery tasks
after the transaction that caused them has committed."""

from __future__ import annotations

from dataclasses import dataclass
from email.mime.image import MIMEImage

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from bookings.models import Booking, Ticket
from events.money import price_display
from payments.models import Refund
from payments.qr import qr_png
from payments.selectors import tickets_for_booking


@dataclass(frozen=True)
class _TicketEntry:
    ticket: Ticket
    cid: str  # the Content-ID of its QR image, referenced as "cid:..." in the HTML part


def send_booking_confirmed(*, booking_id: int) -> bool:
    """The tickets of a confirmed booking, each with its QR code. Returns whether a mail was sent."""
    booking = Booking.objects.select_related("user", "event", "event__venue").get(pk=booking_id)
    tickets = tickets_for_booking(booking=booking)
    if booking.status != Booking.Status.CONFIRMED or not tickets:
        return False  # refunded or cancelled meanwhile: no tickets to send
    entries = [_TicketEntry(ticket=ticket, cid=f"ticket-{ticket.code}@turnstile") for ticket in tickets]
    context = {
        "booking": booking,
        "event": booking.event,
        "entries": entries,
        "total": price_display(booking.total_amount, booking.currency),
    }
    message = EmailMultiAlternatives(
        subject=_("Your tickets for %(event)s (%(reference)s)")
        % {"event": booking.event.name, "reference": booking.reference},
        body=render_to_string("emails/booking_confirmed.txt", context),
        to=[booking.user.email],
    )
    message.attach_alternative(render_to_string("emails/booking_confirmed.html", context), "text/html")
    message.mixed_subtype = "related"  # type: ignore[attr-defined]  # a class attribute the stubs omit
    for entry in entries:
        code = entry.ticket.code
        image = MIMEImage(qr_png(code), "png")
        image.add_header("Content-ID", f"<{entry.cid}>")
        image.add_header("Content-Disposition", "inline", filename=f"ticket-{code}.png")
        message.attach(image)
    message.send()
    return True


def send_refund_notice(*, refund_id: int) -> bool:
    refund = Refund.objects.select_related(
        "payment__booking__user", "payment__booking__event", "payment__booking__event__venue"
    ).get(pk=refund_id)
    booking = refund.payment.booking
    context = {
        "booking": booking,
        "event": booking.event,
        "refund": refund,
        "late_payment": refund.reason in Refund.LATE_REASONS,
        "amount": price_display(booking.total_amount, booking.currency),
    }
    EmailMultiAlternatives(
        subject=_("Refund for your booking %(reference)s") % {"reference": booking.reference},
        body=render_to_string("emails/refund.txt", context),
        to=[booking.user.email],
    ).send()
    return True
