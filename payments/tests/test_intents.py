"""Creating payment intents and confirming them, through the API, with the real ``stripe`` library
against the local fake Stripe server."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking
from bookings.services import booking_cancel
from bookings.tests.conftest import time_passes_beyond_the_window
from conftest import jwt_client_for
from payments.models import Payment
from payments.services import payment_intent_create
from queueing.models import AdmissionPass

pytestmark = pytest.mark.django_db(transaction=True)

CREATE = reverse("api-payment-create-intent")
CONFIRM = reverse("api-payment-confirm")


def test_create_intent_charges_the_booking_total_in_paise_with_its_metadata_and_an_idempotency_key(
    stripe_keys, pending_booking, admitted_fan
):
    response = jwt_client_for(admitted_fan).post(CREATE, {"bookingId": pending_booking.pk}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    [intent] = stripe_keys.created_intents()
    assert body == {
        "clientSecret": intent["client_secret"],
        "paymentIntentId": intent["id"],
        "amount": 1_500_000,  # 15,000.00 INR in paise, an integer
        "currency": "INR",
        "provider": "stripe",
    }
    assert intent["amount"] == 1_500_000
    assert intent["currency"] == "inr"
    assert intent["metadata"] == {
        "booking_reference": pending_booking.reference,
        "booking_id": str(pending_booking.pk),
        "user_id": str(admitted_fan.pk),
        "payment_id": str(Payment.objects.get().pk),
    }
    [request] = stripe_keys.requests_to("POST", "/v1/payment_intents")
    assert request.idempotency_key == f"turnstile-booking-{pending_booking.pk}-attempt-1"
    assert request.authorization == "Bearer sk_test_turnstile"
    payment = Payment.objects.get()
    assert (payment.status, payment.amount_minor, payment.provider) == (
        "requires_payment",
        1_500_000,
        "stripe",
    )


def test_creating_the_intent_again_returns_the_same_one_and_stripe_makes_only_one(
    stripe_keys, pending_booking, admitted_fan
):
    api = jwt_client_for(admitted_fan)
    first = api.post(CREATE, {"bookingId": pending_booking.pk}, format="json")
    second = api.post(CREATE, {"bookingId": pending_booking.pk}, format="json")

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert len(stripe_keys.created_intents()) == 1
    assert Payment.objects.count() == 1


def test_a_double_click_racing_in_two_threads_creates_one_intent(stripe_keys, pending_booking, admitted_fan):
    def create() -> str:
        try:
            return payment_intent_create(user=admitted_fan, booking=pending_booking).provider_intent_id
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        intent_ids = list(pool.map(lambda _: create(), range(2)))

    assert intent_ids[0] == intent_ids[1]
    assert len(stripe_keys.created_intents()) == 1
    assert Payment.objects.count() == 1


def test_when_stripes_answer_is_lost_the_retry_gets_the_same_intent_by_its_idempotency_key(
    stripe_keys, pending_booking, admitted_fan
):
    api = jwt_client_for(admitted_fan)
    stripe_keys.lose_responses()
    lost = api.post(CREATE, {"bookingId": pending_booking.pk}, format="json")
    assert lost.status_code == 503
    assert Payment.objects.get().provider_intent_id is None

    stripe_keys.lose_responses(False)
    retried = api.post(CREATE, {"bookingId": pending_booking.pk}, format="json")

    assert retried.status_code == 201
    [intent] = stripe_keys.created_intents()
    assert retried.json()["paymentIntentId"] == intent["id"]
    keys = {r.idempotency_key for r in stripe_keys.requests_to("POST", "/v1/payment_intents")}
    assert keys == {f"turnstile-booking-{pending_booking.pk}-attempt-1"}


def test_after_a_stripe_500_stored_under_the_key_the_retry_is_a_new_attempt_with_a_new_key(
    stripe_keys, pending_booking, admitted_fan
):
    api = jwt_client_for(admitted_fan)
    stripe_keys.fail_with(500)
    assert api.post(CREATE, {"bookingId": pending_booking.pk}, format="json").status_code == 503

    stripe_keys.fail_with(None)
    retried = api.post(CREATE, {"bookingId": pending_booking.pk}, format="json")

    assert retried.status_code == 201
    [intent] = stripe_keys.created_intents()
    assert retried.json()["paymentIntentId"] == intent["id"]
    keys = [r.idempotency_key for r in stripe_keys.requests_to("POST", "/v1/payment_intents")]
    assert keys == [
        f"turnstile-booking-{pending_booking.pk}-attempt-1",
        f"turnstile-booking-{pending_booking.pk}-attempt-2",
    ]
    statuses = dict(Payment.objects.values_list("attempt", "status"))
    assert statuses == {1: "failed", 2: "requires_payment"}


@pytest.mark.parametrize("outage", ["server_error", "connection_refused"])
def test_when_stripe_is_down_the_api_answers_503_and_nothing_is_confirmed(
    request, stripe_keys, pending_booking, admitted_fan, outage
):
    if outage == "server_error":
        stripe_keys.fail_with(500)
    else:
        request.getfixturevalue("unreachable_stripe")

    response = jwt_client_for(admitted_fan).post(CREATE, {"bookingId": pending_booking.pk}, format="json")

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "PAYMENT_PROVIDER_UNAVAILABLE"
    pending_booking.refresh_from_db()
    # The seats stay held until the window ends.
    assert pending_booking.status == Booking.Status.PENDING_PAYMENT
    assert Payment.objects.get().last_error.startswith("PAYMENT_PROVIDER_UNAVAILABLE")


def test_another_fans_booking_is_not_found(stripe_keys, pending_booking, admitted_fan, other_fan):
    intruder = jwt_client_for(other_fan)
    response = intruder.post(CREATE, {"bookingId": pending_booking.pk}, format="json")
    assert response.status_code == 404

    intent_id = (
        jwt_client_for(admitted_fan)
        .post(CREATE, {"bookingId": pending_booking.pk}, format="json")
        .json()["paymentIntentId"]
    )
    stripe_keys.succeed(intent_id)
    response = intruder.post(CONFIRM, {"paymentIntentId": intent_id}, format="json")
    assert response.status_code == 404
    pending_booking.refresh_from_db()
    assert pending_booking.status == Booking.Status.PENDING_PAYMENT  # the owner's webhook or confirm will do


def test_an_expired_or_cancelled_booking_cannot_be_paid(stripe_keys, event, pending_booking, admitted_fan):
    api = jwt_client_for(admitted_fan)
    booking_cancel(booking=pending_booking)
    response = api.post(CREATE, {"bookingId": pending_booking.pk}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "BOOKING_NOT_PAYABLE"
    assert stripe_keys.created_intents() == []


def test_a_booking_past_its_window_cannot_be_paid(stripe_keys, event, pending_booking, admitted_fan):
    time_passes_beyond_the_window(event)
    response = jwt_client_for(admitted_fan).post(CREATE, {"bookingId": pending_booking.pk}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["details"] == {"status": "expired"}
    assert stripe_keys.created_intents() == []


def test_confirm_checks_the_real_status_and_a_false_claim_confirms_nothing(
    stripe_keys, pending_booking, admitted_fan, mailoutbox
):
    api = jwt_client_for(admitted_fan)
    intent_id = api.post(CREATE, {"bookingId": pending_booking.pk}, format="json").json()["paymentIntentId"]

    claimed = api.post(CONFIRM, {"paymentIntentId": intent_id}, format="json")
    assert claimed.status_code == 200
    assert claimed.json() == {
        "status": "requires_payment",
        "bookingId": pending_booking.pk,
        "bookingStatus": "pending_payment",
    }
    assert pending_booking.tickets.count() == 0

    stripe_keys.succeed(intent_id)
    paid = api.post(CONFIRM, {"paymentIntentId": intent_id}, format="json")
    again = api.post(CONFIRM, {"paymentIntentId": intent_id}, format="json")

    assert paid.json() == {
        "status": "succeeded",
        "bookingId": pending_booking.pk,
        "bookingStatus": "confirmed",
    }
    assert again.json() == paid.json()
    assert pending_booking.tickets.count() == 2
    assert len(mailoutbox) == 1  # confirmed once, mailed once
    assert len(stripe_keys.requests_to("GET", f"/v1/payment_intents/{intent_id}")) == 3


def test_confirm_of_an_unknown_intent_is_not_found(stripe_keys, admitted_fan):
    response = jwt_client_for(admitted_fan).post(CONFIRM, {"paymentIntentId": "pi_nope"}, format="json")
    assert response.status_code == 404


def test_create_intent_is_throttled_per_fan(settings, stripe_keys, pending_booking, admitted_fan):
    settings.PAYMENTS_THROTTLE_ENABLE = True
    settings.PAYMENTS_THROTTLE_RATES = {**settings.PAYMENTS_THROTTLE_RATES, "create_intent": "2/min"}
    api = jwt_client_for(admitted_fan)
    statuses = [
        api.post(CREATE, {"bookingId": pending_booking.pk}, format="json").status_code for _ in range(3)
    ]
    assert statuses == [201, 200, 429]


def test_create_intent_needs_a_token(api_client, pending_booking):
    assert api_client.post(CREATE, {"bookingId": pending_booking.pk}, format="json").status_code == 401


def test_paying_needs_a_valid_admission_pass(stripe_keys, pending_booking, admitted_fan):
    AdmissionPass.objects.filter(user=admitted_fan).update(ended_at=timezone.now())

    response = jwt_client_for(admitted_fan).post(CREATE, {"bookingId": pending_booking.pk}, format="json")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "NOT_ADMITTED"
    assert stripe_keys.created_intents() == []


def test_the_payment_endpoints_are_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path in ("/api/payment/create-intent", "/api/payment/confirm", "/api/bookings/{booking_id}/tickets"):
        [operation] = schema["paths"][path].values()
        assert operation["tags"] == ["payments"]
