"""Writes of payments: intents, the provider's events, refunds. Views, API views, tasks and the admin
call these; the providers (``payments.providers``) are the only code that talks to Stripe.

Public interface (keyword-only):

- ``payment_intent_get_or_create(user=, booking=) -> (Payment, created)`` and
  ``payment_intent_create(user=, booking=) -> Payment`` — one intent per booking attempt. Only the owner's
  booking pending payment within its window (``BookingNotFound`` 404 for another fan's,
  ``BookingNotPayable`` 409 otherwise, ``NotAdmitted`` 403 without a valid pass). A double click or a retry
  returns the same payment; the provider sees one idempotency key per attempt.
  ``PaymentProviderUnavailable`` (503) when the provider cannot be reached: nothing is confirmed.
- ``payment_confirm(user=, payment_intent_id=) -> PaymentConfirmation`` — the client says it paid; the
  server retrieves the intent from the provider and acts only on its real status.
- ``webhook_event_process(provider=, event_id=, event_type=, data=) -> str`` — once per event id
  (a redelivery returns ``"duplicate"`` and changes nothing). ``data`` is the event's ``data.object``.
- ``simulated_checkout_complete(user=, booking=, payment_intent_id=, succeed=) -> PaymentConfirmation`` —
  the offline provider's checkout: produces the same event Stripe would send and processes it here.
- ``booking_refund(booking=, by_staff_user=) -> Refund`` — staff refund: booking refunded, tickets voided,
  seats back on sale at once; the provider refund follows after commit.
- ``refund_send(refund_id=) -> Refund`` and ``refunds_retry_pending(older_than_seconds=) -> int`` — the
  provider call of a recorded refund (idempotency key per refund), retried by Celery beat.

Transactions: **no provider call inside a database transaction**. Each operation is a short transaction
that records what is about to happen (with a deterministic idempotency key), the provider call outside
it, then a short transaction that stores the answer. If the process dies in between, repeating the
operation repeats the provider call with the same key and gets the same object back.

Events: an event's record and all its effects (payment, booking, seats, tickets, refund record) commit
together or not at all; e-mails and the provider refund run after commit (Celery tasks).

Lock order follows ``bookings.services`` and extends it: seats → holds → bookings → payment → refund.

What a failed or canceled payment does: the pending booking ends as *expired* at once, its seats are back
on sale for everyone (``seats.changed`` is broadcast), and the fan may choose seats again while their
admission pass lasts. If the same intent later succeeds (the fan retried the card), the success is a
late payment: the booking is confirmed again when its seats are still free, otherwise refunded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from bookings.exceptions import BookingNotFound, BookingNotPayable, NotAdmitted, SeatsNoLongerAvailable
from bookings.models import Booking
from bookings.services import (
    _set_lock_timeout,
    booking_confirm_paid,
    booking_mark_refunded,
    booking_release_unpaid,
    busy_on_lock_timeout,
    tickets_issue,
)
from core.exceptions import ApplicationError
from events.money import price_to_minor_units
from payments import tasks
from payments.exceptions import (
    AlreadyRefunded,
    NothingToRefund,
    PaymentNotFound,
    PaymentProviderFailure,
    PaymentProviderUnavailable,
)
from payments.models import Payment, Provider, Refund, WebhookEvent
from payments.providers import IntentInfo, RefundInfo, active_provider_name, get_provider
from payments.providers.simulated_provider import SimulatedProvider
from queueing.selectors import admission_pass_for

logger = logging.getLogger(__name__)

Status = Payment.Status

EVENT_SUCCEEDED = "payment_intent.succeeded"
EVENT_FAILED = "payment_intent.payment_failed"
EVENT_CANCELED = "payment_intent.canceled"
EVENT_CHARGE_REFUNDED = "charge.refunded"

# What an event did (``WebhookEvent.result``).
DUPLICATE = "duplicate"
IGNORED = "ignored"
UNKNOWN_PAYMENT = "unknown_payment"
BOOKING_CONFIRMED = "booking_confirmed"
ALREADY_SUCCEEDED = "already_succeeded"
REFUND_STARTED = "refund_started"
PAYMENT_FAILED = "payment_failed"
PAYMENT_CANCELED = "payment_canceled"
ALREADY_FAILED = "already_failed"
IGNORED_AFTER_SUCCESS = "ignored_after_success"
PAYMENT_REFUNDED = "payment_refunded"
ALREADY_REFUNDED = "already_refunded"
PARTIAL_REFUND_IGNORED = "partial_refund_ignored"
PAYMENT_PROCESSING = "payment_processing"


@dataclass(frozen=True)
class PaymentConfirmation:
    status: str
    booking_id: int
    booking_reference: str
    booking_status: str


def payment_intent_key(*, booking_id: int, attempt: int) -> str:
    return f"turnstile-booking-{booking_id}-attempt-{attempt}"


def refund_key(*, payment_id: int) -> str:
    return f"turnstile-refund-payment-{payment_id}"


def _on_commit(function: Any, *args: Any, **kwargs: Any) -> None:
    """Run after commit; a failure there (broker down) is logged, never undoes the business operation."""
    transaction.on_commit(lambda: function(*args, **kwargs), robust=True)


def _lock_payment(payment_id: int) -> Payment:
    return Payment.objects.select_for_update(of=("self",)).select_related("booking").get(pk=payment_id)


# --- Intents ----------------------------------------------------------------------------------------


def payment_intent_create(*, user, booking: Booking) -> Payment:
    payment, _created = payment_intent_get_or_create(user=user, booking=booking)
    return payment


def payment_intent_get_or_create(*, user, booking: Booking) -> tuple[Payment, bool]:
    """The booking attempt's payment with its provider intent; ``created`` when the intent is new here."""
    payment, needs_intent = _payment_reserve(user=user, booking=booking)
    if not needs_intent:
        return payment, False
    provider = get_provider(payment.provider)
    try:
        intent = provider.create_intent(
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            metadata={
                "booking_reference": payment.booking.reference,
                "booking_id": str(payment.booking_id),
                "user_id": str(user.pk),
                "payment_id": str(payment.pk),
            },
            idempotency_key=payment.idempotency_key,
        )
    except PaymentProviderFailure as exc:
        # A spent key (the provider stored its error under it) ends this attempt: the next call starts
        # attempt n + 1 with a new key. Otherwise the next call retries this attempt with the same key.
        _payment_record_error(
            payment_id=payment.pk,
            message=f"{exc.code}: {exc.message}",
            end_attempt=exc.idempotency_key_spent,
        )
        raise
    return _payment_store_intent(payment_id=payment.pk, intent=intent), True


