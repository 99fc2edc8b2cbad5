"""The offline journey with the simulated provider, the checkout pages, and the booking page's payment
panel (``{% booking_payment booking %}``)."""

from __future__ import annotations

import re

import pytest
from django.template import Context, Template
from django.urls import reverse

from bookings.models import Booking
from bookings.selectors import SeatStatus, seat_map_for_event
from bookings.services import bookings_expire
from bookings.tests.conftest import admit, time_passes_beyond_the_window
from payments.exceptions import PaymentAlreadyCompleted, PaymentNotFound
from payments.models import Payment, Refund, SimulatedIntent, WebhookEvent
from payments.services import payment_intent_create, simulated_checkout_complete, webhook_event_process
from payments.tests.conftest import book

pytestmark = pytest.mark.django_db(transaction=True)


def _pay_url(booking: Booking) -> str:
    return reverse("payments:checkout", kwargs={"reference": booking.reference})


def _simulate_url(booking: Booking) -> str:
    return reverse("payments:simulated_checkout", kwargs={"reference": booking.reference})


def _panel(booking: Booking) -> str:
    booking = Booking.objects.get(pk=booking.pk)
    return Template("{% load payment_tags %}{% booking_payment booking %}").render(
        Context({"booking": booking})
    )


@pytest.fixture
def fan_browser(client, admitted_fan):
    client.force_login(admitted_fan)
    return client


# --- Service level --------------------------------------------------------------------------------


def test_offline_the_simulated_provider_takes_the_same_path_as_stripes_webhooks(
    no_stripe_keys, pending_booking, admitted_fan, event, seats, mailoutbox
):
    payment = payment_intent_create(user=admitted_fan, booking=pending_booking)
    assert payment.provider == "simulated"
    assert payment.provider_intent_id.startswith("pi_sim_")
    assert payment.amount_minor == 1_500_000

    confirmation = simulated_checkout_complete(
        user=admitted_fan, booking=pending_booking, payment_intent_id=payment.provider_intent_id, succeed=True
    )

    assert (confirmation.status, confirmation.booking_status) == ("succeeded", "confirmed")
    event_record = WebhookEvent.objects.get()
    assert (event_record.provider, event_record.type, event_record.result) == (
        "simulated",
        "payment_intent.succeeded",
        "booking_confirmed",
    )
    assert event_record.payload["id"] == payment.provider_intent_id
    assert pending_booking.tickets.count() == 2
    assert len(mailoutbox) == 1
    assert seat_map_for_event(event=event)[0].status == SeatStatus.SOLD


def test_offline_a_simulated_decline_releases_the_seats_like_stripes(
    no_stripe_keys, pending_booking, admitted_fan, event, seats
):
    payment = payment_intent_create(user=admitted_fan, booking=pending_booking)

    confirmation = simulated_checkout_complete(
        user=admitted_fan,
        booking=pending_booking,
        payment_intent_id=payment.provider_intent_id,
        succeed=False,
    )

    assert (confirmation.status, confirmation.booking_status) == ("failed", "expired")
    assert WebhookEvent.objects.get().type == "payment_intent.payment_failed"
    statuses = {seat.id: seat.status for seat in seat_map_for_event(event=event)}
    assert statuses[seats[0].pk] == statuses[seats[5].pk] == SeatStatus.AVAILABLE


def test_a_simulated_payment_cannot_be_completed_twice(no_stripe_keys, pending_booking, admitted_fan):
    payment = payment_intent_create(user=admitted_fan, booking=pending_booking)
    arguments = {
        "user": admitted_fan,
        "booking": pending_booking,
        "payment_intent_id": payment.provider_intent_id,
    }
    simulated_checkout_complete(**arguments, succeed=True)

    with pytest.raises(PaymentAlreadyCompleted):
        simulated_checkout_complete(**arguments, succeed=True)
    assert WebhookEvent.objects.count() == 1


def test_the_simulated_checkout_never_confirms_a_stripe_payment(
    stripe_keys, pending_booking, admitted_fan, settings
):
    payment = payment_intent_create(user=admitted_fan, booking=pending_booking)
    with pytest.raises(PaymentNotFound):
        simulated_checkout_complete(
            user=admitted_fan,
            booking=pending_booking,
            payment_intent_id=payment.provider_intent_id,
            succeed=True,
        )
    assert Payment.objects.get().status == "requires_payment"


