"""Events already scheduled when the lottery arrived get their commitment now, before their sale opens."""

import hashlib
import secrets

from django.db import migrations
from django.utils import timezone


def commit_scheduled_events(apps, schema_editor):
    Event = apps.get_model("events", "Event")
    PrequeueLottery = apps.get_model("lottery", "PrequeueLottery")
    scheduled = Event.objects.filter(status="published", sale_opens_at__gt=timezone.now(), prequeue_lottery=None)
    for event in scheduled:
        seed = secrets.token_hex(32)
        PrequeueLottery.objects.create(
            event=event,
            seed=seed,
            commitment=hashlib.sha256(bytes.fromhex(seed)).hexdigest(),
            pseudonym_key=secrets.token_hex(32),
        )


class Migration(migrations.Migration):
    dependencies = [("lottery", "0001_initial")]

    operations = [migrations.RunPython(commit_scheduled_events, migrations.RunPython.noop)]
