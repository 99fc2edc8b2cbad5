"""Which WebSocket handshakes pass the origin check, on the real application."""

import pytest
from channels.testing import WebsocketCommunicator
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.tests.factories import UserFactory
from core.realtime import close_hub
from events.tests.factories import EventFactory
from ticketing.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def access_token():
    return str(RefreshToken.for_user(UserFactory()).access_token)


@pytest.fixture
def event():
    return EventFactory()


async def handshake(path: str, headers: list[tuple[bytes, bytes]]) -> bool:
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    await communicator.disconnect()
    await close_hub()  # the live hub of this test's event loop (core.realtime)
    return connected


async def test_a_native_client_without_origin_connects_with_a_token(event, access_token):
    assert await handshake(f"/ws/queue/{event.pk}/?token={access_token}", headers=[])


async def test_a_socket_without_origin_or_token_is_refused(event):
    assert not await handshake(f"/ws/queue/{event.pk}/", headers=[])


async def test_a_foreign_web_page_is_refused_even_with_a_token(event, access_token):
    headers = [(b"origin", b"https://evil.example")]

    assert not await handshake(f"/ws/queue/{event.pk}/?token={access_token}", headers=headers)


async def test_a_page_from_an_allowed_host_connects(event, access_token):
    headers = [(b"origin", b"http://testserver")]

    assert await handshake(f"/ws/queue/{event.pk}/?token={access_token}", headers=headers)
