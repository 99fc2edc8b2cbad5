"""Browser tests: Playwright drives Debian's Chromium against a live daphne server.

The server runs in a child process (Channels' DaphneProcess) on the test database, so it speaks
HTTP and WebSockets like production. Tests must use `django_db(transaction=True)`: the server only
sees committed data.
"""

from __future__ import annotations

import os
import shutil
from functools import partial

import pytest

# Playwright's sync API keeps an event loop running in this thread; the ORM calls in tests are still
# synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def pytest_collection_modifyitems(items):
    for item in items:
        if "browser_tests" in str(item.path):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        message = "Chromium is not installed: run `make browser-deps` (Debian package chromium)."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True}


def _use_database(name: str) -> None:
    """In the server process: talk to the test database (also when started with 'spawn')."""
    from concurrent.futures import ThreadPoolExecutor

    from asgiref.sync import SyncToAsync
    from django.conf import settings

    settings.DATABASES["default"]["NAME"] = name
    # A forked server inherits asgiref's single-thread executor, but not its worker thread: once an
    # async test in this process used it (database_sync_to_async), every consumer in the server
    # would wait forever for that thread. Give the server a fresh executor.
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)


@pytest.fixture(scope="session")
def asgi_live_server(django_db_setup, django_db_blocker):
    """A daphne process serving the whole ASGI app (HTTP + WebSockets) on the test database."""
    from channels.testing.live import make_application
    from daphne.testing import DaphneProcess
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.db import connections

    with django_db_blocker.unblock():
        test_database_name = connections["default"].settings_dict["NAME"]
        connections.close_all()  # the child process must not share our sockets
        for connection in connections.all():
            # ...nor our pool's: close_all returns connections to the pool, which keeps them open, and
            # a forked server would then talk on the same sockets as the tests (a corrupt protocol).
            close_pool = getattr(connection, "close_pool", None)
            if close_pool is not None:
                close_pool()
        process = DaphneProcess(
            "127.0.0.1",
            partial(make_application, static_wrapper=ASGIStaticFilesHandler),
            setup=partial(_use_database, test_database_name),
        )
        process.start()
        if not process.ready.wait(timeout=30):
            process.terminate()
            raise RuntimeError("The live daphne server did not start")
        yield f"http://127.0.0.1:{process.port.value}"
        process.terminate()
        process.join(10)


@pytest.fixture(scope="session")
def base_url(asgi_live_server):
    """pytest-playwright's base_url: page.goto("/path") goes to the live server."""
    return asgi_live_server


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "en-IN", "timezone_id": "Asia/Kolkata"}


@pytest.fixture
def demo_event():
    """The demo on-sale of ``seed_demo`` (fans fan1..fan5@turnstile.local), as the journeys start it."""
    from django.core.management import call_command

    from events.models import Event

    call_command("seed_demo", verbosity=0)
    return Event.objects.get(slug="turnstile-live-demo")
