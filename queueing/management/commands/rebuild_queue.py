from django.core.management.base import BaseCommand, CommandParser

from queueing.management.commands._event_arg import event_from_argument
from queueing.services import queue_rebuild_from_database


class Command(BaseCommand):
    help = "Rebuild an event's queue in Redis from PostgreSQL, keeping everybody's place."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("event", help="event id or slug")

    def handle(self, *args, event: str, **options) -> None:
        target = event_from_argument(event)
        waiting = queue_rebuild_from_database(event=target)
        self.stdout.write(f"Rebuilt the queue of {target} (event {target.pk}): {waiting} fan(s) waiting.")
