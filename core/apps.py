from django.apps import AppConfig


class CoreConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "core"

    def ready(self) -> None:
        from core import caching
        from core.metrics import connect_celery_signals

        caching.install()  # one cache client per process, not one per request or socket
        connect_celery_signals()  # Celery task outcomes, counted in the worker processes
