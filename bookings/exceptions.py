"""Errors of seat holds and bookings (codes and statuses are part of the API)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import status

from core.exceptions import ApplicationError, Conflict, Forbidden, NotFound


class NotAdmitted(Forbidden):
    code = "NOT_ADMITTED"
    default_message = _("You need a valid admission pass from the queue for this event.")


class UnknownSeats(ApplicationError):
    """Some requested seat ids are not seats of this event. ``details = {"seatIds": [...]}``."""

    code = "UNKNOWN_SEATS"
    status_code = status.HTTP_400_BAD_REQUEST
    default_message = _("Some of these seats do not exist for this event.")


class SeatUnavailable(Conflict):
    """Held by someone else or sold. ``details = {"seatIds": [...]}``: the seats that are taken."""

    code = "SEAT_UNAVAILABLE"
    default_message = _("Some of these seats have just been taken. Please choose others.")


class TooManySeats(Conflict):
    """``details = {"limit", "held", "requested"}``."""

    code = "TOO_MANY_SEATS"
    default_message = _("You cannot hold that many seats for this event.")


class FanSeatLimitReached(Conflict):
    """The fan would have more seats for this event than ``Event.max_seats_per_fan`` (paid, awaiting
    payment and held together). ``details = {"limit", "owned", "requested"}``."""

    code = "FAN_SEAT_LIMIT"
    default_message = _("You have reached the number of seats one fan may have for this event.")


class SeatsInPendingBooking(Conflict):
    """Seats on a booking awaiting payment cannot be released one by one: cancel the booking."""

    code = "SEATS_IN_BOOKING"
    default_message = _(
        "These seats are in your booking awaiting payment. Cancel the booking to release them."
    )


class NoSeatsHeld(Conflict):
    code = "NO_SEATS_HELD"
    default_message = _("Hold some seats before booking.")


class PendingBookingExists(Conflict):
    """The fan's pending booking has other seats than their holds.

    ``details = {"bookingId", "reference"}``.
    """

    code = "BOOKING_PENDING"
    default_message = _(
        "You already have a booking awaiting payment for this event with other seats. "
        "Pay for it or cancel it first."
    )


class BookingNotCancellable(Conflict):
    code = "BOOKING_NOT_CANCELLABLE"
    default_message = _("This booking can no longer be cancelled.")


class BookingNotPayable(Conflict):
    """A payment arrived for a booking that was cancelled or refunded: the payment must be refunded."""

    code = "BOOKING_NOT_PAYABLE"
    default_message = _("This booking can no longer be paid for.")


class SeatsNoLongerAvailable(Conflict):
    """A late payment for an expired booking whose seats were taken meanwhile: refund it.

    ``details = {"seatIds": [...]}``.
    """

    code = "SEATS_NO_LONGER_AVAILABLE"
    default_message = _("The seats of this booking were sold to someone else after it expired.")


class BookingNotFound(NotFound):
    default_message = _("No such booking.")
