"""One cache client per process: not one per request thread, per copied context or per socket."""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core.cache import caches
from django.test import override_settings

from core.caching import share_cache_connections


def _in_a_pool_thread_with_a_copied_context(alias: str):
    # How ticketing.asgi runs Django: core.wsgi_bridge copies the request's context into a pool thread.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(contextvars.copy_context().run, lambda: caches[alias]).result()


@pytest.mark.parametrize("alias", ["default", "local"])
def test_every_thread_and_context_shares_one_cache_object(alias):
    here = caches[alias]
    assert _in_a_pool_thread_with_a_copied_context(alias) is here
    # What a socket's consumer does (sync code called from a task), in a thread of its own: the
    # browser tests' Playwright keeps an event loop running in the main thread.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(async_to_sync(sync_to_async(lambda: caches[alias]))).result() is here


def test_a_test_overriding_caches_gets_the_shared_objects_again():
    before = caches["default"]
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}):
        assert _in_a_pool_thread_with_a_copied_context("default") is caches["default"]
    assert caches["default"] is not before  # rebuilt for the restored settings, and shared again
    assert _in_a_pool_thread_with_a_copied_context("default") is caches["default"]


def test_a_backend_not_known_to_be_thread_safe_keeps_djangos_per_thread_objects(tmp_path):
    backend = "django.core.cache.backends.filebased.FileBasedCache"
    with override_settings(CACHES={"default": {"BACKEND": backend, "LOCATION": str(tmp_path)}}):
        assert not share_cache_connections()
        assert _in_a_pool_thread_with_a_copied_context("default") is not caches["default"]
