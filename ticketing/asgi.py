"""ASGI entry point: HTTP through Django, WebSockets through Channels consumers."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketing.settings")

# Django must be set up before anything imports models (consumers, routing).
django.setup(set_prefix=False)

from core.asgi import EnvelopeASGIHandler  # noqa: E402

# What get_asgi_application() returns, with early refusals in the error envelope.
django_asgi_app = EnvelopeASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from core.websocket import BrowserOriginValidator  # noqa: E402
from queueing.fast_api import QueueFastPath  # noqa: E402
from ticketing.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # The queue's hot API endpoints skip Django's stack (see queueing.fast_api); the rest is Django.
        "http": QueueFastPath(django_asgi_app),
        "websocket": BrowserOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