@busy_on_lock_timeout
@transaction.atomic
def _payment_reserve(*, user, booking: Booking) -> tuple[Payment, bool]:
    """The active payment of the booking (reserved now if there is none); whether it still needs an intent."""
    now = timezone.now()
    _set_lock_timeout()
    if booking.user_id != user.pk:
        raise BookingNotFound()
    locked = Booking.objects.select_for_update(of=("self",)).select_related("event").get(pk=booking.pk)
    if locked.status != Booking.Status.PENDING_PAYMENT or locked.expires_at <= now:
        status = Booking.Status.EXPIRED if locked.status == Booking.Status.PENDING_PAYMENT else locked.status
        raise BookingNotPayable(details={"status": status})
    if admission_pass_for(user=user, event=locked.event, now=now) is None:
        raise NotAdmitted()

    active = (
        Payment.objects.select_for_update(of=("self",))
        .select_related("booking")
        .filter(booking=locked, status__in=Payment.ACTIVE_STATUSES)
        .first()
    )
    if active is not None:
        return active, active.provider_intent_id is None
    last_attempt = Payment.objects.filter(booking=locked).aggregate(last=Max("attempt"))["last"] or 0
    attempt = last_attempt + 1
    payment = Payment.objects.create(
        booking=locked,
        attempt=attempt,
        provider=active_provider_name(),
        idempotency_key=payment_intent_key(booking_id=locked.pk, attempt=attempt),
        amount_minor=price_to_minor_units(locked.total_amount, locked.currency),
        currency=locked.currency.upper(),
    )
    return payment, True


