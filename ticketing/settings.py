"""Turnstile settings.

Every value comes from the environment, with embedded defaults that are safe for local use.
The README lists the variables. With DEBUG off (production), the default secret key is refused.
"""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from core.logging import structured_logging

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEFAULT_SECRET_KEY = "insecure-local-only-turnstile-key-do-not-use-in-production"  # noqa: S105

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY", DEFAULT_SECRET_KEY)
if not DEBUG and SECRET_KEY == DEFAULT_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (production).")
if not DEBUG and len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

SECURE_COOKIES = env_bool("SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "channels",
    "core",
    "accounts",
    "events",
    "queueing",
    "bookings",
    "payments",
    "boxoffice",
    "lottery",
    "waitlist",
]

MIDDLEWARE = [
    # First, so it times the whole stack and tags every answer with a request id (core.metrics).
    "core.metrics.RequestObservabilityMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.RequestHygieneMiddleware",
    "core.middleware.StoreOutageMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django_ratelimit.middleware.RatelimitMiddleware",
]

ROOT_URLCONF = "ticketing.urls"
ASGI_APPLICATION = "ticketing.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.caching",
            ],
        },
    },
]

# --- Data stores -------------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/turnstile")
# Threads per web process running Django's request handler (ticketing.asgi); each may hold one
# pooled database connection while it answers a request.
# Fewer threads contend less for the interpreter; more ride out lock waits (README).
WEB_THREADS = env_int("WEB_THREADS", 4)
DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
# psycopg's connection pool, per process: a request borrows a connection instead of opening one
# (connecting cost more than most of our queries). DB_POOL_MAX_SIZE=0 turns it off.
DB_POOL_MIN_SIZE = env_int("DB_POOL_MIN_SIZE", 2)
DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", WEB_THREADS)
if DB_POOL_MAX_SIZE > 0:
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(DB_POOL_MIN_SIZE, DB_POOL_MAX_SIZE),
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": env_int("DB_POOL_TIMEOUT_SECONDS", 10),
        # psycopg's pool retries a lost connection with doubling delays for this long (5 minutes by
        # default): after a minute-long PostgreSQL outage its next try came up to a minute after
        # PostgreSQL was back, all requests 503 meanwhile. Giving up sooner lets the next request
        # start a fresh attempt, which tries at once.
        "reconnect_timeout": env_int("DB_POOL_RECONNECT_SECONDS", 10),
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 0)
# Behind PgBouncer in transaction mode each transaction may run on another server connection, so a
# server-side cursor (QuerySet.iterator() outside a transaction) could be looked for on the wrong one.
# Django already keeps psycopg's prepared statements off; our locks and lock_timeout are
# transaction-scoped (select_for_update, SET LOCAL), so nothing else depends on the session.
DB_TRANSACTION_POOLER = env_bool("DB_TRANSACTION_POOLER", False)
if DB_TRANSACTION_POOLER:
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
# A row lock that cannot be had quickly becomes a clean "busy, retry" error instead of a pile-up.
DB_LOCK_TIMEOUT_MS = env_int("DB_LOCK_TIMEOUT_MS", 5000)

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

# The live queue (queueing.redis_queue) may live on its own Redis, or on a Redis Cluster: every key of
# one event's queue shares one hash slot, so its scripts stay atomic and events spread over the shards.
# Everything else (cache, sessions, rate limits, pub/sub, channel layer, Celery) stays on REDIS_URL.
QUEUE_REDIS_URL = env_str("QUEUE_REDIS_URL", REDIS_URL)
QUEUE_REDIS_CLUSTER = env_bool("QUEUE_REDIS_CLUSTER", False)

CACHES: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "turnstile",
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            # One retry after a short pause: a pooled connection a Redis restart closed fails once.
            "CONNECTION_POOL_KWARGS": {"retry": Retry(ExponentialBackoff(base=0.05, cap=0.5), 1)},
        },
    },
    # This process's memory: shared page fragments for about a second (core.local_cache).
    "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "turnstile-local"},
}
# Public data (events, prices, seat counts, page fragments) kept per process this long (core.local_cache).
LOCAL_CACHE_SECONDS = float(env_str("LOCAL_CACHE_SECONDS", "1"))
# A logged-in user's row, shared by every process in Redis this long (accounts.backends); saves and
# deletes of the user replace it at once. 0 reads it from PostgreSQL on every request.
USER_CACHE_SECONDS = env_int("USER_CACHE_SECONDS", 300)

