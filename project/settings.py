"""Django settings. This is the only module that reads the environment.

Every value has a default that works for the embedded run (SQLite + in-memory channel
layer, DEBUG on). Production (DJANGO_DEBUG=0) refuses to start without a secret key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value is None or value == "" else int(value)


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return default if value is None or value == "" else float(value)


def _env_rate(name: str, default: str) -> tuple[int, int]:
    """Parse "COUNT/SECONDS" ("0" turns the limit off)."""
    value = os.environ.get(name) or default
    count, _, seconds = value.partition("/")
    return int(count), int(seconds or 1)


def _env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = _env_bool("DJANGO_DEBUG", True)

_INSECURE_KEY = "django-insecure-embedded-default-do-not-use-in-production"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = _INSECURE_KEY

ALLOWED_HOSTS = _env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")

# Behind a proxy that terminates TLS: the header it sets on HTTPS requests, e.g.
# X-Forwarded-Proto (its value must then be "https"). Only set it when that proxy always
# writes (overwrites) the header: a client could send it too.
_proxy_ssl_header = os.environ.get("DJANGO_SECURE_PROXY_SSL_HEADER", "").strip()
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
# Origins other than the site's own allowed to send credentialed requests: unsafe HTTP
# requests (Django's CSRF check) and websockets (project/origin.py), e.g.
# https://chat.example.com,https://*.example.com
CSRF_TRUSTED_ORIGINS = _env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")
# Cookies only over HTTPS and HSTS on HTTPS responses: on by default with DEBUG off.
# Turn DJANGO_SECURE_COOKIES off only for a production-like run over plain HTTP.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
# SecurityMiddleware sends HSTS only on requests it sees as HTTPS (TLS at daphne, or
# SECURE_PROXY_SSL_HEADER): a year by default with DEBUG off; 0 sends none.
SECURE_HSTS_SECONDS = _env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = _env_bool("DJANGO_HSTS_PRELOAD", False)

# CORS (django-cors-headers), for the API only: browser apps served from these origins
# (e.g. a Vite dev server, http://localhost:5173) may call /graphql/, and open its
# websocket (project/origin.py). Exact origins, comma-separated; none by default.
CORS_ALLOWED_ORIGINS = _env_list("CHAT_CORS_ALLOWED_ORIGINS", "")
CORS_URLS_REGEX = r"^/graphql/$"
# Browsers may cache a preflight this long (Chromium caps it at 2 hours, Firefox at 24).
CORS_PREFLIGHT_MAX_AGE = _env_int("CHAT_CORS_MAX_AGE_SECONDS", 7200)
# Off: those origins authenticate with a bearer token only; the browser withholds the
# response of any credentialed (cookie) request, and a websocket from them is anonymous
# until its connection_init carries a token. On: they are also trusted with the session
# cookie (added to CSRF_TRUSTED_ORIGINS: cookie POSTs still need the X-CSRFToken header).
CORS_ALLOW_CREDENTIALS = _env_bool("CHAT_CORS_ALLOW_CREDENTIALS", False)
if CORS_ALLOW_CREDENTIALS:
    CSRF_TRUSTED_ORIGINS = [*CSRF_TRUSTED_ORIGINS, *CORS_ALLOWED_ORIGINS]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    # Its system checks refuse a malformed CORS origin (scheme and host, no path).
    "corsheaders",
    "strawberry_django",
    "chat",
    "realtime",
    "project",
]

# Django's standard stack, with hooks run on the event loop (see project/middleware.py).
MIDDLEWARE = [
    "project.middleware.SecurityMiddleware",
    # Before anything that can answer (preflights get their answer here). Async-native: it
    # runs on the event loop with no thread hop, as the hooks below do.
    "corsheaders.middleware.CorsMiddleware",
    "project.middleware.ContentSecurityPolicyMiddleware",
    # Before anything else touches the request: static files (the chat UI's and GraphiQL's
    # assets) need no session or CSRF, and are served by the app under daphne too.
    "internals.whitenoise.StaticFilesMiddleware",
    "project.middleware.SessionMiddleware",
    "project.middleware.CommonMiddleware",
    "project.middleware.CsrfViewMiddleware",
    "project.middleware.AuthenticationMiddleware",
    "project.middleware.MessageMiddleware",
    "project.middleware.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "schema" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

ASGI_APPLICATION = "project.asgi.application"

# DATABASE_URL selects PostgreSQL (psycopg 3) in production; SQLite is the embedded default.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    # Persistent connections: Channels closes "old" connections on every websocket
    # message, so without a max age every mutation over a socket would reconnect.
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=_env_int("DJANGO_DB_CONN_MAX_AGE", 60),
            conn_health_checks=True,
        )
    }
else:
    _sqlite_path = Path(os.environ.get("DJANGO_SQLITE_PATH", str(BASE_DIR / "db.sqlite3")))
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(_sqlite_path),
            # Concurrent writers wait for the lock instead of failing at once.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
            # Keep the connection: chat.db.in_thread checks it before every ORM call.
            "CONN_MAX_AGE": None,
            # A file, not Django's shared-cache memory database: its table locks
            # ignore the busy timeout and fail concurrent requests.
            "TEST": {"NAME": str(_sqlite_path.with_name(f"test_{_sqlite_path.name}"))},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# REDIS_URL selects the Redis pub/sub channel layer (see README "Channel layer" for why
# pub/sub); without it the in-memory layer serves one process.
REDIS_URL = os.environ.get("REDIS_URL", "")
# Several comma-separated URLs shard the layer; the rate limit uses the first.
REDIS_URLS = [url.strip() for url in REDIS_URL.split(",") if url.strip()]
CHAT_REDIS_PREFIX = os.environ.get("CHAT_REDIS_PREFIX", "chat")


def _redis_sentinels(value: list[str]) -> list[tuple[str, int]]:
    sentinels = []
    for item in value:
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise ImproperlyConfigured(f"REDIS_SENTINELS: {item!r} is not host:port.")
        sentinels.append((host.strip("[]"), int(port)))
    return sentinels


# Redis Sentinel instead of REDIS_URL: the sentinels (host:port, comma-separated) and the
# master name each shard is monitored under (several names shard as several URLs do).
# Clients ask the sentinels for the master and follow a failover to the promoted replica.
REDIS_SENTINELS = _redis_sentinels(_env_list("REDIS_SENTINELS", ""))
REDIS_SENTINEL_MASTERS = _env_list("REDIS_SENTINEL_MASTER", "")
if REDIS_SENTINELS and REDIS_URLS:
    raise ImproperlyConfigured("Set REDIS_URL or REDIS_SENTINELS, not both.")
if bool(REDIS_SENTINELS) != bool(REDIS_SENTINEL_MASTERS):
    raise ImproperlyConfigured("REDIS_SENTINELS and REDIS_SENTINEL_MASTER go together.")
# Every Redis the service uses, one channels_redis host dict per shard (chat.redisclients makes
# the other clients from the same dicts).
REDIS_SHARDS: list[dict[str, Any]] = [{"address": url} for url in REDIS_URLS]
if REDIS_SENTINELS:
    _redis_auth = {
        "password": os.environ.get("REDIS_PASSWORD") or None,
        "db": _env_int("REDIS_DB", 0),
    }
    REDIS_SHARDS = [
        {
            "sentinels": REDIS_SENTINELS,
            "master_name": name,
            # A sentinel that does not answer must not stall the search for the master.
            "sentinel_kwargs": {
                "password": os.environ.get("REDIS_SENTINEL_PASSWORD") or None,
                "socket_timeout": 0.5,
                "socket_connect_timeout": 0.5,
            },
            **_redis_auth,
        }
        for name in REDIS_SENTINEL_MASTERS
    ]
if REDIS_SHARDS:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [
                    {**shard, "max_connections": _env_int("CHAT_REDIS_MAX_CONNECTIONS", 64)}
                    for shard in REDIS_SHARDS
                ],
                "prefix": CHAT_REDIS_PREFIX,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            # Only the per-process room hub reads from the layer; give it room for bursts.
            "CONFIG": {"capacity": 10_000, "expiry": 60},
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# GraphiQL's committed bundle (built from graphiql/, see README "Operations").
STATICFILES_DIRS = [BASE_DIR / "schema" / "static"]
# daphne serves static files itself (internals.whitenoise, WhiteNoise): from STATIC_ROOT after
# `collectstatic`, and straight from the finders without it, DEBUG on or off, so
# `./bin/serve` and the Docker image work on a fresh clone.
WHITENOISE_USE_FINDERS = True

# Chat service settings.
CHAT: dict[str, Any] = {
    # Bearer tokens issued by register/login stay valid this long.
    "TOKEN_TTL_SECONDS": _env_int("CHAT_TOKEN_TTL_SECONDS", 30 * 24 * 3600),
    # Page size cap for rooms and messages connections.
    "MAX_PAGE_SIZE": _env_int("CHAT_MAX_PAGE_SIZE", 100),
    # Events a subscriber may have queued before it is switched to catch-up from the database.
    "SUBSCRIBER_BUFFER": _env_int("CHAT_SUBSCRIBER_BUFFER", 1000),
    # Threads that run ORM calls, each with its own persistent connection. More let a slow
    # query not hold up the rest, but take GIL time from the event loop (README,
    # "Performance", has the measurements).
    "DB_THREADS": _env_int("CHAT_DB_THREADS", 1),
    # Seconds a websocket may stay open without connection_init (graphql-transport-ws 4408).
    "CONNECTION_INIT_TIMEOUT_SECONDS": _env_float("CHAT_CONNECTION_INIT_TIMEOUT_SECONDS", 10),
    "MAX_SUBSCRIPTIONS_PER_CONNECTION": _env_int("CHAT_MAX_SUBSCRIPTIONS_PER_CONNECTION", 100),
    # graphql-transport-ws "ping" from the server, so idle mobile clients are not dropped
    # by proxies; 0 turns it off. (daphne also sends websocket-level pings every 20 s.)
    "KEEPALIVE_SECONDS": _env_float("CHAT_KEEPALIVE_SECONDS", 15),
    # A SIGTERM stops the process within this many seconds (project/shutdown.py): it
    # stops accepting, finishes the requests and posts in flight, closes its websockets
    # with 1012 (clients reconnect elsewhere and resume), flushes its publisher and exits;
    # past it, it exits anyway. Keep it below the orchestrator's kill timeout (docker's
    # stop_grace_period, 10 s by default; Kubernetes' terminationGracePeriodSeconds).
    "SHUTDOWN_SECONDS": _env_float("CHAT_SHUTDOWN_SECONDS", 8),
    # How often each process compares its rooms' seqs with the database to recover
    # events the channel layer lost (see realtime.hub.RoomHub._resync_loop).
    "RESYNC_SECONDS": _env_float("CHAT_RESYNC_SECONDS", 5),
    # sendMessage per user: "COUNT/SECONDS", counted in Redis across processes.
    "RATE_LIMIT": _env_rate("CHAT_RATE_LIMIT", "30/10"),
    # Sign-in attempts ("COUNT/SECONDS", counted in Redis, "0" turns each off): login
    # (and the admin's) per client IP and per username, register per client IP. Set far
    # above what a person does; past them, RATE_LIMITED with retryAfter (admin: 429).
    "LOGIN_RATE_LIMIT_IP": _env_rate("CHAT_LOGIN_RATE_LIMIT_IP", "100/300"),
    "LOGIN_RATE_LIMIT_USER": _env_rate("CHAT_LOGIN_RATE_LIMIT_USER", "20/300"),
    "REGISTER_RATE_LIMIT_IP": _env_rate("CHAT_REGISTER_RATE_LIMIT_IP", "20/3600"),
    # Password hashing (~0.2 s of CPU each) runs in threads of its own, never on the ORM
    # threads or the event loop; past QUEUE waiting, a sign-in is refused at once. One
    # thread leaves the other cores to the event loops (bench/login_flood.py measures it).
    "PASSWORD_HASH_THREADS": _env_int("CHAT_PASSWORD_HASH_THREADS", 1),
    "PASSWORD_HASH_QUEUE": _env_int("CHAT_PASSWORD_HASH_QUEUE", 8),
    "REDIS_PREFIX": CHAT_REDIS_PREFIX,
    # setTyping per user: "COUNT/SECONDS", counted in Redis across processes.
    "TYPING_RATE_LIMIT": _env_rate("CHAT_TYPING_RATE_LIMIT", "20/10"),
    # Typing ends this long after a user's last setTyping(true) (issue 14).
    "TYPING_SECONDS": _env_float("CHAT_TYPING_SECONDS", 6),
    # Each process sends a room's roomSignals subscribers at most one TypingChanged per
    # this many milliseconds (the state then, not each change).
    "SIGNAL_COALESCE_MS": _env_int("CHAT_SIGNAL_COALESCE_MS", 350),
    # A user's last subscription to a room ending makes them offline after this long
    # (a reconnect within it, to any process, changes nothing).
    "PRESENCE_GRACE_SECONDS": _env_float("CHAT_PRESENCE_GRACE_SECONDS", 5),
    # A process renews its presence holds every third of this; a killed process's users
    # go offline at most this long plus that third after its last renewal.
    "PRESENCE_TTL_SECONDS": _env_float("CHAT_PRESENCE_TTL_SECONDS", 18),
    # Rooms one inbox subscription follows live (the most recently active); beyond, its
    # user reads myRooms.
    "MAX_INBOX_ROOMS": _env_int("CHAT_MAX_INBOX_ROOMS", 500),
    # Largest accepted GraphQL document: nesting depth and lexical tokens.
    "MAX_QUERY_DEPTH": _env_int("CHAT_MAX_QUERY_DEPTH", 10),
    "MAX_QUERY_TOKENS": _env_int("CHAT_MAX_QUERY_TOKENS", 2000),
    # Largest cost of an operation (fields resolved, lists counted at their page size,
    # database reads weighted: schema/cost.py); 0 turns the limit off.
    "MAX_QUERY_COST": _env_int("CHAT_MAX_QUERY_COST", 10_000),
    # Largest accepted document in bytes, refused before parsing (QUERY_TOO_LARGE); 0: none.
    # The largest document of this service's own clients is under 2 KiB (introspection: 1.6 KiB).
    "MAX_QUERY_BYTES": _env_int("CHAT_MAX_QUERY_BYTES", 64 * 1024),
    # Automatic persisted queries (schema/persisted.py): documents clients registered by
    # hash, shared through Redis: at most this many bytes of them (the oldest go first),
    # each for at most this long.
    "PERSISTED_QUERIES_BYTES": _env_int("CHAT_PERSISTED_QUERIES_BYTES", 8 * 1024 * 1024),
    "PERSISTED_QUERY_TTL_SECONDS": _env_int("CHAT_PERSISTED_QUERY_TTL_SECONDS", 24 * 3600),
    # Allow-list mode: only documents registered ahead of time run (manage.py
    # persisted_queries_register, which needs REDIS_URL to reach every process).
    "PERSISTED_QUERIES_ONLY": _env_bool("CHAT_PERSISTED_QUERIES_ONLY", False),
    # Bytes each cache of parsed documents and plans may hold (schema/caches.py).
    "QUERY_CACHE_BYTES": _env_int("CHAT_QUERY_CACHE_BYTES", 4 * 1024 * 1024),
    # The websocket fast paths (internals/fastpaths/registry.py); 0: every operation takes
    # Strawberry's standard path (the test command runs the contract tests both ways).
    "FAST_PATHS": _env_bool("CHAT_FAST_PATHS", True),
    # Seconds a process trusts a bearer token it verified (realtime/tokens.py); a notice
    # of logout, revocation or deactivation drops it sooner. 0: verified on every request.
    "TOKEN_CACHE_SECONDS": _env_float("CHAT_TOKEN_CACHE_SECONDS", 1.0),
    # Header a trusted proxy (load balancer) writes the client's address to, e.g.
    # X-Forwarded-For; unset: the socket's peer address (see project/clientip.py).
    "CLIENT_IP_HEADER": os.environ.get("CHAT_CLIENT_IP_HEADER", "").strip(),
    # Open websockets per client address, in each process (project/connlimit.py); 0: no cap.
    "MAX_SOCKETS_PER_IP": _env_int("CHAT_MAX_SOCKETS_PER_IP", 100),
    # Live subscriptions per socket to rooms that do not exist (each holds a Redis
    # subscription); 0: no cap.
    "MAX_UNKNOWN_ROOM_SUBSCRIPTIONS": _env_int("CHAT_MAX_UNKNOWN_ROOM_SUBSCRIPTIONS", 5),
    # Seconds a client has to send a whole request (line, headers, body) from its first
    # byte, or from connecting (internals/readtimeout.py); 0: only Twisted's 60 s idle timeout.
    "REQUEST_READ_TIMEOUT_SECONDS": _env_float("CHAT_REQUEST_READ_TIMEOUT_SECONDS", 20),
    # Hooks into library internals to force off (comma-separated names, internals/hooks.py),
    # e.g. "twisted.write_through": each then runs its standard public path, with a warning.
    "DISABLE_HOOKS": _env_list("CHAT_DISABLE_HOOKS", ""),
    # GET /metrics (Prometheus text format) asks for `Authorization: Bearer <token>` when
    # CHAT_METRICS_TOKEN is set (401 without it). Enabled by default with a token or in
    # DEBUG: production without a token answers 404 unless CHAT_METRICS_ENABLED=1 says
    # the endpoint is only reachable from a private network.
    "METRICS_TOKEN": os.environ.get("CHAT_METRICS_TOKEN", "").strip(),
    "METRICS_ENABLED": _env_bool(
        "CHAT_METRICS_ENABLED", DEBUG or bool(os.environ.get("CHAT_METRICS_TOKEN", "").strip())
    ),
    # Developer aids, on in DEBUG and off in production by default (README "Security and
    # reliability"): GraphiQL at GET /graphql/, introspection (__schema, __type) on every
    # path, and "Did you mean ...?" suggestions in error messages.
    "GRAPHIQL": _env_bool("CHAT_GRAPHIQL", DEBUG),
    "INTROSPECTION": _env_bool("CHAT_INTROSPECTION", DEBUG),
    "SUGGESTIONS": _env_bool("CHAT_SUGGESTIONS", DEBUG),
}

# DJANGO_LOG_FORMAT: "text" (default, for a terminal) or "json" (one JSON object a line,
# for production log pipelines). See project/logs.py for the structured fields.
LOG_FORMAT = os.environ.get("DJANGO_LOG_FORMAT", "text").strip().lower() or "text"
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured("DJANGO_LOG_FORMAT must be `text` or `json`.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {
            "()": "chat.logs.TextFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        # Strawberry logs every resolver error with a traceback; our errors are expected.
        "strawberry.execution": {"level": "CRITICAL"},
    },
}