@transaction.atomic
def _payment_record_error(*, payment_id: int, message: str, end_attempt: bool) -> None:
    changes: dict[str, Any] = {"last_error": message, "updated_at": timezone.now()}
    if end_attempt:
        changes["status"] = Status.FAILED
    Payment.objects.filter(pk=payment_id, provider_intent_id__isnull=True).update(**changes)


@transaction.atomic
def _payment_store_intent(*, payment_id: int, intent: IntentInfo) -> Payment:
    payment = _lock_payment(payment_id)
    if payment.provider_intent_id is None:
        payment.provider_intent_id = intent.id
        payment.client_secret = intent.client_secret
        payment.last_error = ""
        if intent.status == "processing" and payment.status == Status.REQUIRES_PAYMENT:
            payment.status = Status.PROCESSING
        payment.save(
            update_fields=["provider_intent_id", "client_secret", "last_error", "status", "updated_at"]
        )
    elif payment.provider_intent_id != intent.id:  # impossible with one idempotency key per attempt
        logger.error("Payment %s got a second intent %s from its provider", payment.pk, intent.id)
    return payment


# --- The client reports completion ------------------------------------------------------------------


def _payment_of_user(*, user, payment_intent_id: str) -> Payment:
    payment = (
        Payment.objects.select_related("booking")
        .filter(provider_intent_id=payment_intent_id, booking__user=user)
        .first()
    )
    if payment is None:
        raise PaymentNotFound()
    return payment


def _confirmation(payment_id: int) -> PaymentConfirmation:
    payment = Payment.objects.select_related("booking").get(pk=payment_id)
    return PaymentConfirmation(
        status=payment.status,
        booking_id=payment.booking_id,
        booking_reference=payment.booking.reference,
        booking_status=payment.booking.status,
    )


def payment_confirm(*, user, payment_intent_id: str) -> PaymentConfirmation:
    """Check the intent's real status with the provider and apply it; a client's claim alone does nothing."""
    payment = _payment_of_user(user=user, payment_intent_id=payment_intent_id)
    intent = get_provider(payment.provider).retrieve_intent(payment_intent_id)
    _intent_status_apply(intent=intent)
    return _confirmation(payment.pk)


@busy_on_lock_timeout
@transaction.atomic
def _intent_status_apply(*, intent: IntentInfo) -> str:
    _set_lock_timeout()
    if intent.status == "succeeded":
        return _on_intent_succeeded(intent_id=intent.id)
    if intent.status == "canceled":
        return _on_intent_failed(intent_id=intent.id, canceled=True, error=intent.last_error)
    if intent.status == "requires_payment_method" and intent.last_error:
        return _on_intent_failed(intent_id=intent.id, canceled=False, error=intent.last_error)
    if intent.status == "processing":
        return _on_intent_processing(intent_id=intent.id)
    return IGNORED


# --- Provider events --------------------------------------------------------------------------------


@busy_on_lock_timeout
@transaction.atomic
def webhook_event_process(*, provider: str, event_id: str, event_type: str, data: dict[str, Any]) -> str:
    """Record the event once and apply it, in one transaction. Returns what it did."""
    _set_lock_timeout()
    try:
        with transaction.atomic():
            # A concurrent delivery of the same event waits here for ours to commit, then fails.
            event = WebhookEvent.objects.create(
                provider=provider, event_id=event_id, type=event_type, payload=data
            )
    except IntegrityError:
        logger.info("Duplicate %s event %s ignored", provider, event_id)
        return DUPLICATE

    result = _event_apply(event_type=event_type, data=data)
    event.processed_at = timezone.now()
    event.result = result
    event.save(update_fields=["processed_at", "result"])
    logger.info("%s event %s (%s): %s", provider, event_id, event_type, result)
    return result


