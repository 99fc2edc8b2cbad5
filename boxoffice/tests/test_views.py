from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.tests.factories import UserFactory
from boxoffice.models import SaleControlAction
from queueing.models import EventQueue
from queueing.services import queue_join

pytestmark = pytest.mark.django_db(transaction=True)


def dashboard_url(event) -> str:
    return reverse("boxoffice:dashboard", args=[event.pk])


def control_url(event, control: str) -> str:
    return reverse("boxoffice:control", args=[event.pk, control])


def test_fans_and_visitors_are_sent_to_the_staff_login(client, fan, event):
    assert client.get(dashboard_url(event)).status_code == 302
    client.force_login(fan)
    response = client.get(dashboard_url(event))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert client.post(control_url(event, "pause"), {"confirm": "yes"}).status_code == 302
    assert not EventQueue.objects.filter(event=event, is_paused=True).exists()


def test_staff_see_the_live_figures_and_the_partial_refreshes(client, staff_user, event, seats, make_fans):
    for fan in make_fans(3):
        queue_join(user=fan, event=event)
    client.force_login(staff_user)

    page = client.get(dashboard_url(event))
    partial = client.get(reverse("boxoffice:figures", args=[event.pk]), headers={"HX-Request": "true"})
    history = client.get(reverse("boxoffice:history", args=[event.pk])).json()

    assert page.status_code == partial.status_code == 200
    html = page.content.decode()
    assert 'id="fig-waiting">3<' in html
    assert "uPlot.iife.min.js" in html
    assert 'hx-trigger="every 3s"' in html
    assert 'id="fig-waiting">3<' in partial.content.decode()
    assert "<html" not in partial.content.decode()
    assert history["series"]["waiting"][-1] == 3


def test_every_control_asks_for_confirmation_first(client, staff_user, event):
    client.force_login(staff_user)

    confirmation = client.post(control_url(event, "pause"))

    assert confirmation.status_code == 200
    assert "Pause admission to" in confirmation.content.decode()
    assert not EventQueue.objects.filter(event=event, is_paused=True).exists()
    assert not SaleControlAction.objects.exists()

    done = client.post(control_url(event, "pause"), {"confirm": "yes"}, follow=True)

    assert EventQueue.objects.get(event=event).is_paused
    assert "Admission paused" in done.content.decode()
    assert SaleControlAction.objects.get().actor == staff_user


def test_admit_now_while_paused_shows_a_warning(client, staff_user, event, make_fans):
    for fan in make_fans(2):
        queue_join(user=fan, event=event)
    client.force_login(staff_user)
    client.post(control_url(event, "pause"), {"confirm": "yes"})

    response = client.post(control_url(event, "admit"), {"size": "5", "confirm": "yes"}, follow=True)

    html = response.content.decode()
    assert 'class="warning"' in html
    assert "nobody was admitted" in html


def test_settings_change_goes_through_confirmation_and_validation(client, staff_user, event):
    client.force_login(staff_user)
    form = {"batch_size": "75", "interval_seconds": "20"}

    confirmation = client.post(control_url(event, "settings"), form)
    assert "Admit 75 fans every 20 s" in confirmation.content.decode()
    client.post(control_url(event, "settings"), {**form, "confirm": "yes"})
    invalid = client.post(
        control_url(event, "settings"), {"batch_size": "0", "interval_seconds": "20"}, follow=True
    )

    event.refresh_from_db()
    assert (event.admission_batch_size, event.admission_interval_seconds) == (75, 20)
    assert 'class="error"' in invalid.content.decode()


def test_staff_who_may_only_view_events_cannot_use_the_controls(client, event):
    viewer = UserFactory(email="viewer@example.com", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_event"))
    client.force_login(viewer)

    assert client.get(dashboard_url(event)).status_code == 200
    assert 'id="control-pause"' not in client.get(dashboard_url(event)).content.decode()
    assert client.post(control_url(event, "pause"), {"confirm": "yes"}).status_code == 403
    assert not EventQueue.objects.filter(event=event, is_paused=True).exists()


def test_an_unknown_event_is_a_404(client, staff_user):
    client.force_login(staff_user)
    assert client.get(reverse("boxoffice:dashboard", args=[999_999])).status_code == 404
