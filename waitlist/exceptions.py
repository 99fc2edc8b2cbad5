"""Errors of the waiting lists (codes are part of the API)."""

from django.utils.translation import gettext_lazy as _

from core.exceptions import Conflict, NotFound


class SeatsStillAvailable(Conflict):
    code = "SEATS_AVAILABLE"
    default_message = _("Seats are still on sale: join the queue instead of the waiting list.")


class AlreadyAdmitted(Conflict):
    code = "ALREADY_ADMITTED"
    default_message = _("You may choose seats right now: no need for the waiting list.")


class NotOnWaitlist(NotFound):
    code = "NOT_ON_WAITLIST"
    default_message = _("You are not on the waiting list for this event.")
