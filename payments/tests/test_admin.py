"""Staff: refund bookings from the admin; payments, refunds and webhook events are read-only there."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bookings.models import Booking
from bookings.selectors import SeatStatus, seat_map_for_event
from payments.models import Payment, Refund
from payments.services import payment_intent_create, webhook_event_process

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def paid_booking(stripe_keys, pending_booking, admitted_fan) -> Booking:
    payment = payment_intent_create(user=admitted_fan, booking=pending_booking)
    paid = stripe_keys.succeed(payment.provider_intent_id)
    webhook_event_process(
        provider="stripe", event_id="evt_paid", event_type="payment_intent.succeeded", data=paid
    )
    pending_booking.refresh_from_db()
    assert pending_booking.status == Booking.Status.CONFIRMED
    return pending_booking


def _refund_action(client, *bookings: Booking):
    """Choose the action, then confirm on the confirmation page (as staff do)."""
    data = {"action": "refund_bookings", "_selected_action": [b.pk for b in bookings]}
    confirmation = client.post(reverse("admin:bookings_booking_changelist"), data)
    assert confirmation.status_code == 200
    assert "Refund these bookings?" in confirmation.content.decode()
    return client.post(reverse("admin:bookings_booking_changelist"), {**data, "post": "yes"}, follow=True)


def test_the_refund_action_asks_first_and_refunds_nothing_until_confirmed(
    client, staff_user, stripe_keys, paid_booking
):
    client.force_login(staff_user)

    confirmation = client.post(
        reverse("admin:bookings_booking_changelist"),
        {"action": "refund_bookings", "_selected_action": [paid_booking.pk]},
    )

    page = confirmation.content.decode()
    assert "Refund these bookings?" in page
    assert paid_booking.reference in page
    assert "₹15,000" in page  # the amount in its currency, not "15000.00 INR"
    paid_booking.refresh_from_db()
    assert paid_booking.status == Booking.Status.CONFIRMED
    assert stripe_keys.refunds() == []
    assert not Refund.objects.exists()


def test_staff_refund_a_paid_booking_at_stripe_and_its_seats_go_back_on_sale(
    client, staff_user, stripe_keys, paid_booking, event, seats, mailoutbox
):
    client.force_login(staff_user)
    mailoutbox.clear()

    response = _refund_action(client, paid_booking)

    assert "1 booking refunded" in response.content.decode()
    paid_booking.refresh_from_db()
    assert paid_booking.status == Booking.Status.REFUNDED
    [at_stripe] = stripe_keys.refunds()
    refund = Refund.objects.get()
    assert at_stripe["payment_intent"] == refund.payment.provider_intent_id
    assert at_stripe["amount"] == 1_500_000
    assert (refund.reason, refund.status, refund.requested_by) == ("staff", "succeeded", staff_user)
    assert Payment.objects.get().status == "refunded"
    assert not paid_booking.tickets.filter(voided_at__isnull=True).exists()
    statuses = {seat.id: seat.status for seat in seat_map_for_event(event=event)}
    assert statuses[seats[0].pk] == statuses[seats[5].pk] == SeatStatus.AVAILABLE
    [mail] = mailoutbox
    assert mail.to == [paid_booking.user.email]
    assert "has been refunded" in mail.body


def test_refunding_twice_refunds_once(client, staff_user, stripe_keys, paid_booking):
    client.force_login(staff_user)
    _refund_action(client, paid_booking)

    response = _refund_action(client, paid_booking)

    assert "already been refunded" in response.content.decode()
    assert len(stripe_keys.refunds()) == 1
    assert Refund.objects.count() == 1


def test_an_unpaid_booking_has_nothing_to_refund(client, staff_user, stripe_keys, pending_booking):
    client.force_login(staff_user)
    response = _refund_action(client, pending_booking)
    assert "no completed payment to refund" in response.content.decode()
    assert stripe_keys.refunds() == []


def test_payments_and_webhook_events_are_read_only_and_searchable(client, staff_user, paid_booking):
    client.force_login(staff_user)
    payment = Payment.objects.get()

    listing = client.get(reverse("admin:payments_payment_changelist"), {"q": paid_booking.reference})
    by_intent = client.get(reverse("admin:payments_payment_changelist"), {"q": payment.provider_intent_id})
    events = client.get(reverse("admin:payments_webhookevent_changelist"), {"q": "evt_paid"})

    assert listing.status_code == by_intent.status_code == events.status_code == 200
    assert payment.provider_intent_id in listing.content.decode()
    assert "evt_paid" in events.content.decode()
    detail = client.get(reverse("admin:payments_payment_change", args=[payment.pk])).content.decode()
    assert payment.client_secret not in detail
    for model in ("payment", "webhookevent", "refund"):
        assert client.get(reverse(f"admin:payments_{model}_add")).status_code == 403
    assert client.post(reverse("admin:payments_payment_delete", args=[payment.pk])).status_code == 403
