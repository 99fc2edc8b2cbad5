"""ASGI entry point: HTTP through Django's request handler, WebSockets through Channels consumers.

Django's views and middleware here are synchronous. Under Django's ASGI handler every sync middleware
costs its own thread hop (a dozen per page, and a fresh thread and database connection per request),
which capped pages near 80 req/s. So each HTTP request makes one hop into a fixed pool of threads
(``WEB_THREADS``) and runs Django's own WSGI handler there: the same middleware, views, sessions,
CSRF and throttles, with pooled database connections. In front of it the queue API's two hot
endpoints are answered without a thread (``queueing.fast_api``), sharing auth, throttles and validation
with the DRF views.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketing.settings")

# Django must be set up before anything imports models (consumers, routing).
django_wsgi_app = get_wsgi_application()

from a2wsgi import WSGIMiddleware  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from core.metrics import WebSocketMetrics  # noqa: E402
from core.websocket import BrowserOriginValidator  # noqa: E402
from queueing.fast_api import QueueFastPath  # noqa: E402
from ticketing.routing import websocket_urlpatterns  # noqa: E402

django_http_app = WSGIMiddleware(django_wsgi_app, workers=settings.WEB_THREADS)

application = ProtocolTypeRouter(
    {
        "http": QueueFastPath(django_http_app),
        "websocket": WebSocketMetrics(
            BrowserOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