def test_a_simulated_late_success_for_resold_seats_is_refunded_by_the_simulated_provider(
    no_stripe_keys, pending_booking, admitted_fan, other_fan, event, seats
):
    payment = payment_intent_create(user=admitted_fan, booking=pending_booking)
    time_passes_beyond_the_window(event)
    admit(event, other_fan)
    book(other_fan, event, [seats[0]])  # held in another fan's booking: not free any more

    simulated_checkout_complete(
        user=admitted_fan, booking=pending_booking, payment_intent_id=payment.provider_intent_id, succeed=True
    )

    refund = Refund.objects.get()
    assert (refund.status, refund.reason) == ("succeeded", "late_payment_seats_gone")
    assert refund.provider_refund_id.startswith("re_sim_")
    assert SimulatedIntent.objects.get().refunds.count() == 1


# --- Pages ----------------------------------------------------------------------------------------


def test_offline_checkout_page_offers_the_two_outcomes_and_reloading_keeps_one_intent(
    no_stripe_keys, fan_browser, pending_booking
):
    first = fan_browser.get(_pay_url(pending_booking))
    second = fan_browser.get(_pay_url(pending_booking))

    assert first.status_code == second.status_code == 200
    html = first.content.decode()
    assert "Payment succeeds" in html
    assert "Payment is declined" in html
    assert "js.stripe.com" not in html
    assert SimulatedIntent.objects.count() == 1
    assert Payment.objects.count() == 1


def test_offline_paying_on_the_page_confirms_the_booking_and_shows_the_tickets(
    no_stripe_keys, fan_browser, pending_booking
):
    payment_page = fan_browser.get(_pay_url(pending_booking)).content.decode()
    intent_id = re.search(r'name="payment_intent_id" value="([^"]+)"', payment_page).group(1)

    response = fan_browser.post(
        _simulate_url(pending_booking), {"outcome": "succeed", "payment_intent_id": intent_id}
    )
    double_submit = fan_browser.post(
        _simulate_url(pending_booking), {"outcome": "succeed", "payment_intent_id": intent_id}
    )

    assert response.status_code == 302
    assert response["Location"] == f"/bookings/{pending_booking.reference}/"
    assert double_submit.status_code == 302
    pending_booking.refresh_from_db()
    assert pending_booking.status == Booking.Status.CONFIRMED
    assert WebhookEvent.objects.count() == 1
    panel = _panel(pending_booking)
    for ticket in pending_booking.tickets.all():
        assert ticket.code in panel
        assert f'alt="QR code of ticket {ticket.code}"' in panel
    assert panel.count('src="data:image/svg+xml;base64,') == 2


def test_offline_a_declined_payment_on_the_page_says_so_and_frees_the_seats(
    no_stripe_keys, fan_browser, pending_booking, event, seats
):
    fan_browser.get(_pay_url(pending_booking))
    intent_id = Payment.objects.get().provider_intent_id

    response = fan_browser.post(
        _simulate_url(pending_booking), {"outcome": "decline", "payment_intent_id": intent_id}, follow=True
    )

    page = response.content.decode()
    assert page.count("Your payment was declined") == 1  # the panel says it, not also a message
    assert 'class="messages"' not in page
    assert f'href="/events/{event.slug}/seats/">Choose seats again</a>' in page  # the way back
    assert "Your payment was declined" in _panel(pending_booking)
    statuses = {seat.id: seat.status for seat in seat_map_for_event(event=event)}
    assert statuses[seats[0].pk] == SeatStatus.AVAILABLE


def test_the_simulated_form_does_not_exist_when_stripe_is_configured(
    stripe_keys, fan_browser, pending_booking
):
    payment = payment_intent_create(user=pending_booking.user, booking=pending_booking)
    response = fan_browser.post(
        _simulate_url(pending_booking),
        {"outcome": "succeed", "payment_intent_id": payment.provider_intent_id},
    )
    assert response.status_code == 404
    assert Payment.objects.get().status == "requires_payment"


