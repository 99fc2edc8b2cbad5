from __future__ import annotations

import pytest
from django.core.management import call_command

from boxoffice.models import SaleControlAction
from boxoffice.services import (
    InvalidSaleSettings,
    sale_admit_now,
    sale_pause,
    sale_resume,
    sale_settings_change,
)
from events.tests.factories import EventFactory
from queueing.models import AdmissionPass, EventQueue
from queueing.selectors import queue_stats
from queueing.services import queue_join

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_sale_can_be_paused_before_anyone_has_queued(event, staff_user):
    assert not EventQueue.objects.filter(event=event).exists()

    result = sale_pause(event=event, actor=staff_user)

    assert result.level == "success"
    assert EventQueue.objects.get(event=event).is_paused
    assert queue_stats(event=event).is_paused
    action = SaleControlAction.objects.get()
    assert (action.event, action.actor, action.action, action.outcome) == (event, staff_user, "pause", "done")


def test_admit_now_while_paused_is_a_warning_and_admits_nobody(event, make_fans, staff_user):
    for fan in make_fans(3):
        queue_join(user=fan, event=event)
    sale_pause(event=event, actor=staff_user)

    result = sale_admit_now(event=event, actor=staff_user, size=2)

    assert result.level == "warning"
    assert "paused" in result.message
    assert result.admitted_user_ids == ()
    assert not AdmissionPass.objects.exists()
    audit = SaleControlAction.objects.filter(action="admit_now").get()
    assert audit.outcome == "refused"
    assert audit.details == {"size": 2}


def test_admit_now_admits_the_requested_number_in_queue_order(event, make_fans, staff_user):
    fans = make_fans(5)
    for fan in fans:
        queue_join(user=fan, event=event)
    sale_pause(event=event, actor=staff_user)
    sale_resume(event=event, actor=staff_user)

    result = sale_admit_now(event=event, actor=staff_user, size=2)

    assert result.level == "success"
    assert result.admitted_user_ids == (fans[0].pk, fans[1].pk)
    assert "2 fans admitted" in result.message
    assert AdmissionPass.objects.count() == 2
    assert list(SaleControlAction.objects.order_by("pk").values_list("action", flat=True)) == [
        "pause",
        "resume",
        "admit_now",
    ]


def test_admit_now_with_nobody_waiting_says_so(event, staff_user):
    result = sale_admit_now(event=event, actor=staff_user)
    assert result.level == "warning"
    assert "Nobody was waiting" in result.message


def test_admit_now_before_the_sale_opens_admits_nobody(db, staff_user):
    upcoming = EventFactory(upcoming=True)
    result = sale_admit_now(event=upcoming, actor=staff_user)
    assert result.level == "warning"
    assert "not open" in result.message


def test_settings_change_is_validated_and_audited(event, staff_user):
    with pytest.raises(InvalidSaleSettings):
        sale_settings_change(event=event, actor=staff_user, batch_size=0, interval_seconds=30)

    sale_settings_change(event=event, actor=staff_user, batch_size=120, interval_seconds=15)

    event.refresh_from_db()
    assert (event.admission_batch_size, event.admission_interval_seconds) == (120, 15)
    audit = SaleControlAction.objects.get()
    assert audit.details["before"] == {"batch_size": 50, "interval_seconds": 30}
    assert audit.details["after"] == {"batch_size": 120, "interval_seconds": 15}


def test_the_admit_batch_command_warns_and_fails_while_paused(event, make_fans, staff_user, capsys):
    for fan in make_fans(2):
        queue_join(user=fan, event=event)
    sale_pause(event=event, actor=staff_user)

    with pytest.raises(SystemExit) as exit_info:
        call_command("admit_batch", str(event.pk))

    captured = capsys.readouterr()
    assert exit_info.value.code == 2
    assert "paused" in captured.err
    assert "admitted to" not in captured.out
    assert not AdmissionPass.objects.exists()
    assert SaleControlAction.objects.filter(
        action="admit_now", actor__isnull=True, outcome="refused"
    ).exists()
