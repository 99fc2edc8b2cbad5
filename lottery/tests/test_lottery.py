"""The verifiable pre-queue lottery: commitment before opening, a draw anyone can recompute, a seed
nobody can change. Real PostgreSQL and Redis; the published JSON is checked by the standalone script."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core import local_cache
from events.tests.factories import EventFactory
from lottery.algorithm import commitment_of, draw_order
from lottery.models import PrequeueLottery
from lottery.selectors import lottery_entrant_of
from queueing.models import QueueEntry
from queueing.selectors import queue_status
from queueing.services import queue_join, queue_open_prequeue

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "verify_lottery.py"
PREQUEUE_SIZE = 30


@pytest.fixture
def upcoming_event(db):
    return EventFactory(upcoming=True, admission_batch_size=5)


def _open_sale(event) -> None:
    event.sale_opens_at = timezone.now() - timedelta(seconds=1)
    event.save(update_fields=["sale_opens_at"])


def _run_script(path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, str(SCRIPT), str(path), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def drawn_sale(upcoming_event, make_fans):
    """A test on-sale: fans in the pre-queue, then the opening draws their order."""
    fans = make_fans(PREQUEUE_SIZE)
    for fan in fans:
        queue_join(user=fan, event=upcoming_event)
    commitment = PrequeueLottery.objects.get(event=upcoming_event).commitment
    _open_sale(upcoming_event)
    assert queue_open_prequeue(event=upcoming_event) == PREQUEUE_SIZE
    return upcoming_event, fans, commitment


def test_a_scheduled_event_publishes_its_commitment_and_keeps_the_seed_secret(upcoming_event, client):
    lottery = PrequeueLottery.objects.get(event=upcoming_event)
    assert lottery.commitment == commitment_of(lottery.seed)

    page = client.get(upcoming_event.get_absolute_url()).content.decode()
    published = client.get(reverse("lottery:download", args=[upcoming_event.slug])).json()

    assert lottery.commitment in page
    assert lottery.seed not in page
    assert published["commitment"] == lottery.commitment
    assert published["seed"] is None
    assert published["order"] is None
    assert (
        lottery.seed not in client.get(reverse("lottery:page", args=[upcoming_event.slug])).content.decode()
    )


def test_the_script_recomputes_the_published_order_of_a_test_on_sale(drawn_sale, client, tmp_path):
    event, fans, commitment = drawn_sale
    download = client.get(reverse("lottery:download", args=[event.slug]))
    path = tmp_path / "lottery.json"
    path.write_bytes(download.content)
    data = json.loads(download.content)
    lottery = PrequeueLottery.objects.get(event=event)

    page = client.get(reverse("lottery:page", args=[event.slug])).content.decode()
    assert lottery.seed in page
    assert f"<code>{data['order'][0]}</code>" in page
    assert f"<dd>{PREQUEUE_SIZE}</dd>" in page
    for fan in (fans[0], fans[-1]):
        entrant_id, place = lottery_entrant_of(lottery=lottery, user=fan)
        result = _run_script(path, "--entrant", entrant_id, "--commitment", commitment)
        assert result.returncode == 0, result.stdout + result.stderr
        # The place the script computes is the fan's real place in line.
        assert f"place {place} of {PREQUEUE_SIZE}" in result.stdout
        assert queue_status(user=fan, event=event).position == place
    assert data["seed"] == lottery.seed
    assert sorted(data["entrants"]) == data["entrants"]
    assert len(data["order"]) == PREQUEUE_SIZE
    # The queue's sequences follow the published order exactly.
    sequence_of = dict(QueueEntry.objects.filter(event=event).values_list("user_id", "sequence"))
    by_entrant = {lottery_entrant_of(lottery=lottery, user=fan)[0]: sequence_of[fan.pk] for fan in fans}
    assert [by_entrant[entrant_id] for entrant_id in data["order"]] == list(range(1, PREQUEUE_SIZE + 1))


def test_the_script_refuses_a_tampered_order_or_another_seed(drawn_sale, client, tmp_path):
    event, _fans, _commitment = drawn_sale
    data = client.get(reverse("lottery:download", args=[event.slug])).json()
    swapped = dict(data, order=[data["order"][1], data["order"][0], *data["order"][2:]])
    other_seed = dict(data, seed="00" * 32)
    for name, tampered in (("swapped", swapped), ("seed", other_seed)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(tampered))
        result = _run_script(path)
        assert result.returncode == 1, name
        assert "FAIL" in result.stdout
    path = tmp_path / "wrong-commitment.json"
    path.write_text(json.dumps(data))
    assert _run_script(path, "--commitment", "ab" * 32).returncode == 1


def test_the_draw_is_the_sort_by_the_committed_seed(drawn_sale):
    event, fans, _commitment = drawn_sale
    lottery = PrequeueLottery.objects.get(event=event)
    entrant_ids = [lottery_entrant_of(lottery=lottery, user=fan)[0] for fan in fans]

    assert lottery.order == draw_order(seed_hex=lottery.seed, entrant_ids=entrant_ids)
    assert lottery.order != entrant_ids, "arrival order must not decide the place"
    assert all(str(fan.pk) not in lottery.order for fan in fans)


def test_the_api_publishes_the_same_document(drawn_sale, api_client, client):
    event, _fans, _commitment = drawn_sale

    api = api_client.get(f"/api/events/{event.pk}/lottery")
    download = client.get(reverse("lottery:download", args=[event.slug]))

    assert api.status_code == 200
    assert api.json() == download.json()


def test_an_event_without_a_lottery_is_a_404_in_the_envelope(api_client, db):
    event = EventFactory()  # on sale when created: no pre-queue, no lottery

    response = api_client.get(f"/api/events/{event.pk}/lottery")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_staff_cannot_change_the_seed_in_the_admin(upcoming_event, staff_user):
    lottery = PrequeueLottery.objects.get(event=upcoming_event)
    client = Client()
    client.force_login(staff_user)
    url = reverse("admin:lottery_prequeuelottery_change", args=[lottery.pk])
    new_seed = "11" * 32

    page = client.get(url)
    posted = client.post(url, {"seed": new_seed, "commitment": commitment_of(new_seed)})

    assert page.status_code == 200
    assert client.get(reverse("admin:lottery_prequeuelottery_changelist")).status_code == 200
    assert lottery.seed not in page.content.decode(), "the seed is secret until the draw, from staff too"
    assert posted.status_code == 403
    lottery.refresh_from_db()
    assert lottery.seed != new_seed


@pytest.mark.parametrize("field", ["seed", "commitment", "pseudonym_key"])
def test_the_database_refuses_any_change_of_a_committed_lottery(upcoming_event, field):
    lottery = PrequeueLottery.objects.get(event=upcoming_event)
    new_seed = "22" * 32
    changes = {"seed": new_seed, "commitment": commitment_of(new_seed), "pseudonym_key": new_seed}

    with pytest.raises(IntegrityError), transaction.atomic():
        PrequeueLottery.objects.filter(pk=lottery.pk).update(**{field: changes[field]})
    setattr(lottery, field, changes[field])
    with pytest.raises(IntegrityError), transaction.atomic():
        lottery.save()

    assert PrequeueLottery.objects.get(pk=lottery.pk).seed != new_seed


def test_a_drawn_order_cannot_be_rewritten(drawn_sale):
    event, _fans, _commitment = drawn_sale
    lottery = PrequeueLottery.objects.get(event=event)

    with pytest.raises(IntegrityError), transaction.atomic():
        PrequeueLottery.objects.filter(pk=lottery.pk).update(order=list(reversed(lottery.order)))


@pytest.mark.parametrize("local_cache_seconds", [0, 60])
def test_the_fan_sees_their_entrant_id_in_the_prequeue_and_their_place_after(
    upcoming_event, make_fans, settings, local_cache_seconds
):
    # Also with the per-process caches on: the draw's save renews the cached lottery.
    settings.LOCAL_CACHE_SECONDS = local_cache_seconds
    local_cache.clear_all()
    fans = make_fans(3)
    for fan in fans:
        queue_join(user=fan, event=upcoming_event)
    client = Client()
    client.force_login(fans[1])
    queue_url = reverse("queueing:page", args=[upcoming_event.slug])
    entrant_id, _ = lottery_entrant_of(
        lottery=PrequeueLottery.objects.get(event=upcoming_event), user=fans[1]
    )

    before = client.get(queue_url).content.decode()
    _open_sale(upcoming_event)
    opened = client.get(queue_url).content.decode()  # the lottery, not drawn yet, is read again
    queue_open_prequeue(event=upcoming_event)
    after = client.get(queue_url).content.decode()

    assert entrant_id in before
    assert "The draw put you" not in opened
    place = queue_status(user=fans[1], event=upcoming_event).position
    assert entrant_id in after
    assert f"place <strong>{place}</strong>." in after
