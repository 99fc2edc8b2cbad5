from django.apps import AppConfig


class LotteryConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "lottery"
    verbose_name = "Pre-queue lottery"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from events.models import Event
        from lottery.receivers import commit_seed_of_scheduled_event

        post_save.connect(commit_seed_of_scheduled_event, sender=Event, dispatch_uid="lottery-commit-on-save")
