from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from bookings.models import Booking, SeatHold
from bookings.services import booking_confirm_paid
from conftest import jwt_client_for
from events.tests.factories import EventFactory, SeatFactory
from queueing.models import AdmissionPass


def _seats_url(event) -> str:
    return f"/api/inventory/events/{event.pk}/seats"


def _lock(client, event, seat_ids, **extra):
    return client.post(
        "/api/inventory/lock-seats", {"eventId": event.pk, "seatIds": seat_ids, **extra}, format="json"
    )


def _error_code(response) -> str:
    return response.json()["error"]["code"]


# --- Seat list ------------------------------------------------------------------------------------


def test_the_seat_list_gives_each_seat_with_its_status(event, seats, admitted_fan, fan_api, other_fan_api):
    _lock(fan_api, event, [seats[0].pk])

    response = other_fan_api.get(_seats_url(event))

    assert response.status_code == 200
    body = response.json()
    assert len(body) == 10
    assert body[0] == {
        "id": seats[0].pk,
        "section": "A",
        "row": "1",
        "number": 1,
        "x": 1,
        "y": 0,
        "category": "Platinum",
        "categoryId": seats[0].category_id,
        "colour": "#6d28d9",
        "price": "12500.00",
        "priceMinor": 1_250_000,
        "currency": "INR",
        "status": "held",
    }
    assert fan_api.get(_seats_url(event)).json()[0]["status"] == "held_by_me"


def test_the_seat_list_filters_by_section_and_category(event, seats, categories, fan_api):
    by_name = fan_api.get(_seats_url(event), {"category": "gold"}).json()
    by_id = fan_api.get(_seats_url(event), {"category": categories[2].pk, "section": "A"}).json()

    assert [seat["id"] for seat in by_name] == [seat.pk for seat in seats[2:5]]
    assert [seat["id"] for seat in by_id] == [seat.pk for seat in seats[5:]]
    assert fan_api.get(_seats_url(event), {"section": "Z"}).json() == []
    assert fan_api.get(_seats_url(event), {"category": "Nope"}).json() == []


def test_the_seat_list_of_an_unknown_or_draft_event_is_404(fan_api):
    draft = EventFactory(draft=True)

    assert fan_api.get(_seats_url(draft)).status_code == 404
    assert fan_api.get("/api/inventory/events/999999/seats").status_code == 404


def test_every_route_needs_a_token(event, seats, api_client: APIClient):
    responses = [
        api_client.get(_seats_url(event)),
        _lock(api_client, event, [seats[0].pk]),
        api_client.post("/api/inventory/release-seats", {"eventId": event.pk}, format="json"),
        api_client.post("/api/booking/create", {"eventId": event.pk}, format="json"),
        api_client.get("/api/bookings"),
        api_client.get("/api/bookings/1"),
        api_client.post("/api/bookings/1/cancel"),
    ]

    assert [response.status_code for response in responses] == [401] * 7
    assert _error_code(responses[1]) == "NOT_AUTHENTICATED"


# --- Holds ----------------------------------------------------------------------------------------


def test_locking_seats_holds_them_until_the_pass_expires_whatever_the_client_asks(
    event, seats, admitted_fan, fan_api
):
    response = _lock(fan_api, event, [seats[1].pk, seats[0].pk], lockDuration=365 * 24 * 3600, duration=10**9)

    assert response.status_code == 200
    admission = AdmissionPass.objects.get(user=admitted_fan)
    assert response.json() == {
        "eventId": event.pk,
        "lockedSeats": [seats[0].pk, seats[1].pk],
        "expiresAt": response.json()["expiresAt"],
    }
    assert datetime.fromisoformat(response.json()["expiresAt"]) == admission.expires_at
    assert set(SeatHold.objects.values_list("expires_at", flat=True)) == {admission.expires_at}


def test_locking_works_with_a_trailing_slash(event, seats, admitted_fan, fan_api):
    response = fan_api.post(
        "/api/inventory/lock-seats/", {"eventId": event.pk, "seatIds": [seats[0].pk]}, format="json"
    )

    assert response.status_code == 200
    assert fan_api.get(f"{_seats_url(event)}/").status_code == 200


def test_locking_a_taken_seat_is_409_and_names_it(event, seats, admitted_fan, admitted_other_fan, fan_api):
    _lock(jwt_client_for(admitted_other_fan), event, [seats[1].pk])

    response = _lock(fan_api, event, [seats[0].pk, seats[1].pk])

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "SEAT_UNAVAILABLE"
    assert response.json()["error"]["details"] == {"seatIds": [seats[1].pk]}
    assert not SeatHold.objects.filter(user=admitted_fan).exists()


def test_locking_without_admission_is_403(event, seats, fan_api):
    response = _lock(fan_api, event, [seats[0].pk])

    assert response.status_code == 403
    assert _error_code(response) == "NOT_ADMITTED"


@pytest.mark.parametrize(
    "seat_ids",
    [[], "1,2", [1, 1], ["abc"], [1.5], [-3], list(range(1, 6))],
    ids=["empty", "not-a-list", "duplicate", "text", "fraction", "negative", "more-than-the-limit"],
)
def test_locking_bad_seat_lists_is_a_validation_error(event, seats, admitted_fan, fan_api, seat_ids):
    response = _lock(fan_api, event, seat_ids)

    assert response.status_code == 400
    assert _error_code(response) == "VALIDATION_ERROR"
    assert "seatIds" in response.json()["error"]["details"]


def test_locking_seats_of_another_event_is_400_naming_them(event, seats, admitted_fan, fan_api):
    foreign = SeatFactory()

    response = _lock(fan_api, event, [seats[0].pk, foreign.pk])

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "UNKNOWN_SEATS",
        "message": "Some of these seats do not exist for this event.",
        "details": {"seatIds": [foreign.pk]},
    }


