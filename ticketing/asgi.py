"""ASGI entry point: HTTP through Django's request handler, WebSockets through Channels consumers.

Django's views and middleware here are synchronous. Under Django's ASGI handler every sync middleware
costs its own thread hop (a dozen per page, and a fresh thread and database connection per request),
which capped pages near 80 req/s. So each HTTP request makes one hop into a fixed pool of threads
(``WEB_THREADS``) and runs Django's own WSGI handler there: the same middleware, views, sessions,
CSRF and throttles, with pooled database connections. In front of it the queue API's two hot
endpoints are answered without a thread (``queueing.fast_api``), sharing auth, throttles and validation
with the DRF views, and ``/healthz`` answers from a per-process reading of PostgreSQL and Redis
(``core.health``).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketing.settings")

# Django must be set up before anything imports models (consumers, routing).
django_wsgi_app = get_wsgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from core.health import HealthProbe  # noqa: E402
from core.metrics import WebSocketMetrics  # noqa: E402
from core.websocket import BrowserOriginValidator  # noqa: E402
from core.wsgi_bridge import WsgiInThreads  # noqa: E402
from queueing.fast_api import QueueFastPath  # noqa: E402
from ticketing.routing import websocket_urlpatterns  # noqa: E402


class DjangoInThreadPool:
    """Django's WSGI handler in a pool of ``WEB_THREADS`` threads (``core.wsgi_bridge``: one hand-over
    to a thread and back per request), one pool per process.

    The pool is made in the process that serves: a forked process (a test's live server, a server
    that preloads the app) must not reuse its parent's pool, whose threads do not exist there.
    """

    def __init__(self) -> None:
        self._pid: int | None = None
        self._app: WsgiInThreads | None = None

    async def __call__(self, scope, receive, send) -> None:
        if self._pid != os.getpid() or self._app is None:
            self._app = WsgiInThreads(
                django_wsgi_app,
                threads=settings.WEB_THREADS,
                # Bodies Django accepts are read before the thread starts; bigger ones as it reads.
                buffer_limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440,
            )
            self._pid = os.getpid()
        await self._app(scope, receive, send)


django_http_app = DjangoInThreadPool()

application = ProtocolTypeRouter(
    {
        "http": HealthProbe(QueueFastPath(django_http_app)),
        "websocket": WebSocketMetrics(
            BrowserOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
