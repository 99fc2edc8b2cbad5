"""WebSocket origin policy."""

from urllib.parse import parse_qs

from channels.security.websocket import AllowedHostsOriginValidator


class BrowserOriginValidator:
    """Browsers must come from an allowed host (cookies ride along, so a foreign page must not connect).

    Native mobile clients often send no Origin header at all; they authenticate with `?token=<JWT>`,
    which a foreign web page cannot borrow, so a socket without an Origin is let through only with
    a token. The consumer still validates that token.
    """

    def __init__(self, application):
        self.application = application
        self.browser_checked = AllowedHostsOriginValidator(application)

    async def __call__(self, scope, receive, send):
        has_origin = any(name == b"origin" for name, _ in scope.get("headers", []))
        has_token = bool(parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token"))
        if not has_origin and has_token:
            return await self.application(scope, receive, send)
        return await self.browser_checked(scope, receive, send)
