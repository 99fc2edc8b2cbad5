"""Errors of the waiting room (codes are part of the API)."""

from django.utils.translation import gettext_lazy as _

from core.exceptions import Conflict, NotFound


class EventNotFound(NotFound):
    default_message = _("No such event.")


class SaleClosed(Conflict):
    code = "SALE_CLOSED"
    default_message = _("The sale for this event is closed.")


class NotInQueue(NotFound):
    code = "NOT_IN_QUEUE"
    default_message = _("You are not in the queue for this event.")
