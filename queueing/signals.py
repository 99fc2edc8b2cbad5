"""What the waiting room tells other apps, without importing them."""

from django.dispatch import Signal

# Sent after a fan left an event's queue (their admission pass, if any, has ended), outside any
# transaction. Keyword arguments: user, event.
fan_left_queue = Signal()
