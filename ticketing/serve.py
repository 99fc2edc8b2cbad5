"""The one way Turnstile serves HTTP and WebSockets: uvicorn with several worker processes.

`make run`, the Dockerfile, docker-compose and the benchmarks all start the site with
``python -m ticketing.serve``, so what is measured is what runs. Sizing (environment):

- ``WEB_WORKERS``: server processes, one per core by default (each is one Python interpreter);
- ``WEB_THREADS``: threads per process running Django's request handler (see ``ticketing.asgi``);
- ``WEB_GRACEFUL_SHUTDOWN_SECONDS``: on SIGTERM, open requests and sockets get this long, then the
  process exits whatever is still open (a WebSocket never keeps a stopping server alive);
- ``HOST``, ``PORT``: where to listen.
"""

from __future__ import annotations

import os

import uvicorn


def worker_count() -> int:
    return int(os.environ.get("WEB_WORKERS") or os.cpu_count() or 1)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketing.settings")
    uvicorn.run(
        "ticketing.asgi:application",
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        workers=worker_count(),
        loop="uvloop",
        http="httptools",
        # uvicorn's sans-I/O WebSocket protocol, keeping less per socket and writing pushes directly.
        ws="core.ws_protocol:TurnstileWebSocketProtocol",
        # Django decides which proxy headers to trust (NUM_PROXIES, BEHIND_TLS_PROXY): one rule, one place.
        proxy_headers=False,
        server_header=False,
        access_log=False,
        log_level=os.environ.get("WEB_LOG_LEVEL", "warning"),
        backlog=int(os.environ.get("WEB_BACKLOG", "4096")),
        timeout_graceful_shutdown=int(os.environ.get("WEB_GRACEFUL_SHUTDOWN_SECONDS", "10")),
        # Keepalive pings are most of an idle socket's cost (20,000 sockets at 20 s: ~1,000 pings and
        # pongs a second). 30 s stays under the usual 60 s proxy idle timeouts, and the queue's own
        # heartbeat frame (QUEUE_BROADCAST_SECONDS) is traffic too.
        ws_ping_interval=float(os.environ.get("WEB_WS_PING_SECONDS", "30")),
        ws_ping_timeout=float(os.environ.get("WEB_WS_PING_TIMEOUT_SECONDS", "20")),
        # Compressing every small frame for every socket was the largest cost of a push (bench/ws_bench).
        ws_per_message_deflate=False,
        # A worker busy with a storm of new sockets may miss uvicorn's 5 s health check and be killed.
        timeout_worker_healthcheck=int(os.environ.get("WEB_WORKER_HEALTHCHECK_SECONDS", "60")),
    )


if __name__ == "__main__":
    main()
