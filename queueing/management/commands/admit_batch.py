from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from boxoffice.services import sale_admit_now
from queueing.management.commands._event_arg import event_from_argument

# Exit status when nobody could be admitted (paused, sale not open, nobody waiting): scripts can tell.
NOBODY_ADMITTED = 2


class Command(BaseCommand):
    help = (
        "Admit the next batch of an event's queue now (outside the admission job's schedule). "
        "Paused or outside the sale it admits nobody, says why on stderr and exits with status 2."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("event", help="event id or slug")
        parser.add_argument(
            "--size", type=int, default=None, help="batch size (default: the event's setting)"
        )

    def handle(self, *args, event: str, size: int | None, **options) -> None:
        target = event_from_argument(event)
        result = sale_admit_now(event=target, actor=None, size=size)
        if result.level != "success":
            self.stderr.write(self.style.WARNING(f"{target} (event {target.pk}): {result.message}"))
            raise SystemExit(NOBODY_ADMITTED)
        self.stdout.write(self.style.SUCCESS(f"{target} (event {target.pk}): {result.message}"))
        admitted = result.admitted_user_ids
        emails = dict(get_user_model().objects.filter(pk__in=admitted).values_list("pk", "email"))
        for user_id in admitted:
            self.stdout.write(f"  user {user_id} {emails.get(user_id, '')}")