def test_another_fan_cannot_open_or_pay_a_booking(no_stripe_keys, client, pending_booking, other_fan):
    payment = payment_intent_create(user=pending_booking.user, booking=pending_booking)
    client.force_login(other_fan)

    assert client.get(_pay_url(pending_booking)).status_code == 404
    response = client.post(
        _simulate_url(pending_booking),
        {"outcome": "succeed", "payment_intent_id": payment.provider_intent_id},
    )
    assert response.status_code == 404
    pending_booking.refresh_from_db()
    assert pending_booking.status == Booking.Status.PENDING_PAYMENT


def test_the_checkout_page_needs_a_logged_in_fan(client, pending_booking):
    response = client.get(_pay_url(pending_booking))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_with_stripe_keys_the_page_mounts_stripes_payment_element_and_loads_nothing_else_from_outside(
    stripe_keys, fan_browser, pending_booking
):
    html = fan_browser.get(_pay_url(pending_booking)).content.decode()

    [intent] = stripe_keys.created_intents()
    assert '<script src="https://js.stripe.com/v3/"></script>' in html
    assert f'data-client-secret="{intent["client_secret"]}"' in html
    assert 'data-publishable-key="pk_test_turnstile"' in html
    assert f"/bookings/{pending_booking.reference}/payment-return/" in html
    external = set(re.findall(r'<script[^>]+src="(https?://[^"]+)"', html))
    assert external == {"https://js.stripe.com/v3/"}
    assert "Payment succeeds" not in html


def test_when_stripe_is_down_the_page_says_so_and_nothing_is_confirmed(
    stripe_keys, fan_browser, pending_booking
):
    stripe_keys.fail_with(503)
    response = fan_browser.get(_pay_url(pending_booking))

    assert response.status_code == 503
    assert "The payment service is unreachable right now" in response.content.decode()
    pending_booking.refresh_from_db()
    assert pending_booking.status == Booking.Status.PENDING_PAYMENT


def test_returning_from_stripe_checks_the_intent_and_confirms(stripe_keys, fan_browser, pending_booking):
    fan_browser.get(_pay_url(pending_booking))
    [intent] = stripe_keys.created_intents()
    return_url = reverse("payments:return", kwargs={"reference": pending_booking.reference})

    unpaid = fan_browser.get(return_url, {"payment_intent": intent["id"], "redirect_status": "succeeded"})
    pending_booking.refresh_from_db()
    assert unpaid.status_code == 302
    assert pending_booking.status == Booking.Status.PENDING_PAYMENT  # the query string proves nothing

    stripe_keys.succeed(intent["id"])
    fan_browser.get(return_url, {"payment_intent": intent["id"], "redirect_status": "succeeded"})
    pending_booking.refresh_from_db()
    assert pending_booking.status == Booking.Status.CONFIRMED


# --- The payment panel ----------------------------------------------------------------------------


def test_the_panel_of_a_pending_booking_offers_to_pay(no_stripe_keys, pending_booking):
    panel = _panel(pending_booking)
    assert f'href="{_pay_url(pending_booking)}"' in panel
    assert "Pay ₹15,000" in panel


def test_the_panel_tells_the_fan_about_a_late_payment_refund(
    no_stripe_keys, pending_booking, admitted_fan, other_fan, event, seats
):
    payment = payment_intent_create(user=admitted_fan, booking=pending_booking)
    time_passes_beyond_the_window(event)
    admit(event, other_fan)
    book(other_fan, event, [seats[5]])
    SimulatedIntent.objects.filter(pk=payment.provider_intent_id).update(status="succeeded")
    webhook_event_process(
        provider="simulated",
        event_id="evt_late",
        event_type="payment_intent.succeeded",
        data={"id": payment.provider_intent_id},
    )

    panel = _panel(pending_booking)
    assert "sold to another fan" in panel
    assert "refunded it in full" in panel


def test_the_pay_page_of_a_booking_that_ran_out_sends_the_fan_to_the_booking_page(
    no_stripe_keys, fan_browser, pending_booking, event
):
    time_passes_beyond_the_window(event)
    bookings_expire()

    response = fan_browser.get(_pay_url(pending_booking), follow=True)

    assert response.redirect_chain == [(f"/bookings/{pending_booking.reference}/", 302)]
    page = response.content.decode()
    assert "not paid in time" in page
    assert f'href="/events/{event.slug}/seats/"' in page
    assert not Payment.objects.exists()
