"""The join challenge: one check (``queueing.challenges``) on the API, its fast path and the page.

A join without a valid solution is 400 in the error envelope; a solution works once, for one fan and
one event, until it expires; a fan already in line is never asked again; the difficulty is per event
and doubles while joins spike.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from altcha import Payload, verify_solution
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import UserFactory
from conftest import jwt_client_for
from events.tests.factories import EventFactory
from queueing import challenges
from queueing.challenge_client import challenge_solve
from queueing.challenges import ChallengeInvalid, challenge_issue, challenge_redeem
from queueing.models import QueueEntry
from queueing.redis_queue import QueueKeys, queue_redis, run_join
from queueing.services import queue_ensure_ready, queue_join, queue_leave, queue_open_prequeue
from queueing.tests.helpers import in_thread
from queueing.tests.test_fast_api import fast

DIFFICULTY = 300  # the client's work stays a few milliseconds here


@pytest.fixture
def event(db):
    return EventFactory(queue_challenge_difficulty=DIFFICULTY)


def solved(user, event) -> str:
    issued = challenge_issue(user_id=user.pk, event=event)
    assert issued.challenge is not None
    return challenge_solve(issued.challenge)


def _join(client, event, altcha=None):
    body = {"eventId": event.pk}
    if altcha is not None:
        body["altcha"] = altcha
    return client.post("/api/queue/join", body, format="json")


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert set(error) == {"code", "message", "details"}
    return error


def _tampered(payload: str, change) -> str:
    data = json.loads(base64.b64decode(payload))
    change(data)
    return base64.b64encode(json.dumps(data).encode()).decode()


# --- The API (DRF) ----------------------------------------------------------------------------------


def test_a_join_without_a_solution_is_400_challenge_required(event, fan_api):
    _error(_join(fan_api, event), 400, "CHALLENGE_REQUIRED")
    assert not QueueEntry.objects.filter(event=event).exists()


@pytest.mark.parametrize(
    "altcha",
    [
        "not base64 at all!",
        base64.b64encode(b"[1, 2]").decode(),
        base64.b64encode(b'{"challenge": 5}').decode(),
    ],
)
def test_a_garbled_solution_is_400_challenge_invalid(event, fan_api, altcha):
    error = _error(_join(fan_api, event, altcha), 400, "CHALLENGE_INVALID")
    assert error["details"] == {"reason": "malformed"}


def test_a_solved_challenge_joins_once_and_its_replay_is_refused(event, fan, fan_api):
    altcha = solved(fan, event)
    assert _join(fan_api, event, altcha).status_code == 201
    queue_leave(user=fan, event=event)

    error = _error(_join(fan_api, event, altcha), 400, "CHALLENGE_INVALID")

    assert error["details"] == {"reason": "used"}
    assert not QueueEntry.objects.filter(event=event, user=fan, state=QueueEntry.State.WAITING).exists()


def test_a_solution_for_another_fan_is_refused(event, fan, other_fan_api):
    error = _error(_join(other_fan_api, event, solved(fan, event)), 400, "CHALLENGE_INVALID")
    assert error["details"] == {"reason": "wrong_fan"}


def test_a_solution_for_another_event_is_refused(event, fan, fan_api):
    other_event = EventFactory(queue_challenge_difficulty=DIFFICULTY)
    error = _error(_join(fan_api, event, solved(fan, other_event)), 400, "CHALLENGE_INVALID")
    assert error["details"] == {"reason": "wrong_event"}


def test_an_expired_solution_is_refused(event, fan, fan_api, settings):
    settings.QUEUE_CHALLENGE_EXPIRY_SECONDS = -1
    altcha = solved(fan, event)
    error = _error(_join(fan_api, event, altcha), 400, "CHALLENGE_INVALID")
    assert error["details"] == {"reason": "expired"}


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d: d["challenge"]["parameters"]["data"].update(fan=0), id="rebound-to-a-fan"),
        pytest.param(lambda d: d["challenge"]["parameters"].update(expiresAt=4102444800), id="longer-life"),
        pytest.param(lambda d: d["solution"].update(derivedKey="00" * 32), id="wrong-key"),
        pytest.param(lambda d: d["challenge"].pop("signature"), id="unsigned"),
        pytest.param(lambda d: d["challenge"]["parameters"].pop("keySignature"), id="no-key-signature"),
    ],
)
def test_a_tampered_solution_is_refused_as_the_library_refuses_it(event, fan, fan_api, change):
    altcha = _tampered(solved(fan, event), change)

    _error(_join(fan_api, event, altcha), 400, "CHALLENGE_INVALID")
    hmac_secret, key_secret = challenges._secrets()
    assert not verify_solution(altcha, hmac_secret, hmac_key_secret=key_secret).verified


def test_our_check_agrees_with_the_library_on_genuine_solutions(event, fan):
    altcha = solved(fan, event)
    parsed = Payload.from_base64(altcha)
    hmac_secret, key_secret = challenges._secrets()

    assert verify_solution(altcha, hmac_secret, hmac_key_secret=key_secret).verified
    assert challenges._verify(parsed) == "verified"
    # The signed bytes are the library's canonical JSON (its JS-compatible form).
    from altcha.v2 import _canonical_json

    params = parsed.challenge.parameters.to_dict()
    assert _canonical_json(params) == json.dumps(params, sort_keys=True, separators=(",", ":"))


def test_a_fan_already_in_line_gets_the_place_back_without_a_challenge(event, fan, fan_api):
    first = _join(fan_api, event, solved(fan, event)).json()

    again = _join(fan_api, event)

    assert again.status_code == 200
    assert again.json() == first


def test_an_event_with_difficulty_zero_asks_for_no_challenge(fan_api):
    event = EventFactory(queue_challenge_difficulty=0)
    assert _join(fan_api, event).status_code == 201


def test_an_unverified_fan_cannot_join(event):
    unverified = UserFactory(email="new@example.com", unverified=True)
    client = jwt_client_for(unverified)

    error = _error(_join(client, event, solved(unverified, event)), 403, "EMAIL_NOT_VERIFIED")

    assert "verify your e-mail" in error["message"].lower()
    assert not QueueEntry.objects.filter(user=unverified).exists()


def test_the_rule_can_be_switched_off(event, settings):
    settings.ACCOUNTS_REQUIRE_VERIFIED_EMAIL = False
    unverified = UserFactory(email="new@example.com", unverified=True)
    assert _join(jwt_client_for(unverified), event, solved(unverified, event)).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_uses_of_one_solution_only_one_counts(event, fan):
    altcha = solved(fan, event)
    barrier = threading.Barrier(8)

    def redeem():
        barrier.wait()
        try:
            challenge_redeem(user_id=fan.pk, event=event, payload=altcha)
        except ChallengeInvalid:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda _: in_thread(redeem)(), range(8)))

    assert outcomes.count(True) == 1


# --- GET /api/queue/challenge ---------------------------------------------------------------------


def test_the_challenge_endpoint_gives_a_challenge_bound_to_the_fan_and_event(event, fan, fan_api):
    response = fan_api.get("/api/queue/challenge", {"eventId": event.pk})

    assert response.status_code == 200
    body = response.json()
    assert body["required"] is True
    assert body["difficulty"] == DIFFICULTY
    assert body["expiresAt"].endswith("Z")
    assert body["challenge"]["parameters"]["data"] == {"event": event.pk, "fan": fan.pk}
    assert _join(fan_api, event, challenge_solve(body["challenge"])).status_code == 201


def test_the_challenge_endpoint_says_when_none_is_needed(fan_api):
    event = EventFactory(queue_challenge_difficulty=0)
    body = fan_api.get("/api/queue/challenge", {"eventId": event.pk}).json()
    assert body == {"required": False, "difficulty": 0, "expiresAt": None, "challenge": None}


def test_the_challenge_endpoint_needs_a_fan_and_a_known_event(api_client, fan_api):
    _error(api_client.get("/api/queue/challenge", {"eventId": 1}), 401, "NOT_AUTHENTICATED")
    _error(fan_api.get("/api/queue/challenge", {"eventId": 999_999}), 404, "NOT_FOUND")
    _error(fan_api.get("/api/queue/challenge", {"eventId": "x"}), 400, "VALIDATION_ERROR")


def test_the_schema_documents_the_challenge_endpoint_and_the_solution_field(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/queue/challenge"]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} == {"eventId"}
    assert "altcha" in schema["components"]["schemas"]["QueueJoinInputRequest"]["properties"]


# --- Difficulty: per event, and the spike rule ------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "factor"), [(0, 1), (99, 1), (100, 2), (199, 2), (200, 4), (400, 8), (10_000, 8)]
)
def test_the_spike_rule_doubles_with_each_doubling_of_the_join_rate(settings, rate, factor):
    settings.QUEUE_CHALLENGE_SPIKE_JOINS_PER_MINUTE = 100
    settings.QUEUE_CHALLENGE_SPIKE_MAX_FACTOR = 8
    assert challenges.spike_factor(joins_per_minute=rate) == factor


def test_difficulty_rises_when_joins_spike(event, settings, make_fans):
    settings.QUEUE_CHALLENGE_SPIKE_JOINS_PER_MINUTE = 3
    assert challenge_issue(user_id=1, event=event).difficulty == DIFFICULTY
    for fan in make_fans(3):
        challenge_redeem(user_id=fan.pk, event=event, payload=solved(fan, event))

    assert challenge_issue(user_id=1, event=event).difficulty == 2 * DIFFICULTY
    # Replays of a used solution do not count as joins.
    assert challenges.joins_per_minute(event=event) == 3


# --- The fast path: the same check --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_fast_path_refuses_what_the_drf_view_refuses(event, fan, other_fan):
    altcha = solved(fan, event)
    other_event = EventFactory(queue_challenge_difficulty=DIFFICULTY)

    missing = fast("POST", "/api/queue/join", user=fan, data={"eventId": event.pk})
    wrong_fan = fast("POST", "/api/queue/join", user=other_fan, data={"eventId": event.pk, "altcha": altcha})
    wrong_event = fast(
        "POST", "/api/queue/join", user=fan, data={"eventId": other_event.pk, "altcha": altcha}
    )
    joined = fast("POST", "/api/queue/join", user=fan, data={"eventId": event.pk, "altcha": altcha})
    again = fast("POST", "/api/queue/join", user=fan, data={"eventId": event.pk})  # in line: no challenge
    queue_leave(user=fan, event=event)
    replayed = fast("POST", "/api/queue/join", user=fan, data={"eventId": event.pk, "altcha": altcha})

    assert (missing.status, missing.json()["error"]["code"]) == (400, "CHALLENGE_REQUIRED")
    assert wrong_fan.json()["error"]["details"] == {"reason": "wrong_fan"}
    assert wrong_event.json()["error"]["details"] == {"reason": "wrong_event"}
    assert joined.status == 201
    assert (again.status, again.json()) == (200, joined.json())
    assert (replayed.status, replayed.json()["error"]["details"]) == (400, {"reason": "used"})


@pytest.mark.django_db(transaction=True)
def test_the_fast_path_refuses_an_unverified_fan_with_403():
    event = EventFactory(queue_challenge_difficulty=0)
    unverified = UserFactory(email="new@example.com", unverified=True)

    answer = fast("POST", "/api/queue/join", user=unverified, data={"eventId": event.pk})

    assert answer.status == 403
    assert answer.json()["error"]["code"] == "EMAIL_NOT_VERIFIED"


# --- The page -------------------------------------------------------------------------------------


@pytest.fixture
def fan_client(client, fan):
    client.force_login(fan)
    return client


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_the_join_form_carries_the_widget_and_explains_it_needs_javascript(event, fan_client):
    content = fan_client.get(reverse("queueing:page", kwargs={"slug": event.slug})).content.decode()

    assert f'<altcha-widget challenge="/events/{event.slug}/queue/challenge/"' in content
    assert "vendor/altcha/altcha-3.2.2.min.js" in content
    assert "<noscript>" in content


def test_the_page_join_without_a_solution_says_why(event, fan_client):
    response = fan_client.post(reverse("queueing:join", kwargs={"slug": event.slug}))

    assert response.status_code == 302
    assert any("JavaScript" in message for message in _messages(response))
    assert not QueueEntry.objects.filter(event=event).exists()


def test_the_page_joins_with_the_widget_solution(event, fan, fan_client):
    challenge = fan_client.get(reverse("queueing:challenge", kwargs={"slug": event.slug})).json()
    altcha = challenge_solve(challenge)

    response = fan_client.post(reverse("queueing:join", kwargs={"slug": event.slug}), {"altcha": altcha})

    assert response.status_code == 302
    assert QueueEntry.objects.filter(event=event, user=fan).exists()
    replay = fan_client.post(reverse("queueing:join", kwargs={"slug": event.slug}), {"altcha": altcha})
    assert "already have a place" in " ".join(_messages(replay))  # in line: never asked again


def test_the_page_asks_postgresql_nothing_before_a_new_fans_join(event, fan, fan_client, monkeypatch):
    """Whether a new fan already has a place is Redis's answer alone (as on the API's fast path)."""
    from queueing import views

    altcha = solved(fan, event)
    queue_ensure_ready(event=event)
    reads_before_join: list[str] = []
    real_join = views.services.queue_join

    def join_noting_queries_so_far(**kwargs):
        reads_before_join.extend(query["sql"] for query in connection.queries)
        return real_join(**kwargs)

    monkeypatch.setattr(views.services, "queue_join", join_noting_queries_so_far)
    with CaptureQueriesContext(connection):
        fan_client.post(reverse("queueing:join", kwargs={"slug": event.slug}), {"altcha": altcha})

    assert QueueEntry.objects.filter(event=event, user=fan).exists()
    assert not [sql for sql in reads_before_join if "queueing_queueentry" in sql]


def test_a_fan_redis_lost_gets_their_own_place_back_from_the_page(event, fan, fan_client, make_fans):
    ahead = make_fans(2)
    for other in ahead:
        queue_join(user=other, event=event)
    original = queue_join(user=fan, event=event)
    queue_redis().flushdb()

    response = fan_client.post(
        reverse("queueing:join", kwargs={"slug": event.slug}), {"altcha": solved(fan, event)}
    )

    assert response.status_code == 302
    assert QueueEntry.objects.filter(event=event, user=fan).count() == 1
    entry = QueueEntry.objects.get(event=event, user=fan)
    assert entry.sequence == original.sequence
    assert "already have a place" in " ".join(_messages(response))


def test_an_unverified_fan_is_asked_to_verify_on_the_page(event, client):
    unverified = UserFactory(email="new@example.com", unverified=True)
    client.force_login(unverified)

    page = client.get(reverse("queueing:page", kwargs={"slug": event.slug})).content.decode()
    response = client.post(
        reverse("queueing:join", kwargs={"slug": event.slug}), {"altcha": solved(unverified, event)}
    )

    assert "Send the link again" in page
    assert "<altcha-widget" not in page
    assert any("Verify your e-mail" in message for message in _messages(response))
    assert not QueueEntry.objects.filter(user=unverified).exists()


def test_services_still_join_directly(event, fan):
    # Staff tools and the admission tests call the service: the challenge guards the fans' doors only.
    assert queue_join(user=fan, event=event).position == 1


# --- "Already in line" means a durable place -----------------------------------------------------


def _place_without_its_row(event, fan) -> None:
    """What a join that failed half way leaves: a place in Redis, marked unconfirmed, and no row."""
    queue_ensure_ready(event=event)
    queue_open_prequeue(event=event)
    run_join(QueueKeys(event.pk), user_id=fan.pk, now_epoch=time.time())
    assert queue_redis().hexists(QueueKeys(event.pk).unconfirmed, str(fan.pk))
    assert not QueueEntry.objects.filter(event=event, user=fan).exists()


def test_a_place_whose_row_never_came_is_not_answered_as_already_in_line(event, fan, fan_api):
    _place_without_its_row(event, fan)

    assert _join(fan_api, event).status_code == 400  # asked for a challenge: a new join, not a 200
    response = _join(fan_api, event, solved(fan, event))

    assert response.status_code in (200, 201)
    assert QueueEntry.objects.filter(event=event, user=fan, sequence=response.json()["position"]).exists()


@pytest.mark.django_db(transaction=True)
def test_the_fast_path_answers_a_place_whose_row_never_came_only_after_recording_it(event, fan):
    _place_without_its_row(event, fan)

    refused = fast("POST", "/api/queue/join", user=fan, data={"eventId": event.pk})
    joined = fast(
        "POST", "/api/queue/join", user=fan, data={"eventId": event.pk, "altcha": solved(fan, event)}
    )

    assert refused.status == 400
    assert joined.status in (200, 201)
    assert QueueEntry.objects.filter(event=event, user=fan).exists()
