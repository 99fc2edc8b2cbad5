"""WebSocket routes. Each app adds its consumers here as it gains them."""

from django.urls import path

from bookings.consumers import SeatMapConsumer
from queueing.consumers import QueueConsumer

websocket_urlpatterns: list = [
    # str, not int: a malformed id gets the consumer's "unknown event" close code, not a dropped socket.
    path("ws/queue/<str:event_id>/", QueueConsumer.as_asgi()),
    path("ws/events/<str:event_id>/seats/", SeatMapConsumer.as_asgi()),
]
