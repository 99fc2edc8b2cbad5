from __future__ import annotations

import pytest
from django.urls import reverse

from bookings.models import Booking, SeatHold
from bookings.services import booking_confirm_paid, booking_create, seats_hold


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def booking(event, seats, admitted_fan) -> Booking:
    seats_hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk, seats[1].pk])
    return booking_create(user=admitted_fan, event=event)


def test_staff_find_bookings_by_reference_or_email_and_filter_them(
    staff_client, booking, django_assert_max_num_queries
):
    url = reverse("admin:bookings_booking_changelist")

    by_reference = staff_client.get(url, {"q": booking.reference})
    by_email = staff_client.get(url, {"q": "fan@example.com"})
    by_filter = staff_client.get(url, {"status__exact": "confirmed"})

    assert by_reference.status_code == 200
    assert booking.reference in by_reference.content.decode()
    assert booking.reference in by_email.content.decode()
    assert booking.reference not in by_filter.content.decode()


def test_the_booking_page_shows_its_seats_read_only(staff_client, booking, seats):
    response = staff_client.get(reverse("admin:bookings_booking_change", args=[booking.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert str(seats[0]) in page
    assert 'name="items-0-price"' not in page  # no editable line items


def test_staff_cancel_bookings_from_the_list_and_the_seats_return_to_sale(
    staff_client, booking, event, seats
):
    booking_confirm_paid(booking=booking)

    response = staff_client.post(
        reverse("admin:bookings_booking_changelist"),
        {"action": "cancel_bookings", "_selected_action": [booking.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "1 booking cancelled" in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert not booking.items.filter(is_active=True).exists()


def test_staff_see_current_holds_per_event(staff_client, booking, event):
    response = staff_client.get(reverse("admin:bookings_seathold_changelist"), {"event__id__exact": event.pk})

    assert response.status_code == 200
    assert response.content.decode().count("fan@example.com") == SeatHold.objects.count() == 2


def test_fans_cannot_open_the_bookings_admin(client, fan):
    client.force_login(fan)

    response = client.get(reverse("admin:bookings_booking_changelist"))

    assert response.status_code == 302
