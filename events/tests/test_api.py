from datetime import timedelta

import pytest
from django.utils import timezone

from core.formats import api_datetime
from events.services import seat_map_generate
from events.tests.factories import EventFactory, VenueFactory, categories_for, seat_map_spec

pytestmark = pytest.mark.django_db


def event_with_seat_map(**event_fields):
    event = EventFactory(**event_fields)
    platinum, gold, silver = categories_for(event)
    seat_map_generate(
        event=event,
        spec=seat_map_spec(
            sections=("A", "B"),
            rows_per_section=10,
            seats_per_row=10,
            category_rows=[(1, 2, platinum), (3, 6, gold), (7, 10, silver)],
        ),
    )
    return event


def iso(moment):
    return api_datetime(moment)


def test_event_list_returns_events_in_camel_case_with_categories_and_seats(api_client):
    starts_at = timezone.now().replace(microsecond=0) + timedelta(days=30)
    opens_at = starts_at - timedelta(days=31)
    event = event_with_seat_map(
        name="Demo Night",
        slug="demo-night",
        venue=VenueFactory(name="Big Arena", city="Mumbai"),
        starts_at=starts_at,
        sale_opens_at=opens_at,
        max_seats_per_order=4,
    )
    silver, gold, platinum = event.categories.order_by("price")

    response = api_client.get("/api/events")

    assert response.status_code == 200
    assert response.json() == [
        {
            "id": event.pk,
            "name": "Demo Night",
            "slug": "demo-night",
            "venue": {"id": event.venue.pk, "name": "Big Arena", "city": "Mumbai"},
            "startsAt": iso(starts_at),
            "saleOpensAt": iso(opens_at),
            "saleClosesAt": iso(starts_at),
            "salePhase": "on_sale",
            "maxSeatsPerOrder": 4,
            "maxSeatsPerFan": 6,
            "categories": [
                {
                    "id": silver.pk,
                    "name": "Silver",
                    "price": "2500.00",
                    "priceMinor": 250000,
                    "currency": "INR",
                    "colour": "#9ca3af",
                    "totalSeats": 80,
                    "availableSeats": 80,
                },
                {
                    "id": gold.pk,
                    "name": "Gold",
                    "price": "7500.00",
                    "priceMinor": 750000,
                    "currency": "INR",
                    "colour": "#d4a017",
                    "totalSeats": 80,
                    "availableSeats": 80,
                },
                {
                    "id": platinum.pk,
                    "name": "Platinum",
                    "price": "12500.00",
                    "priceMinor": 1250000,
                    "currency": "INR",
                    "colour": "#6d28d9",
                    "totalSeats": 40,
                    "availableSeats": 40,
                },
            ],
        }
    ]


def test_event_list_shows_upcoming_and_on_sale_but_not_drafts_or_closed(api_client):
    on_sale = EventFactory(starts_at=timezone.now() + timedelta(days=5))
    upcoming = EventFactory(upcoming=True, starts_at=timezone.now() + timedelta(days=9))
    EventFactory(draft=True)
    EventFactory(cancelled=True)
    EventFactory(closed=True)

    response = api_client.get("/api/events")

    assert [(item["id"], item["salePhase"]) for item in response.json()] == [
        (on_sale.pk, "on_sale"),
        (upcoming.pk, "upcoming"),
    ]


def test_original_inventory_path_lists_the_same_events(api_client):
    event_with_seat_map()

    original = api_client.get("/api/inventory/events")
    ours = api_client.get("/api/events")

    assert original.status_code == 200
    assert original.json() == ours.json()


@pytest.mark.parametrize("path", ["/api/events/", "/api/inventory/events/"])
def test_list_answers_with_a_trailing_slash_without_redirecting(api_client, path):
    event = EventFactory()

    response = api_client.get(path)

    assert response.status_code == 200
    assert [item["id"] for item in response.json()] == [event.pk]


@pytest.mark.parametrize("suffix", ["", "/"])
def test_event_detail_returns_one_event(api_client, suffix):
    event = event_with_seat_map(closed=True)

    response = api_client.get(f"/api/events/{event.pk}{suffix}")

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["slug"], body["salePhase"]) == (event.pk, event.slug, "closed")
    assert [category["totalSeats"] for category in body["categories"]] == [80, 80, 40]


@pytest.mark.parametrize("trait", ["draft", "cancelled"])
def test_unpublished_event_detail_is_404_in_the_error_envelope(api_client, trait):
    event = EventFactory(**{trait: True})

    response = api_client.get(f"/api/events/{event.pk}")

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "NOT_FOUND", "message": "Event not found.", "details": {}}}


def test_unknown_event_detail_is_404_in_the_error_envelope(api_client):
    response = api_client.get("/api/events/987654")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_fan_with_a_jwt_can_read_events(fan_api):
    event = EventFactory()

    response = fan_api.get(f"/api/events/{event.pk}")

    assert response.status_code == 200
    assert response.json()["id"] == event.pk


def test_event_list_query_count_does_not_grow_with_events(api_client, django_assert_max_num_queries):
    for _ in range(6):
        event_with_seat_map()

    # one query for the events with their venues, one aggregate for every category's seat counts
    with django_assert_max_num_queries(2):
        response = api_client.get("/api/events")

    assert len(response.json()) == 6
    assert all(sum(c["availableSeats"] for c in item["categories"]) == 200 for item in response.json())


def test_event_detail_query_count_is_constant(api_client, django_assert_max_num_queries):
    event = event_with_seat_map()

    with django_assert_max_num_queries(2):
        response = api_client.get(f"/api/events/{event.pk}")

    assert response.status_code == 200


def test_schema_documents_the_event_endpoints_under_the_events_tag(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/json")

    paths = response.json()["paths"]
    assert paths["/api/events"]["get"]["tags"] == ["events"]
    assert paths["/api/inventory/events"]["get"]["tags"] == ["events"]
    assert "404" in paths["/api/events/{event_id}"]["get"]["responses"]