def test_locking_for_an_unknown_event_is_404(fan_api):
    response = fan_api.post("/api/inventory/lock-seats", {"eventId": 999999, "seatIds": [1]}, format="json")

    assert response.status_code == 404


def test_releasing_seats_returns_what_is_still_held(event, seats, admitted_fan, fan_api):
    _lock(fan_api, event, [seats[0].pk, seats[1].pk])

    response = fan_api.post(
        "/api/inventory/release-seats", {"eventId": event.pk, "seatIds": [seats[0].pk]}, format="json"
    )
    everything = fan_api.post("/api/inventory/release-seats", {"eventId": event.pk}, format="json")

    assert response.status_code == 200
    assert response.json()["lockedSeats"] == [seats[1].pk]
    assert everything.json() == {"eventId": event.pk, "lockedSeats": [], "expiresAt": None}


@override_settings(BOOKING_THROTTLE_RATES={"holds": "2/min", "bookings": "20/min", "reads": "120/min"})
def test_holding_is_rate_limited_per_fan(event, seats, admitted_fan, fan_api, other_fan_api):
    for _ in range(2):
        _lock(fan_api, event, [seats[0].pk])

    response = _lock(fan_api, event, [seats[0].pk])

    assert response.status_code == 429
    assert _error_code(response) == "RATE_LIMITED"
    assert _lock(other_fan_api, event, [seats[1].pk]).status_code == 403  # others are not limited


# --- Bookings -------------------------------------------------------------------------------------


def test_creating_a_booking_from_held_seats(event, seats, admitted_fan, fan_api):
    _lock(fan_api, event, [seats[0].pk, seats[5].pk])

    response = fan_api.post(
        "/api/booking/create", {"eventId": event.pk, "totalAmount": "1.00"}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    booking = Booking.objects.get()
    assert body["id"] == booking.pk
    assert body["reference"] == booking.reference
    assert body["status"] == "pending_payment"
    assert (body["totalAmount"], body["totalAmountMinor"], body["currency"]) == ("15000.00", 1_500_000, "INR")
    assert datetime.fromisoformat(body["expiresAt"]) == booking.expires_at
    assert body["seats"] == [
        {
            "id": seats[0].pk,
            "section": "A",
            "row": "1",
            "number": 1,
            "category": "Platinum",
            "price": "12500.00",
        },
        {
            "id": seats[5].pk,
            "section": "A",
            "row": "1",
            "number": 6,
            "category": "Silver",
            "price": "2500.00",
        },
    ]
    again = fan_api.post("/api/booking/create/", {"eventId": event.pk}, format="json")
    assert again.json()["id"] == booking.pk


def test_creating_a_booking_without_holds_is_409(event, admitted_fan, fan_api):
    response = fan_api.post("/api/booking/create", {"eventId": event.pk}, format="json")

    assert response.status_code == 409
    assert _error_code(response) == "NO_SEATS_HELD"


def test_creating_a_booking_without_admission_is_403(event, fan_api):
    response = fan_api.post("/api/booking/create", {"eventId": event.pk}, format="json")

    assert response.status_code == 403
    assert _error_code(response) == "NOT_ADMITTED"


def test_my_bookings_list_only_mine(event, seats, admitted_fan, admitted_other_fan, fan_api, other_fan_api):
    _lock(fan_api, event, [seats[0].pk])
    mine = fan_api.post("/api/booking/create", {"eventId": event.pk}, format="json").json()
    _lock(other_fan_api, event, [seats[1].pk])
    other_fan_api.post("/api/booking/create", {"eventId": event.pk}, format="json")

    listing = fan_api.get("/api/bookings")

    assert listing.status_code == 200
    assert [booking["id"] for booking in listing.json()] == [mine["id"]]
    assert fan_api.get(f"/api/bookings/{mine['id']}").json()["reference"] == mine["reference"]


def test_another_fans_booking_is_404_to_read_and_to_cancel(
    event, seats, admitted_fan, fan_api, other_fan_api
):
    _lock(fan_api, event, [seats[0].pk])
    booking_id = fan_api.post("/api/booking/create", {"eventId": event.pk}, format="json").json()["id"]

    assert other_fan_api.get(f"/api/bookings/{booking_id}").status_code == 404
    assert other_fan_api.post(f"/api/bookings/{booking_id}/cancel").status_code == 404
    assert Booking.objects.get().status == Booking.Status.PENDING_PAYMENT


def test_cancelling_my_pending_booking_puts_the_seats_back(
    event, seats, admitted_fan, fan_api, other_fan_api
):
    _lock(fan_api, event, [seats[0].pk])
    booking_id = fan_api.post("/api/booking/create", {"eventId": event.pk}, format="json").json()["id"]

    response = fan_api.post(f"/api/bookings/{booking_id}/cancel")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert other_fan_api.get(_seats_url(event)).json()[0]["status"] == "available"


def test_cancelling_a_paid_booking_through_the_api_is_409(event, seats, admitted_fan, fan_api):
    _lock(fan_api, event, [seats[0].pk])
    booking_id = fan_api.post("/api/booking/create", {"eventId": event.pk}, format="json").json()["id"]
    booking_confirm_paid(booking=Booking.objects.get(pk=booking_id))

    response = fan_api.post(f"/api/bookings/{booking_id}/cancel")

    assert response.status_code == 409
    assert _error_code(response) == "BOOKING_NOT_CANCELLABLE"


def test_an_expired_pass_cannot_hold_through_the_api(event, seats, admitted_fan, fan_api):
    AdmissionPass.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert _error_code(_lock(fan_api, event, [seats[0].pk])) == "NOT_ADMITTED"
