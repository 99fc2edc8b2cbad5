import pytest
from rest_framework.test import APIClient

from conftest import jwt_client_for
from core.formats import api_datetime
from core.testing import record_limit_pipelines
from events.tests.factories import EventFactory
from queueing.services import queue_admit_batch, queue_join

WAITING_FIELDS = {"eventId", "status", "position", "usersAhead", "queueSize", "estimatedWaitTime"}


def _rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


def test_first_join_is_201_with_the_place(event, fan_api):
    response = fan_api.post("/api/queue/join", {"eventId": event.pk}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == WAITING_FIELDS
    assert body == {
        "eventId": event.pk,
        "status": "waiting",
        "position": 1,
        "usersAhead": 0,
        "queueSize": 1,
        "estimatedWaitTime": 30,
    }


def test_joining_again_is_200_with_the_same_place(event, fan_api, other_fan_api):
    other_fan_api.post("/api/queue/join", {"eventId": event.pk}, format="json")
    first = fan_api.post("/api/queue/join", {"eventId": event.pk}, format="json")

    again = fan_api.post("/api/queue/join/", {"eventId": event.pk}, format="json")

    assert again.status_code == 200
    assert again.json() == first.json()
    assert again.json()["position"] == 2


def test_an_admitted_fan_sees_when_the_pass_expires(event, fan, fan_api):
    queue_join(user=fan, event=event)
    queue_admit_batch(event=event)

    response = fan_api.get(f"/api/queue/position/{event.pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "admitted"
    assert body["admissionExpiresAt"] == api_datetime(fan.admission_passes.get().expires_at)


def test_a_prequeue_join_has_no_place_yet(db, fan_api):
    event = EventFactory(upcoming=True)

    response = fan_api.post("/api/queue/join", {"eventId": event.pk}, format="json")

    assert response.status_code == 201
    assert response.json()["status"] == "prequeue"
    assert response.json()["position"] is None


@pytest.mark.parametrize("path", ["/api/queue/position/{id}", "/api/queue/position/{id}/"])
def test_position_answers_on_both_path_forms(event, fan, other_fan, fan_api, path):
    queue_join(user=other_fan, event=event)
    queue_join(user=fan, event=event)

    response = fan_api.get(path.format(id=event.pk))

    assert response.status_code == 200
    assert response.json()["position"] == 2
    assert response.json()["usersAhead"] == 1


def test_position_when_not_queued_is_404_not_in_queue(event, fan_api):
    response = fan_api.get(f"/api/queue/position/{event.pk}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_IN_QUEUE"


@pytest.mark.parametrize("suffix", ["", "/"])
def test_leave_is_204_then_404(event, fan, fan_api, suffix):
    queue_join(user=fan, event=event)

    assert fan_api.delete(f"/api/queue/leave/{event.pk}{suffix}").status_code == 204
    second = fan_api.delete(f"/api/queue/leave/{event.pk}{suffix}")

    assert second.status_code == 404
    assert second.json()["error"]["code"] == "NOT_IN_QUEUE"
    assert fan_api.get(f"/api/queue/position/{event.pk}").status_code == 404


def test_stats_have_the_original_services_fields(event, fan, fan_api):
    queue_join(user=fan, event=event)

    response = fan_api.get(f"/api/queue/stats/{event.pk}/")

    assert response.status_code == 200
    assert response.json() == {
        "queueSize": 1,
        "admittedActive": 0,
        "admittedTotal": 0,
        "admissionRatePerMinute": 6.0,
        "averageWaitTime": None,
    }


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/queue/join"),
        ("get", "/api/queue/position/{id}"),
        ("delete", "/api/queue/leave/{id}"),
        ("get", "/api/queue/stats/{id}"),
    ],
)
def test_every_queue_endpoint_requires_a_token(event, method, path):
    response = getattr(APIClient(), method)(path.format(id=event.pk), {"eventId": event.pk}, format="json")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/queue/join"),
        ("get", "/api/queue/position/{id}"),
        ("delete", "/api/queue/leave/{id}"),
        ("get", "/api/queue/stats/{id}"),
    ],
)
def test_unknown_and_draft_events_are_404(db, fan_api, method, path):
    draft = EventFactory(draft=True)
    for event_id in (draft.pk, draft.pk + 1000):
        response = getattr(fan_api, method)(path.format(id=event_id), {"eventId": event_id}, format="json")

        assert response.status_code == 404
        assert response.json()["error"]["code"] == "NOT_FOUND"