# Sessions are read from Redis on every request and written through to PostgreSQL, so a Redis
# restart logs nobody out.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# Public pages for anonymous visitors (core.public_cache): shared in Redis this long, plus at most
# PUBLIC_PAGE_LOCAL_SECONDS in each process. Staff edits show at once; 0 turns the cache off.
PUBLIC_PAGE_CACHE_SECONDS = env_int("PUBLIC_PAGE_CACHE_SECONDS", 3)
PUBLIC_PAGE_LOCAL_SECONDS = float(env_str("PUBLIC_PAGE_LOCAL_SECONDS", "1"))

# Live pushes to WebSockets go through Redis pub/sub (core.realtime), one subscription per topic per
# process; pub/sub channels are shared by every Redis database, hence a prefix with the database number.
REALTIME_PREFIX = env_str("REALTIME_PREFIX", f"turnstile:live:{urlparse(REDIS_URL).path.strip('/') or '0'}")
# The live hub PINGs its idle pub/sub connection this often, so a dead one is replaced.
REALTIME_HEALTH_CHECK_SECONDS = env_int("REALTIME_HEALTH_CHECK_SECONDS", 15)
# Per socket: frames waiting for a slow client before it is closed (1013, it reconnects); client
# messages allowed (more: closed with 1008) and their size (more: 1009).
WS_SEND_QUEUE_FRAMES = env_int("WS_SEND_QUEUE_FRAMES", 64)
WS_CLIENT_RATE = env_str("WS_CLIENT_RATE", "30/min")
WS_MAX_MESSAGE_BYTES = env_int("WS_MAX_MESSAGE_BYTES", 4096)
# New WebSocket connections per address (closed with 4429 beyond it). Generous: a stadium shares a few
# carrier-NAT addresses.
WS_CONNECT_LIMIT_ENABLE = env_bool("WS_CONNECT_LIMIT_ENABLE", env_bool("RATELIMIT_ENABLE", True))
WS_CONNECT_RATE_IP = env_str("WS_CONNECT_RATE_IP", "300/min")

# The channel layer is no longer on the WebSocket path (see REALTIME_PREFIX); kept for Channels users.
# channels-redis blocks BZPOPMIN for 5 s while redis-py 8 gives up reading after its default 5 s socket
# timeout: every idle receive raised TimeoutError and closed the socket (1011). The read timeout must
# outlast the blocking pop.
CHANNEL_LAYER_SOCKET_TIMEOUT = env_int("CHANNEL_LAYER_SOCKET_TIMEOUT", 15)
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [
                {
                    "address": REDIS_URL,
                    "socket_timeout": CHANNEL_LAYER_SOCKET_TIMEOUT,
                    "socket_keepalive": True,
                    "health_check_interval": 30,
                }
            ],
            "prefix": "turnstile:asgi",
        },
    }
}

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
# Several sites (or test runs) may share one RabbitMQ virtual host: each consumes its own queue.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "celery")
# Tasks are acknowledged late: a worker killed mid-task leaves its task unacknowledged. RabbitMQ
# redelivers it as soon as the connection drops; a Redis broker only after this visibility timeout
# (kombu's default, an hour; RabbitMQ ignores it). See docs/scaling.md for choosing the broker.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT_SECONDS", 3600)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Waiting room (queueing) -------------------------------------------------------------------

