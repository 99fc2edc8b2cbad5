"""Hostile input gets a 4xx in the error envelope, never a 500 (issue 10, items 10-15)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from core.parsers import MAX_JSON_DEPTH, JSONBodyError, parse_json
from core.urls import is_id
from events.tests.factories import EventFactory

pytestmark = pytest.mark.django_db

DRF_POSTS = [
    "/api/auth/register",
    "/api/auth/login",
    "/api/auth/refresh",
    "/api/queue/join",
    "/api/inventory/lock-seats",
    "/api/inventory/release-seats",
    "/api/booking/create",
    "/api/payment/create-intent",
    "/api/payment/confirm",
]


def _error(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return response.json()["error"]


@pytest.mark.parametrize("path", DRF_POSTS)
def test_deeply_nested_json_is_a_400_on_every_post(fan_api, path):
    response = fan_api.post(path, data=b"[" * 5000, content_type="application/json")

    assert response.status_code == 400
    assert _error(response)["code"] == "INVALID_JSON"


@pytest.mark.parametrize("path", ["/api/auth/login", "/api/queue/join"])
def test_a_nul_character_in_a_json_body_is_a_400(fan_api, path):
    body = json.dumps({"email": "a\u0000@example.com", "password": "x", "eventId": 1})

    response = fan_api.post(path, data=body, content_type="application/json")

    assert response.status_code == 400
    assert _error(response)["code"] == "INVALID_JSON"


def test_an_empty_json_body_is_a_400(fan_api):
    response = fan_api.post("/api/queue/join", data=b"", content_type="application/json")

    assert response.status_code == 400
    assert _error(response)["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("param", ["section", "category"])
def test_a_nul_byte_in_a_query_parameter_is_a_400(fan_api, param):
    event = EventFactory()

    response = fan_api.get(f"/api/inventory/events/{event.pk}/seats?{param}=A%00B")

    assert response.status_code == 400
    assert _error(response)["code"] == "BAD_REQUEST"


def test_a_nul_byte_in_a_page_query_is_a_400_page(client):
    response = client.get("/?q=%00")

    assert response.status_code == 400
    assert b"could not be read" in response.content


@pytest.mark.parametrize("category", ["%C2%B2", "%D9%A3", "9" * 30])
def test_a_category_that_only_looks_like_a_number_is_a_name(fan_api, category):
    event = EventFactory()

    response = fan_api.get(f"/api/inventory/events/{event.pk}/seats?category={category}")

    assert response.status_code == 200
    assert response.json() == []


@pytest.mark.parametrize("path", ["/api/events/%C2%B2", "/api/bookings/%D9%A3", "/api/events/" + "9" * 30])
def test_ids_in_paths_are_ascii_digits_that_fit_a_bigint(fan_api, path):
    response = fan_api.get(path)

    assert response.status_code == 404
    assert _error(response)["code"] == "NOT_FOUND"


def test_a_body_over_the_upload_limit_is_answered_in_the_envelope(fan_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"email": "fan@example.com", "password": "x" * 2000})

    response = fan_api.post("/api/auth/login", data=body, content_type="application/json")

    assert response.status_code == 413
    assert _error(response)["code"] == "PAYLOAD_TOO_LARGE"


def test_a_multipart_content_type_with_a_broken_body_is_answered_in_the_envelope(fan_api):
    response = fan_api.generic(
        "POST", "/api/queue/join", b"not multipart", content_type="multipart/form-data; boundary=x"
    )

    assert response.status_code == 415
    assert _error(response)["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_validation_details_are_camel_case(fan_api):
    response = fan_api.post("/api/inventory/lock-seats", data=[1, 2], format="json")

    assert response.status_code == 400
    assert "nonFieldErrors" in _error(response)["details"]


def test_times_are_utc_on_every_endpoint(fan_api, settings):
    settings.TIME_ZONE = "Asia/Kolkata"
    event = EventFactory()

    body = fan_api.get(f"/api/events/{event.pk}").json()

    assert body["startsAt"].endswith("Z")


def test_the_schema_types_path_ids_as_integers_and_seat_ids_as_unique(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    paths = ("/api/queue/position/{event_id}", "/api/queue/stats/{event_id}", "/api/bookings/{booking_id}")
    for path in paths:
        operation = next(iter(schema["paths"][path].values()))
        (parameter,) = [p for p in operation["parameters"] if p["in"] == "path"]
        assert parameter["schema"]["type"] == "integer", path
    lock = schema["components"]["schemas"]["LockSeatsInputRequest"]["properties"]["seatIds"]
    assert lock["uniqueItems"] is True
    register = schema["components"]["schemas"]["RegisterInputRequest"]["properties"]
    assert register["firstName"]["pattern"] == "^[^\\u0000]*$", "NUL refusals are documented"
    assert register["password"]["minLength"] == 8


def test_the_404_page_renders_with_debug_off_and_no_collected_static_files(settings):
    settings.DEBUG = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "core.storage.ForgivingManifestStaticFilesStorage"},
    }
    settings.STATIC_ROOT = "/nonexistent-static-root"

    response = Client(raise_request_exception=False).get("/no-such-page/")

    assert response.status_code == 404
    assert b"/static/css/site.css" in response.content


def test_parse_json_limits_depth_but_not_strings_full_of_brackets():
    assert parse_json(b'{"a": "' + b"[" * 5000 + b'"}') == {"a": "[" * 5000}
    assert parse_json(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH) is not None
    with pytest.raises(JSONBodyError):
        parse_json(b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1))
    with pytest.raises(JSONBodyError):
        parse_json(b'{"a": NaN}')
    with pytest.raises(JSONBodyError):
        parse_json(b"\xff")


def test_ids_are_ascii_digits():
    assert is_id("123")
    assert not is_id("²")
    assert not is_id("٣")
    assert not is_id("")
    assert not is_id("1" * 19)


async def test_a_body_over_the_limit_is_answered_in_the_envelope_by_the_shipped_server_app(settings):
    """Through ``ticketing.asgi.application`` exactly as uvicorn calls it (the fast path in front,
    Django's handler in its thread pool behind)."""
    from asgiref.testing import ApplicationCommunicator

    from core.testing import http_scope
    from ticketing.asgi import application

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    body = b"x" * 500
    headers = [(b"host", b"testserver"), (b"content-type", b"application/json"), (b"content-length", b"500")]
    scope = http_scope("POST", "/api/auth/login", headers)
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
    start = await communicator.receive_output(5)
    content = await communicator.receive_output(5)
    await communicator.wait(5)

    assert start["status"] == 413
    assert json.loads(content["body"])["error"]["code"] == "PAYLOAD_TOO_LARGE"
