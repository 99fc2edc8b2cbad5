"""Django's WSGI handler in a pool of threads, with one hand-over each way per request.

a2wsgi's ``WSGIMiddleware`` (what ``ticketing.asgi`` used) hands every piece of a response from the
request's thread to the event loop and waits for it: the status line, the body, the end; and every
read of the request body goes the other way. Each hand-over is a wake-up of the other thread and a
wait, and on this machine those system calls and switches cost more than our Django middleware does.

Here the event loop reads a request's body before the thread starts (up to ``buffer_limit`` bytes;
a larger body is read on from the thread as it asks, with a2wsgi's ``Body``), the thread runs Django
and returns the whole response, and the loop writes it. Streaming responses (static files through
WhiteNoise, ``StreamingHttpResponse``) are written piece by piece as they are produced, as before.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from a2wsgi.wsgi import Body, build_environ


class _PrefilledBody(Body):
    """a2wsgi's request body, starting with what the event loop already read."""

    def __init__(self, loop: asyncio.AbstractEventLoop, receive, prefix: bytes) -> None:
        super().__init__(loop, receive)
        self.buffer.extend(prefix)


@dataclass
class _Response:
    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    streamed: bool = False  # already written by the thread, piece by piece


def _headers(response_headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [
        (name.strip().encode("latin1").lower(), value.strip().encode("latin1"))
        for name, value in response_headers
    ]


class WsgiInThreads:
    """An ASGI app running the WSGI ``app`` in ``threads`` threads (HTTP only)."""

    def __init__(self, app: Callable, *, threads: int, buffer_limit: int) -> None:
        self.app = app
        self.buffer_limit = buffer_limit
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="WSGI")

    async def __call__(self, scope, receive, send) -> None:
        loop = asyncio.get_running_loop()
        body = await self._read_body(loop, receive)
        if body is None:  # the client left before its request was complete
            return
        environ = build_environ(scope, body)
        context = contextvars.copy_context()
        response = await loop.run_in_executor(self.executor, context.run, self._run, environ, loop, send)
        if not response.streamed:
            await send(
                {"type": "http.response.start", "status": response.status, "headers": response.headers}
            )
            await send({"type": "http.response.body", "body": response.body})

    async def _read_body(self, loop: asyncio.AbstractEventLoop, receive):
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if not message.get("more_body", False):
                break
            if size > self.buffer_limit:  # a large upload: the thread reads the rest as Django asks
                return _PrefilledBody(loop, receive, b"".join(chunks))
        return io.BytesIO(b"".join(chunks))

    def _run(self, environ: dict[str, Any], loop: asyncio.AbstractEventLoop, send) -> _Response:
        response = _Response()

        def start_response(status: str, response_headers, exc_info=None):
            if exc_info is not None and response.streamed:
                raise exc_info[1].with_traceback(exc_info[2])
            response.status = int(status.split(" ", 1)[0])
            response.headers = _headers(response_headers)
            return write

        def send_from_thread(message: dict) -> None:
            asyncio.run_coroutine_threadsafe(send(message), loop).result()

        def start_streaming() -> None:
            if not response.streamed:
                response.streamed = True
                send_from_thread(
                    {"type": "http.response.start", "status": response.status, "headers": response.headers}
                )

        def write(chunk: bytes) -> None:  # WSGI's write() callable: rare, so it streams
            start_streaming()
            send_from_thread({"type": "http.response.body", "body": chunk, "more_body": True})

        iterable: Iterable[bytes] = self.app(environ, start_response)
        try:
            if getattr(iterable, "streaming", False) or response.streamed:
                start_streaming()
                for chunk in iterable:
                    if chunk:
                        send_from_thread({"type": "http.response.body", "body": chunk, "more_body": True})
                send_from_thread({"type": "http.response.body", "body": b""})
            else:
                response.body = b"".join(iterable)
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
        return response
