"""The queue page, its htmx status partial, joining and leaving, and the event page's call to action."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from events.tests.factories import EventFactory
from queueing.models import QueueEntry
from queueing.services import queue_admit_batch, queue_expire_passes, queue_join, queue_pause

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def page_url(event) -> str:
    return reverse("queueing:page", kwargs={"slug": event.slug})


def status_url(event) -> str:
    return reverse("queueing:status", kwargs={"slug": event.slug})


def join_url(event) -> str:
    return reverse("queueing:join", kwargs={"slug": event.slug})


def leave_url(event) -> str:
    return reverse("queueing:leave", kwargs={"slug": event.slug})


@pytest.fixture
def fan_client(client, fan) -> Client:
    client.force_login(fan)
    return client


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- Access ---------------------------------------------------------------------------------------


def test_the_queue_page_needs_a_logged_in_fan(client, event):
    response = client.get(page_url(event))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={quote(page_url(event))}"


def test_a_logged_out_poll_sends_the_whole_page_to_the_login_not_into_the_panel(client, event):
    response = client.get(status_url(event), **HTMX)

    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("accounts:login"))


def test_joining_while_logged_out_comes_back_to_the_queue_page_after_login(client, event):
    response = client.post(join_url(event))

    assert response.status_code == 302
    assert f"next={quote(page_url(event))}" in response["Location"]
    assert not QueueEntry.objects.exists()


@pytest.mark.parametrize("trait", ["draft", "cancelled"])
def test_unpublished_events_have_no_queue_page(fan_client, trait):
    assert fan_client.get(page_url(EventFactory(**{trait: True}))).status_code == 404


def test_join_and_leave_only_accept_post(fan_client, event):
    assert fan_client.get(join_url(event)).status_code == 405
    assert fan_client.get(leave_url(event)).status_code == 405


def test_join_needs_the_csrf_token(fan):
    event = EventFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(fan)

    response = client.post(join_url(event))

    assert response.status_code == 403
    assert not QueueEntry.objects.exists()


# --- States of the queue page ---------------------------------------------------------------------


def test_a_fan_not_in_the_queue_is_offered_to_join(fan_client, event):
    response = fan_client.get(page_url(event))

    content = response.content.decode()
    assert response.status_code == 200
    assert 'data-queue-state="none"' in content
    assert "You're not in the queue" in content
    assert f'action="{join_url(event)}"' in content
    assert "every 5s" not in content  # nothing to poll for


def test_joining_takes_a_place_and_shows_it(fan_client, fan, event, make_fans):
    for early_fan in make_fans(4):
        queue_join(user=early_fan, event=event)

    response = fan_client.post(join_url(event), follow=True)

    assert response.redirect_chain == [(page_url(event), 302)]
    entry = QueueEntry.objects.get(user=fan)
    assert entry.state == QueueEntry.State.WAITING
    content = response.content.decode()
    assert 'data-queue-state="waiting"' in content
    assert '<dd class="queue-position" data-queue-field="position">5</dd>' in content
    assert '<dd data-queue-field="usersAhead">4</dd>' in content
    assert '<dd data-queue-field="estimatedWaitTime">about 1 minute</dd>' in content
    assert '<dd data-queue-field="queueSize">5</dd>' in content
    assert 'max="100" value="0"' in content
    assert 'hx-trigger="every 5s, queue:reload"' in content
    assert f'data-ws-path="/ws/queue/{event.pk}/"' in content
    assert "You are in the queue" in _messages(response)[0]


def test_joining_twice_keeps_the_same_place(fan_client, fan, other_fan, event):
    fan_client.post(join_url(event))
    queue_join(user=other_fan, event=event)

    response = fan_client.post(join_url(event), follow=True)

    assert QueueEntry.objects.filter(user=fan).count() == 1
    assert QueueEntry.objects.get(user=fan).sequence == 1
    assert '<dd class="queue-position" data-queue-field="position">1</dd>' in response.content.decode()
    assert "already have a place" in _messages(response)[-1]


def test_the_progress_bar_fills_as_the_line_moves(fan_client, event, make_fans):
    for early_fan in make_fans(4):
        queue_join(user=early_fan, event=event)
    fan_client.post(join_url(event))

    queue_admit_batch(event=event)  # three of the four ahead are let in: place 5 -> 2
    content = fan_client.get(page_url(event)).content.decode()

    assert '<dd class="queue-position" data-queue-field="position">2</dd>' in content
    assert 'max="100" value="60"' in content
    assert 'aria-valuetext="60% of the way"' in content


def test_joining_and_polling_write_nothing_to_the_session(fan_client, event, make_fans, monkeypatch):
    """The progress bar's start lives in a signed cookie: a join and its polls save no session
    (a session save is a PostgreSQL write, on every join of an on-sale)."""
    from django.contrib.sessions.backends.cached_db import SessionStore

    saves: list[str] = []
    real_save = SessionStore.save
    monkeypatch.setattr(
        SessionStore, "save", lambda self, *a, **kw: saves.append("save") or real_save(self, *a, **kw)
    )
    for early_fan in make_fans(2):
        queue_join(user=early_fan, event=event)

    joined = fan_client.post(join_url(event))
    fan_client.get(page_url(event))
    fan_client.get(status_url(event), **HTMX)

    assert saves == []
    assert joined.cookies[f"queue-start-{event.pk}"]["httponly"]


def test_a_forged_progress_cookie_is_ignored_and_replaced(fan_client, event, make_fans):
    for early_fan in make_fans(4):
        queue_join(user=early_fan, event=event)
    fan_client.post(join_url(event))  # place 5
    fan_client.cookies[f"queue-start-{event.pk}"] = "1000"  # unsigned: "I started at place 1,000"
    queue_admit_batch(event=event)

    response = fan_client.get(page_url(event))

    assert 'max="100" value="0"' in response.content.decode()  # starts again from place 2
    replaced = fan_client.get(page_url(event).replace("/queue/", "/queue/status/"), **HTMX)
    assert f"queue-start-{event.pk}" not in replaced.cookies  # the new cookie was kept: no rewrite


def test_before_opening_the_fan_waits_in_the_pre_queue_with_a_countdown(fan_client, fan):
    event = EventFactory(upcoming=True)

    response = fan_client.post(join_url(event), follow=True)

    content = response.content.decode()
    assert QueueEntry.objects.get(user=fan).state == QueueEntry.State.PREQUEUE
    assert 'data-queue-state="prequeue"' in content
    countdown_to = re.search(r'data-countdown-to="([^"]+)"', content).group(1)
    assert datetime.fromisoformat(countdown_to) == event.sale_opens_at
    assert "random place" in content
    assert "every 5s" in content
    # The ticking countdown is not inside a live region: it would be read out every second.
    summary = re.search(r'<p class="queue-summary"[^>]*>(.*?)</p>', content, re.S)
    assert "data-countdown-to" in summary.group(1)
    assert "aria-live" not in summary.group(0)


def test_an_admitted_fan_gets_the_seat_map_link_and_the_pass_expiry(fan_client, fan, event):
    queue_join(user=fan, event=event)
    queue_admit_batch(event=event)
    expires_at = timezone.localtime(fan.admission_passes.get().expires_at)

    content = fan_client.get(page_url(event)).content.decode()

    assert 'data-queue-state="admitted"' in content
    seat_map = f'href="/events/{event.slug}/seats/">Choose your seats</a>'
    assert seat_map in content
    assert f">{expires_at:%H:%M}</time>" in content
    assert "and your admission pass" in content  # the leave button says what is given up


def test_a_fan_whose_pass_expired_may_join_again(fan_client, fan, event):
    queue_join(user=fan, event=event)
    queue_admit_batch(event=event)
    queue_expire_passes(now=timezone.now() + timedelta(minutes=11))

    content = fan_client.get(page_url(event)).content.decode()

    assert 'data-queue-state="expired"' in content
    assert "Your turn has ended" in content
    assert "Join the queue again" in content


def test_the_sale_being_over_is_said_plainly(fan_client):
    event = EventFactory(closed=True)

    content = fan_client.get(page_url(event)).content.decode()

    assert 'data-queue-state="closed"' in content
    assert "The sale is over" in content
    assert "Join the queue" not in content


def test_joining_a_closed_sale_shows_a_readable_message(fan_client, fan):
    event = EventFactory(closed=True)

    response = fan_client.post(join_url(event), follow=True)

    assert response.status_code == 200
    assert _messages(response) == ["The sale for this event is closed."]
    assert not QueueEntry.objects.filter(user=fan).exists()


def test_the_status_panel_alone_is_returned_for_htmx(fan_client, fan, event):
    queue_join(user=fan, event=event)

    response = fan_client.get(status_url(event), **HTMX)

    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<section id="queue-status"')
    assert "<html" not in content
    assert 'data-queue-field="position">1<' in content
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_full_page_is_not_a_partial(fan_client, fan, event):
    queue_join(user=fan, event=event)

    content = fan_client.get(page_url(event)).content.decode()

    assert "<html" in content
    assert 'id="queue-status"' in content
    assert "js/queue.js" in content


# --- Leaving --------------------------------------------------------------------------------------


def test_leaving_gives_the_place_up_and_goes_back_to_the_event(fan_client, fan, event):
    queue_join(user=fan, event=event)

    response = fan_client.post(leave_url(event), follow=True)

    assert response.redirect_chain == [(event.get_absolute_url(), 302)]
    assert QueueEntry.objects.get(user=fan).state == QueueEntry.State.LEFT
    assert _messages(response) == ["You left the queue. Your place has been given up."]
    assert "Join the queue" in response.content.decode()


def test_leaving_when_not_queued_just_says_so(fan_client, event):
    response = fan_client.post(leave_url(event), follow=True)

    assert response.status_code == 200
    assert _messages(response) == ["You are not in the queue for this event."]


def test_the_leave_button_asks_for_confirmation(fan_client, fan, event):
    queue_join(user=fan, event=event)

    content = fan_client.get(page_url(event)).content.decode()

    assert "<summary>Leave the queue</summary>" in content
    assert "Yes, leave the queue" in content


# --- Rate limit -----------------------------------------------------------------------------------


def test_too_many_joins_get_a_readable_429_and_keep_the_place(fan_client, fan, event, settings):
    settings.QUEUE_PAGE_JOIN_RATE = "2/m"
    fan_client.post(join_url(event))
    fan_client.post(join_url(event))

    response = fan_client.post(join_url(event))

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "Too many requests" in response.content.decode()
    assert QueueEntry.objects.get(user=fan).state == QueueEntry.State.WAITING


def test_polling_too_fast_gets_429_which_htmx_does_not_swap_in(fan_client, event, settings):
    settings.QUEUE_PAGE_STATUS_RATE = "1/m"
    assert fan_client.get(status_url(event), **HTMX).status_code == 200

    assert fan_client.get(status_url(event), **HTMX).status_code == 429


# --- The event page's call to action --------------------------------------------------------------


def test_the_event_page_asks_anonymous_fans_to_log_in_first(client, event):
    content = client.get(event.get_absolute_url()).content.decode()

    login = f"{reverse('accounts:login')}?next={quote(event.get_absolute_url(), safe='')}"
    assert f'<a class="button" href="{login}">Log in to join the queue</a>' in content


def test_the_event_page_offers_to_join_with_a_post_form(fan_client, event):
    content = fan_client.get(event.get_absolute_url()).content.decode()

    assert f'<form method="post" action="{join_url(event)}" class="queue-cta">' in content
    assert "csrfmiddlewaretoken" in content
    assert "Join the queue" in content


def test_before_opening_the_event_page_explains_the_pre_queue(fan_client):
    event = EventFactory(upcoming=True)

    content = fan_client.get(event.get_absolute_url()).content.decode()

    assert "Join the queue" in content
    assert "random place" in content


def test_a_queued_fan_is_sent_back_to_their_place(fan_client, fan, event):
    queue_join(user=fan, event=event)

    content = fan_client.get(event.get_absolute_url()).content.decode()

    assert f'<a class="button" href="{page_url(event)}">Go to your place in line</a>' in content
    assert "Join the queue" not in content


def test_an_admitted_fan_is_sent_to_the_seat_map_from_the_event_page(fan_client, fan, event):
    queue_join(user=fan, event=event)
    queue_admit_batch(event=event)

    content = fan_client.get(event.get_absolute_url()).content.decode()

    assert f'href="/events/{event.slug}/seats/"' in content


def test_a_closed_sale_offers_no_queue(fan_client):
    event = EventFactory(closed=True)

    content = fan_client.get(event.get_absolute_url()).content.decode()

    assert "Join the queue" not in content
    assert "Log in to join the queue" not in content


# --- Staff: queue figures on the event admin --------------------------------------------------------


def test_the_event_admin_shows_the_queue_figures(client, staff_user, event, make_fans):
    for queued_fan in make_fans(5):
        queue_join(user=queued_fan, event=event)
    queue_admit_batch(event=event)  # 3 of 5 admitted
    client.force_login(staff_user)

    change_page = client.get(reverse("admin:events_event_change", args=[event.pk])).content.decode()
    changelist = client.get(reverse("admin:events_event_changelist")).content.decode()

    assert "<tr><th>Waiting in line</th><td>2</td></tr>" in change_page
    assert "<tr><th>Admitted now (valid passes)</th><td>3</td></tr>" in change_page
    assert "<tr><th>Admitted in total</th><td>3</td></tr>" in change_page
    assert "<tr><th>Admission</th><td>running</td></tr>" in change_page
    assert "<tr><th>Admitted in the last 5 minutes</th><td>3</td></tr>" in change_page
    assert '<td class="field-queue_summary">2 waiting · 3 admitted</td>' in changelist


def test_the_event_changelist_reads_no_queue_for_events_nobody_queued_for(client, staff_user, event):
    client.force_login(staff_user)

    changelist = client.get(reverse("admin:events_event_changelist")).content.decode()

    assert '<td class="field-queue_summary">—</td>' in changelist


def test_while_admission_is_paused_no_wait_is_promised(fan_client, fan, event, make_fans):
    for early_fan in make_fans(2):
        queue_join(user=early_fan, event=event)
    fan_client.post(join_url(event))
    queue_pause(event=event)

    content = fan_client.get(page_url(event)).content.decode()

    assert '<dd data-queue-field="estimatedWaitTime">paused</dd>' in content
    assert "Estimated wait: paused." in content
    assert "less than a minute" not in content


# --- Cost of a reload ---------------------------------------------------------------------------------


def test_a_waiting_fans_queue_page_costs_no_query_once_the_shared_reads_are_warm(
    fan_client, fan, event, settings, django_assert_num_queries
):
    # The page looks for a lottery entry and a waiting-list offer for every fan; with no lottery and
    # nobody on the list, the per-process caches answer both (core.local_cache).
    settings.LOCAL_CACHE_SECONDS = 60
    from core import local_cache

    local_cache.clear_all()
    queue_join(user=fan, event=event)
    assert fan_client.get(page_url(event)).status_code == 200

    with django_assert_num_queries(0):
        again = fan_client.get(page_url(event))

    assert again.status_code == 200
    assert "Your lottery entry" not in again.content.decode()


def test_the_event_page_asks_postgresql_nothing_about_a_fan_out_of_line(
    fan_client, fan, event, settings, django_assert_num_queries
):
    # An ended turn and "never joined" both get the join button, so the page does not look up which.
    settings.LOCAL_CACHE_SECONDS = 60
    from core import local_cache

    local_cache.clear_all()
    queue_join(user=fan, event=event)
    queue_admit_batch(event=event)
    queue_expire_passes(event=event, now=timezone.now() + timedelta(hours=1))
    assert fan_client.get(event.get_absolute_url()).status_code == 200

    with django_assert_num_queries(0):
        again = fan_client.get(event.get_absolute_url())

    assert f'<form method="post" action="{join_url(event)}" class="queue-cta">' in again.content.decode()