# The admission job runs this often; each event still admits once per its own interval (a tick lock),
# so keep this at most the shortest admission interval.
QUEUE_TICK_SECONDS = env_int("QUEUE_TICK_SECONDS", 5)
# Positions are pushed when they change (admissions, leaves, pause); this slow heartbeat only shows
# the page is alive (and carries the same figures).
QUEUE_BROADCAST_SECONDS = env_int("QUEUE_BROADCAST_SECONDS", 30)
QUEUE_EXPIRE_SECONDS = env_int("QUEUE_EXPIRE_SECONDS", 30)
# The measured admission rate (for estimated waits) looks this far back.
QUEUE_RATE_WINDOW_SECONDS = env_int("QUEUE_RATE_WINDOW_SECONDS", 300)
# How long a request waits for another process rebuilding an event's queue from the database.
QUEUE_REBUILD_WAIT_SECONDS = env_int("QUEUE_REBUILD_WAIT_SECONDS", 30)
# The queue repair job: Redis checked against PostgreSQL (rebuilt when behind), half-done admissions
# finished, and places whose PostgreSQL row never came (older than the grace) dropped.
QUEUE_REPAIR_SECONDS = env_int("QUEUE_REPAIR_SECONDS", 5)
QUEUE_REPAIR_GRACE_SECONDS = env_int("QUEUE_REPAIR_GRACE_SECONDS", 10)
# API throttles of the queue (rates below, in REST_FRAMEWORK); off for load tests from one address.
QUEUE_THROTTLE_ENABLE = env_bool("QUEUE_THROTTLE_ENABLE", env_bool("RATELIMIT_ENABLE", True))
# Page rate limits of the queue per fan (django-ratelimit).
QUEUE_PAGE_JOIN_RATE = env_str("QUEUE_PAGE_JOIN_RATE", "10/m")
QUEUE_PAGE_STATUS_RATE = env_str("QUEUE_PAGE_STATUS_RATE", "120/m")
# The lean ASGI path of POST /api/queue/join and GET /api/queue/position/<id> (queueing.fast_api);
# off sends them through Django + DRF like every other endpoint. Events are cached there this long.
# Proof-of-work at join (queueing/challenges.py): the difficulty of new events, the challenge's life,
# and the spike rule (difficulty x2 at QUEUE_CHALLENGE_SPIKE_JOINS_PER_MINUTE joins per minute, x4 at
# twice that, ... up to x QUEUE_CHALLENGE_SPIKE_MAX_FACTOR).
QUEUE_CHALLENGE_DEFAULT_DIFFICULTY = env_int("QUEUE_CHALLENGE_DEFAULT_DIFFICULTY", 20_000)
QUEUE_CHALLENGE_EXPIRY_SECONDS = env_int("QUEUE_CHALLENGE_EXPIRY_SECONDS", 600)
QUEUE_CHALLENGE_SPIKE_JOINS_PER_MINUTE = env_int("QUEUE_CHALLENGE_SPIKE_JOINS_PER_MINUTE", 6_000)
QUEUE_CHALLENGE_SPIKE_MAX_FACTOR = env_int("QUEUE_CHALLENGE_SPIKE_MAX_FACTOR", 8)
# Signs challenges (HMAC); derived from SECRET_KEY when unset.
QUEUE_CHALLENGE_SECRET = env_str("QUEUE_CHALLENGE_SECRET", "")

QUEUE_FAST_PATH = env_bool("QUEUE_FAST_PATH", True)
QUEUE_FAST_PATH_EVENT_SECONDS = float(env_str("QUEUE_FAST_PATH_EVENT_SECONDS", "1"))
# /healthz checks PostgreSQL and Redis at most this often per process (core.health).
HEALTH_CHECK_SECONDS = float(env_str("HEALTH_CHECK_SECONDS", "1"))

# --- Seat holds and bookings ---------------------------------------------------------------------

# Expired holds and bookings are free for every read at once; this sweep tidies rows and notifies maps.
BOOKING_SWEEP_SECONDS = env_int("BOOKING_SWEEP_SECONDS", 30)
# API throttles of holds and bookings, per fan (rates like "60/min" or "5/5min"); off for load tests.
BOOKING_THROTTLE_ENABLE = env_bool("BOOKING_THROTTLE_ENABLE", env_bool("RATELIMIT_ENABLE", True))
BOOKING_THROTTLE_RATES = {
    "holds": env_str("THROTTLE_HOLDS", "60/min"),
    "bookings": env_str("THROTTLE_BOOKINGS", "20/min"),
    "reads": env_str("THROTTLE_BOOKING_READS", "120/min"),
}

