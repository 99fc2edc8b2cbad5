from django.apps import AppConfig


class EventsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "events"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from core.public_cache import bump_generation
        from events.models import Event, Seat, SeatCategory, Venue

        # What the public event pages show: a staff edit must reach visitors on their next request.
        for model in (Event, Venue, SeatCategory, Seat):
            post_save.connect(bump_generation, sender=model, dispatch_uid=f"public-pages-{model.__name__}")
            post_delete.connect(
                bump_generation, sender=model, dispatch_uid=f"public-pages-{model.__name__}-del"
            )
