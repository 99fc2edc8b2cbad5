"""Test settings: the real PostgreSQL and Redis from DATABASE_URL / REDIS_URL, Celery eager."""

from ticketing.settings import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Each test gets a clean Redis database of its own (see conftest.py); keys carry a test prefix too.
CACHES["default"]["KEY_PREFIX"] = "turnstile-test"  # noqa: F405
CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = "turnstile-test:asgi"  # noqa: F405
# Still argon2 (tests check the algorithm), at a cost that keeps thousands of sign-ups fast.
PASSWORD_HASHERS = ["core.hashers.FastArgon2PasswordHasher", *PASSWORD_HASHERS]  # noqa: F405
# Per-process caches of public data off: each test sees its own writes at once (tests that check
# the caches turn them on).
LOCAL_CACHE_SECONDS = 0
# Pub/sub channels are shared by every Redis database: keep test runs apart from servers on the same one.
REALTIME_PREFIX = "turnstile-test:" + REALTIME_PREFIX  # noqa: F405
HEALTH_CHECK_SECONDS = 0  # every probe checks: tests see an outage at once
# Events made by tests start with the challenge off (EventFactory); the demo event (seed_demo, browser
# tests) has it on at a difficulty the browser solves in a moment.
QUEUE_CHALLENGE_DEFAULT_DIFFICULTY = 2_000
