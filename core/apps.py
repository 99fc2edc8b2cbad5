from django.apps import AppConfig


class CoreConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "core"

    def ready(self) -> None:
        from core.metrics import connect_celery_signals

        connect_celery_signals()  # Celery task outcomes, counted in the worker processes
