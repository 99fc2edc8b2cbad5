from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from queueing.management.commands._event_arg import event_from_argument
from queueing.services import queue_admit_batch


class Command(BaseCommand):
    help = "Admit the next batch of an event's queue now (the admission job's service, outside its schedule)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("event", help="event id or slug")
        parser.add_argument(
            "--size", type=int, default=None, help="batch size (default: the event's setting)"
        )

    def handle(self, *args, event: str, size: int | None, **options) -> None:
        target = event_from_argument(event)
        admitted = queue_admit_batch(event=target, size=size)
        self.stdout.write(f"Admitted {len(admitted)} fan(s) to {target} (event {target.pk}).")
        emails = dict(get_user_model().objects.filter(pk__in=admitted).values_list("pk", "email"))
        for user_id in admitted:
            self.stdout.write(f"  user {user_id} {emails.get(user_id, '')}")
