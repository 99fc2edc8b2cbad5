from django.apps import AppConfig


class BookingsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "bookings"

    def ready(self) -> None:
        from bookings.receivers import release_holds_of_fan_who_left_queue
        from queueing.signals import fan_left_queue

        fan_left_queue.connect(release_holds_of_fan_who_left_queue, dispatch_uid="bookings-release-on-leave")
