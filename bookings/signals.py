"""What bookings tell other apps, without importing them."""

from django.dispatch import Signal

# Sent after a transaction that put seats of an event back on sale committed (a hold expired or was
# released, a booking expired, failed, was cancelled or refunded). Keyword arguments: event_id.
seats_returned = Signal()
