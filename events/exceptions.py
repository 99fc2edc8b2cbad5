"""Business-rule errors raised by the events services."""

from django.utils.translation import gettext_lazy as _

from core.exceptions import Conflict


class SeatMapInvalid(Conflict):
    """The seat-map specification cannot be turned into seats."""

    code = "SEAT_MAP_INVALID"
    default_message = _("The seat map specification is invalid.")


class SeatMapAlreadyExists(SeatMapInvalid):
    """Generating again would duplicate or reshuffle seats that fans may already hold."""

    code = "SEAT_MAP_EXISTS"
    default_message = _("This event already has seats; a seat map can only be generated once.")


class SeatMapInUse(SeatMapInvalid):
    """Replacing the seats would pull them from under a fan's hold or booking."""

    code = "SEAT_MAP_IN_USE"
    default_message = _(
        "Seats of this event are held or on a booking (even a cancelled one): "
        "the seat map cannot be replaced."
    )
