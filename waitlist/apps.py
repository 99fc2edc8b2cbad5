from django.apps import AppConfig


class WaitlistConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "waitlist"
    verbose_name = "Waiting lists"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from bookings.signals import seats_returned
        from waitlist.models import WaitlistEntry
        from waitlist.receivers import offer_seats_back_on_sale
        from waitlist.selectors import forget_waitlist_presence

        seats_returned.connect(offer_seats_back_on_sale, dispatch_uid="waitlist-offer-returned-seats")
        post_save.connect(forget_waitlist_presence, sender=WaitlistEntry, dispatch_uid="waitlist-presence")
        post_delete.connect(
            forget_waitlist_presence, sender=WaitlistEntry, dispatch_uid="waitlist-presence-del"
        )
