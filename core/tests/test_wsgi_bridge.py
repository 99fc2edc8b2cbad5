"""``core.wsgi_bridge``: Django's WSGI handler in threads, one hand-over each way per request."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from core import wsgi_bridge
from core.testing import http_scope
from core.wsgi_bridge import WsgiInThreads


def _scope(method: str = "GET", path: str = "/x/") -> dict:
    headers = [(b"host", b"testserver"), (b"content-type", b"text/plain")]
    return http_scope(method, path, headers, client=("203.0.113.7", 5000))


def _call(app, *, scope=None, body_chunks=(b"",), disconnect_after=None) -> list[dict]:
    """Run one request through ``app``; the messages it sent."""
    sent: list[dict] = []
    incoming = [
        {"type": "http.request", "body": chunk, "more_body": index < len(body_chunks) - 1}
        for index, chunk in enumerate(body_chunks)
    ]
    if disconnect_after is not None:
        incoming = [*incoming[:disconnect_after], {"type": "http.disconnect"}]

    async def receive():
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    # A loop of its own, in a thread of its own: other tests may leave this thread's loop running.
    with ThreadPoolExecutor(1) as runner:
        runner.submit(asyncio.run, app(scope or _scope(), receive, send)).result()
    return sent


def _echo(environ, start_response):
    body = environ["wsgi.input"].read()
    start_response("201 Created", [("Content-Type", "text/plain"), ("X-Path", environ["PATH_INFO"])])
    return [b"got ", body, b" from ", environ["REMOTE_ADDR"].encode()]


def test_a_response_is_handed_back_whole_with_no_hand_over_from_the_thread(monkeypatch):
    handed_over: list[object] = []
    real = asyncio.run_coroutine_threadsafe

    def noting(coroutine, loop):
        handed_over.append(coroutine)
        return real(coroutine, loop)

    monkeypatch.setattr(wsgi_bridge.asyncio, "run_coroutine_threadsafe", noting)

    sent = _call(
        WsgiInThreads(_echo, threads=2, buffer_limit=1000), scope=_scope("POST"), body_chunks=(b"ab", b"cd")
    )

    assert sent == [
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [(b"content-type", b"text/plain"), (b"x-path", b"/x/")],
        },
        {"type": "http.response.body", "body": b"got abcd from 203.0.113.7"},
    ]
    assert handed_over == []  # the body was read before the thread started, the answer went back whole


def test_a_body_over_the_buffer_limit_is_read_on_from_the_thread():
    chunks = (b"x" * 600, b"y" * 600, b"z" * 600)

    sent = _call(WsgiInThreads(_echo, threads=1, buffer_limit=1000), scope=_scope("POST"), body_chunks=chunks)

    assert sent[1]["body"] == b"got " + b"".join(chunks) + b" from 203.0.113.7"


def test_a_client_gone_before_its_body_ended_runs_no_view():
    called: list[bool] = []

    def app(environ, start_response):
        called.append(True)
        return _echo(environ, start_response)

    sent = _call(
        WsgiInThreads(app, threads=1, buffer_limit=1000), body_chunks=(b"a", b"b"), disconnect_after=1
    )

    assert sent == []
    assert called == []


class _Streaming:
    streaming = True  # what Django's StreamingHttpResponse and FileResponse say

    def __init__(self, parts):
        self.parts = parts
        self.closed = False

    def __iter__(self):
        return iter(self.parts)

    def close(self):
        self.closed = True


def test_streaming_responses_are_written_piece_by_piece_and_closed():
    response = _Streaming([b"one", b"", b"two"])

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/event-stream")])
        return response

    sent = _call(WsgiInThreads(app, threads=1, buffer_limit=1000))

    assert [message.get("body") for message in sent] == [None, b"one", b"two", b""]
    assert [message.get("more_body", False) for message in sent[1:]] == [True, True, False]
    assert response.closed


def test_the_wsgi_write_callable_streams_too():
    def app(environ, start_response):
        write = start_response("200 OK", [])
        write(b"early ")
        return [b"late"]

    sent = _call(WsgiInThreads(app, threads=1, buffer_limit=1000))

    assert b"".join(message.get("body", b"") for message in sent) == b"early late"
    assert sent[-1] == {"type": "http.response.body", "body": b""}


def test_an_error_in_the_app_reaches_the_server():
    def app(environ, start_response):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        _call(WsgiInThreads(app, threads=1, buffer_limit=1000))
