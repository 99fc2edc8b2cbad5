from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from queueing import tasks
from queueing.models import AdmissionPass, EventQueue, QueueEntry
from queueing.selectors import QueueState, queue_status
from queueing.services import queue_admit_batch, queue_join
from ticketing.celery import app


def test_the_beat_schedule_runs_admission_broadcast_and_expiry():
    schedule = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    queue_tasks = {task: every for task, every in schedule.items() if task.startswith("queueing.")}
    assert queue_tasks == {
        "queueing.tasks.admission_tick": 5.0,
        "queueing.tasks.broadcast_queue_status": 30.0,  # a slow heartbeat: positions are pushed on change
        "queueing.tasks.expire_admission_passes": 30.0,
        "queueing.tasks.repair_queues": 5.0,
    }
    app.loader.import_default_modules()
    assert set(schedule) <= set(app.tasks)


def test_the_admission_task_admits_one_batch_per_running_sale(event, make_fans):
    for fan in make_fans(5):
        queue_join(user=fan, event=event)

    assert tasks.admission_tick.delay().get() == {event.pk: 3}
    assert QueueEntry.objects.filter(state=QueueEntry.State.ADMITTED).count() == 3


def test_the_expiry_task_ends_passes_whose_time_is_up(event, fan):
    queue_join(user=fan, event=event)
    queue_admit_batch(event=event)
    AdmissionPass.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert tasks.expire_admission_passes.delay().get() == 1
    assert queue_status(user=fan, event=event).status == QueueState.EXPIRED


def test_the_admit_batch_command_admits_and_names_the_fans(event, make_fans, capsys):
    fans = make_fans(4)
    for fan in fans:
        queue_join(user=fan, event=event)

    call_command("admit_batch", str(event.pk), "--size", "2")

    out = capsys.readouterr().out
    assert "2 fans admitted" in out
    assert fans[0].email in out
    assert fans[1].email in out
    assert fans[2].email not in out
    call_command("admit_batch", event.slug)
    assert "2 fans admitted" in capsys.readouterr().out


def test_the_admit_batch_command_refuses_an_unknown_event(db):
    with pytest.raises(CommandError):
        call_command("admit_batch", "no-such-event")


def test_staff_can_pause_admit_and_rebuild_from_the_admin(event, make_fans, staff_user, client):
    fans = make_fans(4)
    for fan in fans:
        queue_join(user=fan, event=event)
    state = EventQueue.objects.get(event=event)
    client.force_login(staff_user)
    url = "/admin/queueing/eventqueue/"

    def act(action):
        return client.post(url, {"action": action, "_selected_action": [state.pk]}, follow=True)

    assert act("pause").status_code == 200
    assert EventQueue.objects.get(pk=state.pk).is_paused
    act("admit_batch_now")
    assert not AdmissionPass.objects.exists()
    act("resume")
    act("admit_batch_now")
    assert AdmissionPass.objects.count() == 3
    act("rebuild_from_database")
    assert queue_status(user=fans[3], event=event).position == 1


@pytest.mark.parametrize("model", ["queueentry", "admissionpass", "eventqueue"])
def test_the_queue_records_are_listed_in_the_admin(event, fan, staff_user, client, model):
    queue_join(user=fan, event=event)
    queue_admit_batch(event=event)
    client.force_login(staff_user)

    response = client.get(f"/admin/queueing/{model}/", {"q": fan.email})

    assert response.status_code == 200