def _event_apply(*, event_type: str, data: dict[str, Any]) -> str:
    if event_type == EVENT_SUCCEEDED:
        return _on_intent_succeeded(intent_id=str(data.get("id") or ""))
    if event_type in (EVENT_FAILED, EVENT_CANCELED):
        error = (data.get("last_payment_error") or {}).get("message") or ""
        return _on_intent_failed(
            intent_id=str(data.get("id") or ""), canceled=event_type == EVENT_CANCELED, error=str(error)
        )
    if event_type == EVENT_CHARGE_REFUNDED:
        refunds = (data.get("refunds") or {}).get("data") or []
        return _on_charge_refunded(
            intent_id=str(data.get("payment_intent") or ""),
            fully_refunded=bool(data.get("refunded")),
            provider_refund_id=str(refunds[0]["id"]) if refunds else None,
        )
    return IGNORED


def _payment_by_intent(intent_id: str) -> Payment | None:
    if not intent_id:
        return None
    return Payment.objects.select_related("booking").filter(provider_intent_id=intent_id).first()


def _on_intent_succeeded(*, intent_id: str) -> str:
    """The money arrived: confirm the booking and issue tickets, or refund when the seats are gone."""
    payment = _payment_by_intent(intent_id)
    if payment is None:
        return UNKNOWN_PAYMENT
    if payment.status in Payment.PAID_STATUSES:
        return ALREADY_SUCCEEDED
    booking = payment.booking
    try:
        # Locks seats → holds → bookings; confirms a pending booking, or an expired one whose seats are free.
        booking_confirm_paid(booking=booking)
    except SeatsNoLongerAvailable as exc:
        return _refund_unsellable_payment(
            payment_id=payment.pk, reason=Refund.Reason.LATE_PAYMENT_SEATS_GONE, error=exc.message
        )
    except BookingNotPayable as exc:
        return _refund_unsellable_payment(
            payment_id=payment.pk, reason=Refund.Reason.BOOKING_NOT_PAYABLE, error=exc.message
        )
    tickets_issue(booking=booking)

    payment = _lock_payment(payment.pk)
    if payment.status in Payment.PAID_STATUSES:  # a concurrent caller got here first
        return ALREADY_SUCCEEDED
    payment.status = Status.SUCCEEDED
    payment.succeeded_at = timezone.now()
    payment.last_error = ""
    payment.save(update_fields=["status", "succeeded_at", "last_error", "updated_at"])
    _on_commit(tasks.email_booking_confirmed.delay, booking.pk)
    return BOOKING_CONFIRMED


def _refund_unsellable_payment(*, payment_id: int, reason: str, error: str) -> str:
    """A payment for seats we can no longer sell: the booking ends refunded and the money goes back."""
    booking = Payment.objects.select_related("booking").get(pk=payment_id).booking
    booking_mark_refunded(booking=booking)
    payment = _lock_payment(payment_id)
    if payment.status in Payment.PAID_STATUSES:
        return ALREADY_SUCCEEDED
    payment.status = Status.REFUND_PENDING
    payment.last_error = error
    payment.save(update_fields=["status", "last_error", "updated_at"])
    refund = Refund.objects.create(
        payment=payment,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        reason=reason,
        idempotency_key=refund_key(payment_id=payment.pk),
    )
    logger.warning("Payment %s arrived for booking %s that cannot be sold: refunding", payment.pk, booking.pk)
    _on_commit(tasks.send_refund.delay, refund.pk)
    _on_commit(tasks.email_refund.delay, refund.pk)
    return REFUND_STARTED


def _on_intent_failed(*, intent_id: str, canceled: bool, error: str) -> str:
    """Declined or canceled: the pending booking's seats go back on sale for everyone at once."""
    payment = _payment_by_intent(intent_id)
    if payment is None:
        return UNKNOWN_PAYMENT
    if payment.status in Payment.PAID_STATUSES:  # out of order: a success already counted
        return IGNORED_AFTER_SUCCESS
    if payment.status in (Status.FAILED, Status.CANCELED):
        return ALREADY_FAILED
    booking_release_unpaid(booking=payment.booking)  # a confirmed booking is left as it is
    payment = _lock_payment(payment.pk)
    if payment.status in Payment.PAID_STATUSES:
        return IGNORED_AFTER_SUCCESS
    payment.status = Status.CANCELED if canceled else Status.FAILED
    payment.last_error = error
    payment.save(update_fields=["status", "last_error", "updated_at"])
    return PAYMENT_CANCELED if canceled else PAYMENT_FAILED


