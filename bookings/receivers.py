"""Reactions of bookings to other apps' signals."""

from bookings.services import seats_release


def release_holds_of_fan_who_left_queue(sender, *, user, event, **kwargs) -> None:
    """A fan who leaves the queue gives their held seats back at once, not when the pass would have run
    out. Seats already in their pending booking stay with it (cancelling the booking releases them)."""
    seats_release(user=user, event=event)
