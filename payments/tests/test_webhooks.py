"""Stripe's webhooks: verified, processed once, correct in every order, late payments refunded."""

from __future__ import annotations

import time

import pytest

from bookings import notify
from bookings.models import Booking, SeatHold, Ticket
from bookings.selectors import SeatStatus, seat_map_for_event
from bookings.services import booking_confirm_paid, bookings_expire
from bookings.tests.conftest import admit, time_passes_beyond_the_window
from core.testing import TopicListener
from payments import tasks
from payments.models import Payment, Refund, WebhookEvent
from payments.services import payment_intent_create, webhook_event_process
from payments.tests.conftest import book, charge_refunded, stripe_event, stripe_signature

pytestmark = pytest.mark.django_db(transaction=True)


def _statuses(event, user=None) -> dict[int, str]:
    return {seat.id: seat.status for seat in seat_map_for_event(event=event, user=user)}


@pytest.fixture
def intent(stripe_keys, pending_booking, admitted_fan) -> dict:
    """The fan's intent at (fake) Stripe for the pending booking."""
    payment = payment_intent_create(user=admitted_fan, booking=pending_booking)
    return stripe_keys.state.intents[payment.provider_intent_id]


def _state(booking: Booking) -> tuple[str, str]:
    booking.refresh_from_db()
    return booking.status, Payment.objects.get(booking=booking).status


# --- Success --------------------------------------------------------------------------------------


def test_a_successful_payment_confirms_the_booking_issues_tickets_and_mails_them(
    stripe_keys, intent, pending_booking, event, seats, post_webhook, mailoutbox, other_fan
):
    response = post_webhook(stripe_event("payment_intent.succeeded", stripe_keys.succeed(intent["id"])))

    assert response.status_code == 200
    assert response.json() == {"received": True, "result": "booking_confirmed"}
    assert _state(pending_booking) == ("confirmed", "succeeded")
    tickets = list(Ticket.objects.filter(booking=pending_booking, voided_at__isnull=True))
    assert sorted(t.item.seat_id for t in tickets) == [seats[0].pk, seats[5].pk]
    assert len({t.code for t in tickets}) == 2
    statuses = _statuses(event, other_fan)
    assert (statuses[seats[0].pk], statuses[seats[5].pk]) == (SeatStatus.SOLD, SeatStatus.SOLD)

    [mail] = mailoutbox
    assert mail.to == [pending_booking.user.email]
    assert pending_booking.reference in mail.subject
    for ticket in tickets:
        assert ticket.code in mail.body
    images = [part for part in mail.attachments if part.get_content_type() == "image/png"]
    assert len(images) == 2
    assert all(image.get_payload(decode=True).startswith(b"\x89PNG") for image in images)
    html = mail.alternatives[0][0]
    assert all(f"cid:ticket-{t.code}@turnstile" in html for t in tickets)
    assert WebhookEvent.objects.get().result == "booking_confirmed"


def test_a_redelivered_event_is_acknowledged_and_ignored(
    stripe_keys, intent, pending_booking, post_webhook, mailoutbox
):
    payload = stripe_event("payment_intent.succeeded", stripe_keys.succeed(intent["id"]), event_id="evt_once")

    first = post_webhook(payload)
    again = post_webhook(payload)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["result"] == "duplicate"
    assert WebhookEvent.objects.filter(event_id="evt_once").count() == 1
    assert pending_booking.tickets.count() == 2
    assert len(mailoutbox) == 1


def test_a_duplicate_delivery_of_a_decline_does_not_release_a_later_booking(
    stripe_keys, intent, pending_booking, event, seats, admitted_fan, post_webhook
):
    payload = stripe_event(
        "payment_intent.payment_failed", stripe_keys.decline(intent["id"]), event_id="evt_d"
    )
    assert post_webhook(payload).json()["result"] == "payment_failed"
    retry = book(admitted_fan, event, [seats[0], seats[5]])  # the fan chose the same seats again

    assert post_webhook(payload).json()["result"] == "duplicate"
    retry.refresh_from_db()
    assert retry.status == Booking.Status.PENDING_PAYMENT


# --- Failure --------------------------------------------------------------------------------------


def test_a_declined_payment_puts_the_seats_back_on_sale_for_everyone_at_once(
    stripe_keys, intent, pending_booking, event, seats, admitted_fan, other_fan, post_webhook
):
    listener = TopicListener(notify.seats_topic(event.pk))

    response = post_webhook(stripe_event("payment_intent.payment_failed", stripe_keys.decline(intent["id"])))

    assert response.json()["result"] == "payment_failed"
    assert _state(pending_booking) == ("expired", "failed")
    assert Payment.objects.get().last_error == "Your card was declined."
    assert not SeatHold.objects.filter(seat__in=[seats[0], seats[5]]).exists()
    statuses = _statuses(event, other_fan)
    assert (statuses[seats[0].pk], statuses[seats[5].pk]) == (SeatStatus.AVAILABLE, SeatStatus.AVAILABLE)
    message = listener.receive()["frame"]
    listener.close()
    assert message["changes"] == [[seats[0].pk, "available"], [seats[5].pk, "available"]]


