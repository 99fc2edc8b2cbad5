"""WebSocket routes. Each app adds its consumers here as it gains them."""

websocket_urlpatterns: list = []
