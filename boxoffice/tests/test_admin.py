"""The admin an operator runs a sale from: controls before anyone queued, words that read right."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from boxoffice.models import SaleControlAction
from queueing.models import EventQueue
from queueing.services import queue_admit_batch, queue_join

pytestmark = pytest.mark.django_db(transaction=True)


def test_staff_pause_and_resume_from_the_event_list_before_anyone_queued(client, staff_user, event):
    client.force_login(staff_user)
    url = reverse("admin:events_event_changelist")

    client.post(url, {"action": "pause_admission", "_selected_action": [event.pk]})
    assert EventQueue.objects.get(event=event).is_paused
    client.post(url, {"action": "resume_admission", "_selected_action": [event.pk]})

    assert not EventQueue.objects.get(event=event).is_paused
    assert list(SaleControlAction.objects.order_by("pk").values_list("action", flat=True)) == [
        "pause",
        "resume",
    ]


def test_the_event_page_links_to_the_box_office_and_shows_real_admissions(
    client, staff_user, event, make_fans
):
    for fan in make_fans(4):
        queue_join(user=fan, event=event)
    queue_admit_batch(event=event)  # a batch of 50 finds 4 fans
    client.force_login(staff_user)

    html = client.get(reverse("admin:events_event_change", args=[event.pk])).content.decode()

    assert reverse("boxoffice:dashboard", args=[event.pk]) in html
    assert "<th>Admitted in the last 5 minutes</th><td>4</td>" in html
    assert "<th>Admission</th><td>running</td>" in html


def test_admin_words_read_right(client, staff_user, event, fan):
    queue_join(user=fan, event=event)
    client.force_login(staff_user)

    index = client.get(reverse("admin:index")).content.decode()
    queues = client.get(reverse("admin:queueing_eventqueue_changelist")).content.decode()

    assert "Admission passes" in index
    assert "passs" not in index
    assert "Running" in queues
    assert "icon-no" not in queues


def test_admit_now_from_the_queue_list_while_paused_is_a_warning(client, staff_user, event, fan):
    queue_join(user=fan, event=event)
    state = EventQueue.objects.get(event=event)
    client.force_login(staff_user)
    url = reverse("admin:queueing_eventqueue_changelist")
    client.post(url, {"action": "pause", "_selected_action": [state.pk]})

    response = client.post(url, {"action": "admit_batch_now", "_selected_action": [state.pk]}, follow=True)

    # The outcome is a warning message, not a green success.
    assert re.search(r'<li class="warning">[^<]*nobody was admitted', response.content.decode())


def test_the_audit_trail_is_read_only_in_the_admin(client, staff_user, event):
    from boxoffice.services import sale_pause

    sale_pause(event=event, actor=staff_user)
    client.force_login(staff_user)
    action = SaleControlAction.objects.get()

    listing = client.get(reverse("admin:boxoffice_salecontrolaction_changelist")).content.decode()

    assert "Paused admission" in listing
    assert staff_user.email in listing
    assert client.get(reverse("admin:boxoffice_salecontrolaction_add")).status_code == 403
    assert (
        client.post(reverse("admin:boxoffice_salecontrolaction_delete", args=[action.pk])).status_code == 403
    )