def test_joining_a_closed_sale_is_409(db, fan_api):
    event = EventFactory(closed=True)

    response = fan_api.post("/api/queue/join", {"eventId": event.pk}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "SALE_CLOSED"


@pytest.mark.parametrize("payload", [{}, {"eventId": "abc"}, {"eventId": None}, {"eventId": 0}])
def test_a_join_without_a_valid_event_id_is_400(db, fan_api, payload):
    response = fan_api.post("/api/queue/join", payload, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "eventId" in response.json()["error"]["details"]


@pytest.mark.parametrize("raw", ["abc", "%C2%B2", "%D9%A3", "1" * 19, "-1"])
def test_an_event_id_in_the_path_is_ascii_digits_only(db, fan_api, raw):
    for path in ("position", "stats", "leave"):
        call = fan_api.delete if path == "leave" else fan_api.get
        response = call(f"/api/queue/{path}/{raw}")

        assert response.status_code == 404
        assert response.json()["error"]["code"] == "NOT_FOUND"


def test_the_sixth_new_join_within_five_minutes_is_429_with_retry_after(db, fan_api):
    events = EventFactory.create_batch(6)
    for event in events[:5]:
        assert fan_api.post("/api/queue/join", {"eventId": event.pk}, format="json").status_code == 201

    limited = fan_api.post("/api/queue/join", {"eventId": events[5].pk}, format="json")

    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "RATE_LIMITED"
    assert 0 < int(limited["Retry-After"]) <= 300


def test_a_rate_limited_fan_still_gets_their_place_back(db, fan_api):
    events = EventFactory.create_batch(6)
    first = fan_api.post("/api/queue/join", {"eventId": events[0].pk}, format="json").json()
    for event in events[1:]:
        fan_api.post("/api/queue/join", {"eventId": event.pk}, format="json")

    rejoin = fan_api.post("/api/queue/join", {"eventId": events[0].pk}, format="json")

    assert rejoin.status_code == 200
    assert rejoin.json() == first


def test_new_joins_are_limited_per_address_across_accounts(db, settings, make_fans):
    _rates(settings, queue_join_ip="2/min")
    event = EventFactory()
    clients = [jwt_client_for(user) for user in make_fans(3)]

    codes = [
        client.post("/api/queue/join", {"eventId": event.pk}, format="json").status_code for client in clients
    ]

    assert codes == [201, 201, 429]


def test_position_polling_is_limited(event, fan, fan_api, settings):
    _rates(settings, queue_read="3/min")
    queue_join(user=fan, event=event)

    codes = [fan_api.get(f"/api/queue/position/{event.pk}").status_code for _ in range(4)]

    assert codes == [200, 200, 200, 429]


def test_a_read_counts_the_fan_and_the_address_limits_in_one_round_trip(event, fan, fan_api, monkeypatch):
    queue_join(user=fan, event=event)
    pipelines = record_limit_pipelines(monkeypatch)

    assert fan_api.get(f"/api/queue/position/{event.pk}").status_code == 200
    assert pipelines == [2]  # per fan and per address, together


def test_the_switch_turns_queue_limits_off_for_load_tests(event, fan, fan_api, settings):
    _rates(settings, queue_read="1/min")
    settings.QUEUE_THROTTLE_ENABLE = False
    queue_join(user=fan, event=event)

    codes = {fan_api.get(f"/api/queue/position/{event.pk}").status_code for _ in range(5)}

    assert codes == {200}


def test_the_queue_endpoints_are_in_the_openapi_schema(db, client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/queue/join", "/api/queue/position/{event_id}", "/api/queue/stats/{event_id}"} <= set(paths)
    assert paths["/api/queue/join"]["post"]["tags"] == ["queue"]