def test_after_a_decline_the_fan_can_choose_seats_and_pay_again_while_admitted(
    stripe_keys, intent, pending_booking, event, seats, admitted_fan, post_webhook
):
    post_webhook(stripe_event("payment_intent.payment_failed", stripe_keys.decline(intent["id"])))

    retry = book(admitted_fan, event, [seats[0], seats[5]])
    payment = payment_intent_create(user=admitted_fan, booking=retry)

    assert retry.pk != pending_booking.pk
    assert payment.provider_intent_id != intent["id"]
    assert len(stripe_keys.created_intents()) == 2


def test_a_canceled_intent_releases_the_seats_too(
    stripe_keys, intent, pending_booking, event, seats, post_webhook
):
    intent["status"] = "canceled"
    response = post_webhook(stripe_event("payment_intent.canceled", intent))

    assert response.json()["result"] == "payment_canceled"
    assert _state(pending_booking) == ("expired", "canceled")
    assert _statuses(event)[seats[0].pk] == SeatStatus.AVAILABLE


# --- Out of order ---------------------------------------------------------------------------------


def test_a_failure_arriving_after_the_success_does_not_undo_the_sale(
    stripe_keys, intent, pending_booking, event, seats, post_webhook
):
    failed = stripe_event("payment_intent.payment_failed", stripe_keys.decline(intent["id"]))
    succeeded = stripe_event("payment_intent.succeeded", stripe_keys.succeed(intent["id"]))

    assert post_webhook(succeeded).json()["result"] == "booking_confirmed"
    assert post_webhook(failed).json()["result"] == "ignored_after_success"

    assert _state(pending_booking) == ("confirmed", "succeeded")
    assert pending_booking.tickets.filter(voided_at__isnull=True).count() == 2
    assert _statuses(event)[seats[0].pk] == SeatStatus.SOLD


def test_a_success_after_a_failure_still_confirms_when_the_seats_are_free(
    stripe_keys, intent, pending_booking, post_webhook, mailoutbox
):
    post_webhook(stripe_event("payment_intent.payment_failed", stripe_keys.decline(intent["id"])))
    # The fan tried another card on the same intent.
    response = post_webhook(stripe_event("payment_intent.succeeded", stripe_keys.succeed(intent["id"])))

    assert response.json()["result"] == "booking_confirmed"
    assert _state(pending_booking) == ("confirmed", "succeeded")
    assert pending_booking.tickets.count() == 2
    assert len(mailoutbox) == 1
    assert stripe_keys.refunds() == []


# --- Late payments --------------------------------------------------------------------------------


def test_a_payment_after_the_hold_expired_completes_the_sale_when_the_seats_are_still_free(
    stripe_keys, intent, pending_booking, event, post_webhook
):
    time_passes_beyond_the_window(event)
    bookings_expire()
    assert Booking.objects.get(pk=pending_booking.pk).status == Booking.Status.EXPIRED

    response = post_webhook(stripe_event("payment_intent.succeeded", stripe_keys.succeed(intent["id"])))

    assert response.json()["result"] == "booking_confirmed"
    assert _state(pending_booking) == ("confirmed", "succeeded")
    assert pending_booking.tickets.count() == 2
    assert stripe_keys.refunds() == []


def test_a_payment_after_the_seats_were_resold_is_refunded_automatically_and_the_fan_told(
    stripe_keys, intent, pending_booking, event, seats, other_fan, post_webhook, mailoutbox
):
    time_passes_beyond_the_window(event)
    admit(event, other_fan)
    resold = book(other_fan, event, [seats[0]])
    booking_confirm_paid(booking=resold)

    response = post_webhook(stripe_event("payment_intent.succeeded", stripe_keys.succeed(intent["id"])))

    assert response.json()["result"] == "refund_started"
    assert _state(pending_booking) == ("refunded", "refunded")
    [refund_at_stripe] = stripe_keys.refunds()
    assert refund_at_stripe["payment_intent"] == intent["id"]
    assert refund_at_stripe["amount"] == 1_500_000
    [request] = stripe_keys.requests_to("POST", "/v1/refunds")
    refund = Refund.objects.get()
    assert (
        request.idempotency_key == refund.idempotency_key == f"turnstile-refund-payment-{refund.payment_id}"
    )
    assert (refund.reason, refund.status, refund.provider_refund_id) == (
        "late_payment_seats_gone",
        "succeeded",
        refund_at_stripe["id"],
    )
    assert not pending_booking.tickets.exists()
    resold.refresh_from_db()
    assert resold.status == Booking.Status.CONFIRMED  # the other fan keeps the seat
    [mail] = mailoutbox
    assert "sold to another fan" in mail.body
    assert mail.to == [pending_booking.user.email]