CELERY_BEAT_SCHEDULE: dict = {
    "queue-admission-tick": {
        "task": "queueing.tasks.admission_tick",
        "schedule": float(QUEUE_TICK_SECONDS),
        "options": {"expires": float(QUEUE_TICK_SECONDS)},
    },
    "queue-broadcast-status": {
        "task": "queueing.tasks.broadcast_queue_status",
        "schedule": float(QUEUE_BROADCAST_SECONDS),
        "options": {"expires": float(QUEUE_BROADCAST_SECONDS)},
    },
    "queue-repair": {
        "task": "queueing.tasks.repair_queues",
        "schedule": float(QUEUE_REPAIR_SECONDS),
        "options": {"expires": float(QUEUE_REPAIR_SECONDS)},
    },
    "queue-expire-passes": {
        "task": "queueing.tasks.expire_admission_passes",
        "schedule": float(QUEUE_EXPIRE_SECONDS),
        "options": {"expires": float(QUEUE_EXPIRE_SECONDS)},
    },
    "bookings-release-expired-holds": {
        "task": "bookings.tasks.release_expired_holds",
        "schedule": float(BOOKING_SWEEP_SECONDS),
        "options": {"expires": float(BOOKING_SWEEP_SECONDS)},
    },
    "bookings-expire-bookings": {
        "task": "bookings.tasks.expire_bookings",
        "schedule": float(BOOKING_SWEEP_SECONDS),
        "options": {"expires": float(BOOKING_SWEEP_SECONDS)},
    },
}

# --- Auth --------------------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.CachedModelBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "events:list"
LOGOUT_REDIRECT_URL = "events:list"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- API ---------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        *(["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    ],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],
    "NON_FIELD_ERRORS_KEY": "nonFieldErrors",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        # Waiting room: new joins per fan (a fan already queued is never limited) and per address;
        # reads (position, stats, leave) per fan and per address. Periods like "5/5min" are allowed.
        "queue_join": env_str("THROTTLE_QUEUE_JOIN", "5/5min"),
        "queue_join_ip": env_str("THROTTLE_QUEUE_JOIN_IP", "300/min"),
        "queue_read": env_str("THROTTLE_QUEUE_READ", "60/min"),
        "queue_read_ip": env_str("THROTTLE_QUEUE_READ_IP", "3000/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Trust X-Forwarded-For only from this many proxies in front of us; 0 means the socket address,
    # so a client cannot dodge throttles by sending its own header.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env_int("JWT_ACCESS_LIFETIME_SECONDS", 15 * 60)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env_int("JWT_REFRESH_LIFETIME_SECONDS", 7 * 24 * 3600)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "SIGNING_KEY": env_str("JWT_SIGNING_KEY", SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Turnstile API",
    "DESCRIPTION": "Waiting room, seat holds, bookings and payments for mobile clients.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from our own static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "PREPROCESSING_HOOKS": ["core.schema.drop_trailing_slash_aliases"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.forbid_nul_in_request_strings",
    ],
    # Ids in paths are integers (core.urls.IdConverter).
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1}},
}

# Rate limits (django-ratelimit on pages). Off switch for load tests from one address.
RATELIMIT_ENABLE = env_bool("RATELIMIT_ENABLE", True)
RATELIMIT_USE_CACHE = "default"
# One rule for "which address is this": the socket's, or what NUM_PROXIES trusted proxies report.
RATELIMIT_IP_META_KEY = "core.ratelimit.client_address_of_request"
# Log-in, sign-up and token refresh, API and pages alike (accounts.throttles): strict per account,
# generous and escalating per address (fans behind one carrier NAT share an address).
AUTH_THROTTLE_ENABLE = env_bool("AUTH_THROTTLE_ENABLE", RATELIMIT_ENABLE)
AUTH_THROTTLE_RATES = {
    "account": env_str("THROTTLE_AUTH_ACCOUNT", "10/min"),
    "address": env_str("THROTTLE_AUTH_IP", "300/min"),
    "address_hour": env_str("THROTTLE_AUTH_IP_HOUR", "3000/hour"),
}
RATELIMIT_VIEW = "core.views.rate_limited"

# --- I18N, static, mail --------------------------------------------------------------------------

LANGUAGE_CODE = "en"
TIME_ZONE = env_str("TIME_ZONE", "Asia/Kolkata")
# English only, no catalogues: translation lookups (a context-local read per string) cost every
# render for nothing. Turn on with the first translation.
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "core.storage.ForgivingManifestStaticFilesStorage"
    },
}