def _on_intent_processing(*, intent_id: str) -> str:
    payment = _payment_by_intent(intent_id)
    if payment is None:
        return UNKNOWN_PAYMENT
    updated = Payment.objects.filter(pk=payment.pk, status=Status.REQUIRES_PAYMENT).update(
        status=Status.PROCESSING, updated_at=timezone.now()
    )
    return PAYMENT_PROCESSING if updated else IGNORED


def _on_charge_refunded(*, intent_id: str, fully_refunded: bool, provider_refund_id: str | None) -> str:
    """The provider refunded the charge (ours, or one started in its dashboard)."""
    payment = _payment_by_intent(intent_id)
    if payment is None:
        return UNKNOWN_PAYMENT
    if not fully_refunded:
        logger.warning("Partial refund of payment %s at the provider: nothing changed here", payment.pk)
        return PARTIAL_REFUND_IGNORED
    if payment.status not in Payment.PAID_STATUSES:
        return IGNORED
    booking_mark_refunded(booking=payment.booking)
    payment = _lock_payment(payment.pk)
    already = payment.status == Status.REFUNDED
    payment.status = Status.REFUNDED
    payment.save(update_fields=["status", "updated_at"])
    refund = Refund.objects.select_for_update().filter(payment=payment).first()
    if refund is None:  # started outside Turnstile: record it and tell the fan
        refund = Refund.objects.create(
            payment=payment,
            provider_refund_id=provider_refund_id,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            reason=Refund.Reason.PROVIDER,
            status=Refund.Status.SUCCEEDED,
            idempotency_key=refund_key(payment_id=payment.pk),
        )
        _on_commit(tasks.email_refund.delay, refund.pk)
    elif refund.status != Refund.Status.SUCCEEDED:
        refund.status = Refund.Status.SUCCEEDED
        refund.provider_refund_id = refund.provider_refund_id or provider_refund_id
        refund.save(update_fields=["status", "provider_refund_id", "updated_at"])
    return ALREADY_REFUNDED if already else PAYMENT_REFUNDED


# --- The offline provider's checkout ----------------------------------------------------------------


def simulated_checkout_complete(
    *, user, booking: Booking, payment_intent_id: str, succeed: bool
) -> PaymentConfirmation:
    """The fan chose "succeeds" or "is declined" on the simulated checkout. Only for simulated payments
    (``PaymentNotFound`` otherwise, and whenever Stripe is the active provider): it never confirms a
    Stripe payment. The event goes through ``webhook_event_process`` like Stripe's.
    """
    if active_provider_name() != Provider.SIMULATED:
        raise PaymentNotFound()
    payment = _payment_of_user(user=user, payment_intent_id=payment_intent_id)
    if payment.booking_id != booking.pk or payment.provider != Provider.SIMULATED:
        raise PaymentNotFound()
    # The simulated provider is our own database: its answer and its event commit together, so a crash
    # cannot leave a "paid" simulated intent whose event was never processed.
    with transaction.atomic():
        event = SimulatedProvider().complete_checkout(intent_id=payment_intent_id, succeed=succeed)
        webhook_event_process(
            provider=Provider.SIMULATED,
            event_id=event["id"],
            event_type=event["type"],
            data=event["data"]["object"],
        )
    return _confirmation(payment.pk)


# --- Refunds ----------------------------------------------------------------------------------------


