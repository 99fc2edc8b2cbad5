from django.core.management.base import CommandError

from core.urls import is_id
from events.models import Event


def event_from_argument(value: str) -> Event:
    """An event by primary key or slug."""
    lookup = {"pk": int(value)} if is_id(value) else {"slug": value}
    try:
        return Event.objects.get(**lookup)
    except Event.DoesNotExist as exc:
        raise CommandError(f"No event {value!r}.") from exc