# E-mail verification before joining a queue (accounts.services).
ACCOUNTS_REQUIRE_VERIFIED_EMAIL = env_bool("ACCOUNTS_REQUIRE_VERIFIED_EMAIL", True)
ACCOUNTS_EMAIL_VERIFICATION_MAX_AGE_SECONDS = env_int(
    "ACCOUNTS_EMAIL_VERIFICATION_MAX_AGE_SECONDS", 3 * 86400
)
THROTTLE_VERIFY_EMAIL_RESEND = env_str("THROTTLE_VERIFY_EMAIL_RESEND", "3/hour")

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Turnstile <tickets@turnstile.local>")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Payments (used from the payments issue on) -----------------------------------------------

STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY", "")
STRIPE_PUBLISHABLE_KEY = env_str("STRIPE_PUBLISHABLE_KEY", "")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = env_str("STRIPE_API_BASE", "")
# Without STRIPE_SECRET_KEY the offline simulated provider is used (the embedded default).
PAYMENTS_STRIPE_TIMEOUT_SECONDS = float(env_str("PAYMENTS_STRIPE_TIMEOUT_SECONDS", "10"))
PAYMENTS_STRIPE_MAX_NETWORK_RETRIES = env_int("PAYMENTS_STRIPE_MAX_NETWORK_RETRIES", 2)
# Refunds the provider could not take at once (unreachable) are retried this often by Celery beat.
PAYMENTS_REFUND_RETRY_SECONDS = env_int("PAYMENTS_REFUND_RETRY_SECONDS", 60)
# API throttles of payments, per fan (rates like "10/min"); off for load tests from one address.
PAYMENTS_THROTTLE_ENABLE = env_bool("PAYMENTS_THROTTLE_ENABLE", env_bool("RATELIMIT_ENABLE", True))
PAYMENTS_THROTTLE_RATES = {
    "create_intent": env_str("THROTTLE_PAYMENT_CREATE_INTENT", "10/min"),
    "confirm": env_str("THROTTLE_PAYMENT_CONFIRM", "30/min"),
    "reads": env_str("THROTTLE_PAYMENT_READS", "120/min"),
}
CELERY_BEAT_SCHEDULE["payments-retry-pending-refunds"] = {
    "task": "payments.tasks.retry_pending_refunds",
    "schedule": float(PAYMENTS_REFUND_RETRY_SECONDS),
    "options": {"expires": float(PAYMENTS_REFUND_RETRY_SECONDS)},
}

# --- Box office, metrics and logs ------------------------------------------------------------------

# The live dashboard keeps one sample of each live sale this often (an hour of them) for its charts.
BOXOFFICE_SAMPLE_SECONDS = env_int("BOXOFFICE_SAMPLE_SECONDS", 5)
CELERY_BEAT_SCHEDULE["boxoffice-sample-live-sales"] = {
    "task": "boxoffice.tasks.sample_live_sales",
    "schedule": float(BOXOFFICE_SAMPLE_SECONDS),
    "options": {"expires": float(BOXOFFICE_SAMPLE_SECONDS)},
}

# --- Waiting lists of sold-out events --------------------------------------------------------------

# Seats coming back are offered at once; this job also passes lapsed offers on to the next fans.
WAITLIST_SWEEP_SECONDS = env_int("WAITLIST_SWEEP_SECONDS", 30)
CELERY_BEAT_SCHEDULE["waitlist-offer"] = {
    "task": "waitlist.tasks.offer_waitlists",
    "schedule": float(WAITLIST_SWEEP_SECONDS),
    "options": {"expires": float(WAITLIST_SWEEP_SECONDS)},
}
# /metrics answers a staff session, "Authorization: Bearer <METRICS_TOKEN>", or these addresses/networks.
# Several worker processes: also set PROMETHEUS_MULTIPROC_DIR (read by prometheus_client itself).
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_ALLOWED_ADDRESSES = env_list("METRICS_ALLOWED_ADDRESSES", [])

# Logs: JSON lines with the request id and the fan's id ("json"), or readable text ("text").
LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG else "json")
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = structured_logging(log_format=LOG_FORMAT, level=LOG_LEVEL)
