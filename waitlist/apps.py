from django.apps import AppConfig


class WaitlistConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "waitlist"
    verbose_name = "Waiting lists"

    def ready(self) -> None:
        from bookings.signals import seats_returned
        from waitlist.receivers import offer_seats_back_on_sale

        seats_returned.connect(offer_seats_back_on_sale, dispatch_uid="waitlist-offer-returned-seats")
