"""``{% load payment_tags %}{% booking_payment booking %}``: the payment panel of a booking page
(pay button, payment status, tickets with QR codes), from ``templates/payments/_booking_payment.html``."""

from __future__ import annotations

from typing import Any

from django import template

from bookings.models import Booking
from payments.selectors import booking_payment_summary

register = template.Library()


@register.inclusion_tag("payments/_booking_payment.html")
def booking_payment(booking: Booking) -> dict[str, Any]:
    return {"summary": booking_payment_summary(booking=booking)}
