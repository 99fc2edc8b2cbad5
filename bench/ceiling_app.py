"""The machine's ceiling for Python HTTP: a minimal ASGI app answering "hello" on the same server
and worker count as the site (``bench/servers.py`` kind "ceiling")."""

BODY = b"hello"
HEADERS = [(b"content-type", b"text/plain"), (b"content-length", str(len(BODY)).encode())]


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
