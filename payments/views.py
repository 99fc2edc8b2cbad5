"""Pages of payments (checkout, the return from Stripe, the simulated checkout) and Stripe's webhook.

Thin: parse input, call a service, render or redirect. Application errors become readable messages.
"""

from __future__ import annotations

import json
import logging

import stripe
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from bookings.models import Booking
from core.exceptions import ApplicationError, Busy, error_body
from payments.exceptions import PaymentNotFound
from payments.models import Payment, Provider
from payments.providers import active_provider_name
from payments.selectors import booking_payment_summary, payment_latest_for_booking
from payments.services import (
    PaymentConfirmation,
    payment_confirm,
    payment_intent_get_or_create,
    simulated_checkout_complete,
    webhook_event_process,
)

logger = logging.getLogger(__name__)


def _own_booking_or_404(request: HttpRequest, reference: str) -> Booking:
    booking = (
        Booking.objects.select_related("event", "event__venue")
        .filter(user_id=request.user.pk, reference=reference.upper())
        .first()
    )
    if booking is None:  # unknown, or another fan's: the same answer
        raise Http404(_("No such booking."))
    return booking


def booking_page_url(booking: Booking) -> str:
    try:
        return reverse("bookings:detail", kwargs={"reference": booking.reference})
    except NoReverseMatch:  # the booking pages are not installed
        return f"/bookings/{booking.reference}/"


def _tell_outcome(request: HttpRequest, confirmation: PaymentConfirmation) -> None:
    status = confirmation.status
    if confirmation.booking_status == Booking.Status.CONFIRMED:
        messages.success(request, _("Payment received: your booking is confirmed. Your tickets are below."))
    elif status in (Payment.Status.REFUND_PENDING, Payment.Status.REFUNDED):
        messages.warning(
            request,
            _(
                "Your payment arrived after your seats had been released and sold to someone else. "
                "We are refunding it in full."
            ),
        )
    elif status in (Payment.Status.FAILED, Payment.Status.CANCELED):
        pass  # the booking page's payment panel says it, with the way back to the seat map: once
    elif status == Payment.Status.PROCESSING:
        messages.info(request, _("Your payment is being processed. This page will show your tickets soon."))
    else:
        messages.info(request, _("We have not received your payment yet."))


@never_cache
@login_required
@require_GET
def checkout(request: HttpRequest, reference: str) -> HttpResponse:
    """Pay for a booking: Stripe's Payment Element with Stripe keys, the simulated form without them.

    Reloading or opening it twice shows the same payment intent (one per booking attempt).
    """
    booking = _own_booking_or_404(request, reference)
    if booking.status == Booking.Status.CONFIRMED:
        messages.info(request, _("This booking is already paid."))
        return redirect(booking_page_url(booking))
    now = timezone.now()
    if booking.status != Booking.Status.PENDING_PAYMENT:
        # Expired, cancelled or refunded: the booking page says what happened and offers the way back.
        return redirect(booking_page_url(booking))
    context: dict = {
        "booking": booking,
        "booking_url": booking_page_url(booking),
        "now": now,
        "is_pending": booking.expires_at > now,
        "items": booking.items.select_related("seat", "category").order_by("pk"),
    }
    try:
        payment, _created = payment_intent_get_or_create(user=request.user, booking=booking)
    except ApplicationError as error:
        context.update(error=error.message, summary=booking_payment_summary(booking=booking))
        return render(request, "payments/checkout.html", context, status=error.status_code)
    context.update(
        payment=payment,
        summary=booking_payment_summary(booking=booking),
        simulated=payment.provider == Provider.SIMULATED,
        publishable_key=settings.STRIPE_PUBLISHABLE_KEY,
        return_url=request.build_absolute_uri(
            reverse("payments:return", kwargs={"reference": booking.reference})
        ),
    )
    return render(request, "payments/checkout.html", context)


@login_required
@require_POST
def simulated_checkout(request: HttpRequest, reference: str) -> HttpResponse:
    """The offline provider's "card network": only exists while no Stripe keys are set, owner only."""
    if active_provider_name() != Provider.SIMULATED:
        raise Http404(_("No such page."))
    booking = _own_booking_or_404(request, reference)
    outcome = request.POST.get("outcome")
    if outcome not in ("succeed", "decline"):
        messages.error(request, _("Choose whether the payment succeeds or is declined."))
        return redirect(reverse("payments:checkout", kwargs={"reference": booking.reference}))
    try:
        confirmation = simulated_checkout_complete(
            user=request.user,
            booking=booking,
            payment_intent_id=request.POST.get("payment_intent_id", ""),
            succeed=outcome == "succeed",
        )
    except PaymentNotFound as error:
        raise Http404(error.message) from error
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        _tell_outcome(request, confirmation)
    return redirect(booking_page_url(booking))


@never_cache
@login_required
@require_GET
def payment_return(request: HttpRequest, reference: str) -> HttpResponse:
    """Where Stripe sends the fan after paying: the server checks the intent's real status."""
    booking = _own_booking_or_404(request, reference)
    intent_id = request.GET.get("payment_intent") or ""
    if not intent_id:
        latest = payment_latest_for_booking(booking=booking)
        intent_id = (latest.provider_intent_id if latest else None) or ""
    try:
        confirmation = payment_confirm(user=request.user, payment_intent_id=intent_id)
    except PaymentNotFound as error:
        raise Http404(error.message) from error
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        if confirmation.booking_id != booking.pk:
            raise Http404(_("No such payment."))
        _tell_outcome(request, confirmation)
    return redirect(booking_page_url(booking))


def _webhook_error(code: str, message: str, status: int = 400) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """Stripe's events: verified signature (within 5 minutes), processed once per event id."""
    payload = request.body.decode("utf-8", errors="replace")
    try:
        # Raises for a missing or wrong signature, a stale timestamp, a missing secret, or bad JSON.
        stripe.Webhook.construct_event(
            payload, request.headers.get("Stripe-Signature"), settings.STRIPE_WEBHOOK_SECRET
        )
    except stripe.SignatureVerificationError:
        logger.warning("Stripe webhook with an invalid or stale signature rejected")
        return _webhook_error("INVALID_SIGNATURE", _("Invalid or expired webhook signature."))
    except (ValueError, TypeError, KeyError, AttributeError):
        return _webhook_error("INVALID_PAYLOAD", _("Malformed webhook payload."))
    try:
        event = json.loads(payload)
        event_id, event_type, data = str(event["id"]), str(event["type"]), event["data"]["object"]
        if not isinstance(data, dict):
            raise TypeError("data.object is not an object")
    except (ValueError, KeyError, TypeError):
        return _webhook_error("INVALID_PAYLOAD", _("Malformed webhook payload."))
    try:
        result = webhook_event_process(
            provider=Provider.STRIPE, event_id=event_id, event_type=event_type, data=data
        )
    except Busy as error:  # Stripe retries non-2xx answers
        return _webhook_error(error.code, error.message, status=error.status_code)
    return JsonResponse({"received": True, "result": result})
