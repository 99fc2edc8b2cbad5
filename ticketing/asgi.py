"""ASGI entry point: HTTP through Django, WebSockets through Channels consumers."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketing.settings")

# Django must be set up before anything imports models (consumers, routing).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from core.metrics import WebSocketMetrics  # noqa: E402
from core.websocket import BrowserOriginValidator  # noqa: E402
from queueing.fast_api import QueueFastPath  # noqa: E402
from ticketing.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # The queue's hot API endpoints skip Django's stack (see queueing.fast_api); the rest is Django.
        "http": QueueFastPath(django_asgi_app),
        "websocket": WebSocketMetrics(
            BrowserOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