def test_a_late_refund_stripe_cannot_take_stays_pending_and_the_retry_task_sends_it_once(
    settings, stripe_keys, intent, pending_booking, event, seats, other_fan
):
    settings.PAYMENTS_REFUND_RETRY_SECONDS = 0
    time_passes_beyond_the_window(event)
    admit(event, other_fan)
    booking_confirm_paid(booking=book(other_fan, event, [seats[5]]))
    paid = stripe_keys.succeed(intent["id"])
    stripe_keys.fail_with(500)

    result = webhook_event_process(
        provider="stripe", event_id="evt_late", event_type="payment_intent.succeeded", data=paid
    )

    assert result == "refund_started"
    refund = Refund.objects.get()
    assert (refund.status, refund.attempts) == ("pending", 1)
    assert _state(pending_booking) == ("refunded", "refund_pending")

    stripe_keys.fail_with(None)
    assert tasks.retry_pending_refunds() == 1
    assert tasks.retry_pending_refunds() == 0

    refund.refresh_from_db()
    assert refund.status == "succeeded"
    assert len(stripe_keys.refunds()) == 1
    assert _state(pending_booking) == ("refunded", "refunded")


# --- Refunds at Stripe ----------------------------------------------------------------------------


def test_a_refund_made_in_the_stripe_dashboard_refunds_the_booking_and_frees_the_seats(
    stripe_keys, intent, pending_booking, event, seats, post_webhook, mailoutbox
):
    paid = stripe_keys.succeed(intent["id"])
    post_webhook(stripe_event("payment_intent.succeeded", paid))

    response = post_webhook(stripe_event("charge.refunded", charge_refunded(paid)))

    assert response.json()["result"] == "payment_refunded"
    assert _state(pending_booking) == ("refunded", "refunded")
    assert not pending_booking.tickets.filter(voided_at__isnull=True).exists()
    assert _statuses(event)[seats[0].pk] == SeatStatus.AVAILABLE
    refund = Refund.objects.get()
    assert (refund.reason, refund.status, refund.provider_refund_id) == (
        "provider",
        "succeeded",
        "re_dashboard_1",
    )
    assert len(mailoutbox) == 2  # tickets, then the refund notice


# --- Verification ---------------------------------------------------------------------------------


def test_a_bad_signature_is_rejected_and_changes_nothing(stripe_keys, intent, pending_booking, post_webhook):
    payload = stripe_event("payment_intent.succeeded", stripe_keys.succeed(intent["id"]))

    forged = post_webhook(payload, signature=stripe_signature(payload, secret="whsec_guess"))
    missing = post_webhook(payload, signature="")

    assert (forged.status_code, missing.status_code) == (400, 400)
    assert forged.json()["error"]["code"] == "INVALID_SIGNATURE"
    assert not WebhookEvent.objects.exists()
    assert _state(pending_booking) == ("pending_payment", "requires_payment")


def test_a_stale_signature_is_rejected(stripe_keys, intent, pending_booking, post_webhook):
    payload = stripe_event("payment_intent.succeeded", stripe_keys.succeed(intent["id"]))

    response = post_webhook(payload, signature=stripe_signature(payload, timestamp=int(time.time()) - 301))

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()
    assert _state(pending_booking) == ("pending_payment", "requires_payment")


def test_a_tampered_body_is_rejected(stripe_keys, intent, post_webhook):
    payload = stripe_event("payment_intent.succeeded", stripe_keys.succeed(intent["id"]))
    response = post_webhook(payload.replace("1500000", "100"), signature=stripe_signature(payload))
    assert response.status_code == 400


def test_a_malformed_payload_is_rejected(stripe_keys, post_webhook):
    assert post_webhook("{not json").status_code == 400
    response = post_webhook('{"id": "evt_1", "type": "payment_intent.succeeded"}')
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_PAYLOAD"


def test_events_of_other_types_and_unknown_intents_are_acknowledged(stripe_keys, post_webhook):
    other = post_webhook(stripe_event("customer.created", {"id": "cus_1", "object": "customer"}))
    unknown = post_webhook(
        stripe_event("payment_intent.succeeded", {"id": "pi_elsewhere", "status": "succeeded"})
    )

    assert (other.status_code, other.json()["result"]) == (200, "ignored")
    assert (unknown.status_code, unknown.json()["result"]) == (200, "unknown_payment")


def test_the_webhook_refuses_everything_without_a_configured_secret(
    settings, stripe_keys, intent, post_webhook
):
    settings.STRIPE_WEBHOOK_SECRET = ""
    payload = stripe_event("payment_intent.succeeded", stripe_keys.succeed(intent["id"]))
    assert post_webhook(payload, signature=stripe_signature(payload, secret="")).status_code == 400
