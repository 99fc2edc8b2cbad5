"""WebSocket plumbing shared by the consumers: origin policy, who is connecting, close codes."""

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken


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


# Close codes our consumers use after accepting, so a client can read why it was refused.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_UNKNOWN_EVENT = 4404


def _user_from_access_token(raw_token: str):
    """The active user of a JWT *access* token (refresh tokens are refused), or None."""
    authentication = JWTAuthentication()
    try:
        return authentication.get_user(authentication.get_validated_token(raw_token.encode()))
    except (InvalidToken, AuthenticationFailed):
        return None


async def websocket_user(scope):
    """Who opened the socket: the `?token=` access token when given (mobile), else the session user.

    None when neither identifies an active user.
    """
    tokens = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    if tokens:
        return await database_sync_to_async(_user_from_access_token)(tokens[0])
    user = scope.get("user")
    return user if user is not None and user.is_authenticated else None
