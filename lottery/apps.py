from django.apps import AppConfig


class LotteryConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "lottery"
    verbose_name = "Pre-queue lottery"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from core.public_cache import bump_generation
        from events.models import Event
        from lottery.models import PrequeueLottery
        from lottery.receivers import commit_seed_of_scheduled_event

        post_save.connect(commit_seed_of_scheduled_event, sender=Event, dispatch_uid="lottery-commit-on-save")
        # The event page shows the commitment, then the draw: committing and drawing renew the pages
        # (and this process's cached lotteries) like a staff edit of the event.
        post_save.connect(bump_generation, sender=PrequeueLottery, dispatch_uid="public-pages-lottery")
        post_delete.connect(bump_generation, sender=PrequeueLottery, dispatch_uid="public-pages-lottery-del")