@busy_on_lock_timeout
@transaction.atomic
def booking_refund(*, booking: Booking, by_staff_user) -> Refund:
    """Staff refund of a paid booking: refunded, tickets voided, seats back on sale, fan told by e-mail.

    The provider refund runs after commit (idempotency key per payment) and is retried while pending.
    ``NothingToRefund`` (409) without a succeeded payment, ``AlreadyRefunded`` (409) for a second refund.
    """
    _set_lock_timeout()
    payments = list(Payment.objects.filter(booking=booking, status__in=Payment.PAID_STATUSES))
    paid = next((p for p in payments if p.status == Status.SUCCEEDED), None)
    if paid is None:
        raise AlreadyRefunded() if payments else NothingToRefund()
    booking_mark_refunded(booking=booking)
    payment = _lock_payment(paid.pk)
    if payment.status != Status.SUCCEEDED:
        raise AlreadyRefunded()
    payment.status = Status.REFUND_PENDING
    payment.save(update_fields=["status", "updated_at"])
    refund = Refund.objects.create(
        payment=payment,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        reason=Refund.Reason.STAFF,
        requested_by=by_staff_user,
        idempotency_key=refund_key(payment_id=payment.pk),
    )
    logger.info("Staff %s refunded booking %s", getattr(by_staff_user, "pk", None), booking.reference)
    _on_commit(tasks.send_refund.delay, refund.pk)
    _on_commit(tasks.email_refund.delay, refund.pk)
    return refund


def refund_send(*, refund_id: int) -> Refund:
    """Ask the provider for a recorded refund (outside any transaction). Unreachable: stays pending."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status != Refund.Status.PENDING:
        return refund
    payment = refund.payment
    try:
        info = get_provider(payment.provider).refund(
            intent_id=payment.provider_intent_id or "",
            amount_minor=refund.amount_minor,
            idempotency_key=refund.idempotency_key,
        )
    except PaymentProviderUnavailable as exc:
        logger.warning("Refund %s not sent (provider unavailable); it will be retried", refund.pk)
        return _refund_record_attempt(refund_id=refund.pk, error=exc, final=False)
    except ApplicationError as exc:
        logger.error("Refund %s refused by the provider: %s. Staff must look at it.", refund.pk, exc.message)
        return _refund_record_attempt(refund_id=refund.pk, error=exc, final=True)
    return _refund_store_result(refund_id=refund.pk, info=info)


@transaction.atomic
def _refund_record_attempt(*, refund_id: int, error: ApplicationError, final: bool) -> Refund:
    refund = Refund.objects.select_for_update().get(pk=refund_id)
    refund.attempts += 1
    refund.last_error = error.message
    if final and refund.status == Refund.Status.PENDING:
        refund.status = Refund.Status.FAILED
    elif getattr(error, "idempotency_key_spent", False):
        # The provider stored its error under this key and would replay it: the next try needs a new
        # one. A refund that did go through after all cannot be repeated (the provider refuses to
        # refund more than the charge), so a new key cannot return the money twice.
        refund.idempotency_key = f"{refund_key(payment_id=refund.payment_id)}-retry-{refund.attempts}"
    refund.save(update_fields=["attempts", "last_error", "status", "idempotency_key", "updated_at"])
    return refund


@transaction.atomic
def _refund_store_result(*, refund_id: int, info: RefundInfo) -> Refund:
    payment_id = Refund.objects.filter(pk=refund_id).values_list("payment_id", flat=True).get()
    payment = _lock_payment(payment_id)
    refund = Refund.objects.select_for_update().get(pk=refund_id)
    refund.attempts += 1
    refund.provider_refund_id = refund.provider_refund_id or info.id
    if info.status in ("failed", "canceled"):
        refund.status = Refund.Status.FAILED
        refund.last_error = f"The provider reports the refund {info.status}."
        logger.error("Refund %s %s at the provider. Staff must look at it.", refund.pk, info.status)
    else:  # succeeded, or pending at the provider (accepted; the money is on its way back)
        refund.status = Refund.Status.SUCCEEDED
        refund.last_error = ""
        payment.status = Status.REFUNDED
        payment.save(update_fields=["status", "updated_at"])
    refund.save(update_fields=["attempts", "provider_refund_id", "status", "last_error", "updated_at"])
    return refund


def refunds_retry_pending(*, older_than_seconds: int = 0) -> int:
    """Send the refunds still pending (the provider was down, or the process died after commit)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    pending = list(
        Refund.objects.filter(status=Refund.Status.PENDING, updated_at__lte=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    sent = 0
    for refund_id in pending:
        if refund_send(refund_id=refund_id).status == Refund.Status.SUCCEEDED:
            sent += 1
    return sent
