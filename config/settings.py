"""Keyfence settings.

This module is the only place that reads environment variables. Every variable is optional;
see the README for the list. With DEBUG off, SECRET_KEY and ALLOWED_HOSTS must be given.

Variables may also come from an env file: ``ENV_FILE`` names it, and ``.env`` beside
``manage.py`` is the default (``make run`` writes one with ``DEBUG=1`` for local work). The real
environment wins over the file. The WSGI entry point reads no file unless ``ENV_FILE`` is set,
so a server keeps ``DEBUG`` off unless it is told otherwise.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import dj_database_url
import dj_email_url
import redis
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent

ENV_FILE = os.environ.get("ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE:
    load_dotenv(ENV_FILE, override=False)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


DEBUG = env_bool("DEBUG")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if DEBUG:
    SECRET_KEY = SECRET_KEY or "insecure-development-key-do-not-use-in-production"
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "[::1]", "testserver"]
else:
    if not SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "workspaces",
    "apikeys",
    "usagelogs",
    "notifications",
    "huey.contrib.djhuey",
    "accounts",
]

MIDDLEWARE = [
    "usagelogs.middleware.UsageLogMiddleware",
    "config.middleware.TrustedProxySchemeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.DocumentCSPMiddleware",
    "config.middleware.CacheUnavailablePageMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "workspaces.context_processors.workspace",
            ],
        },
    },
]


def database_config(url: str | None) -> dj_database_url.DBConfig:
    """Build the default database from DATABASE_URL; SQLite runs in WAL mode.

    Each thread keeps its connection for up to 60 s on every engine: reopening a SQLite file
    costs more than a whole request. docs/PERFORMANCE.md says why that is safe.
    """
    if not url:
        url = f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        # A file, not memory, so that tests can share the database with app servers they start;
        # one per test run, so that runs side by side do not clobber each other.
        default_test_path = Path(tempfile.gettempdir()) / f"keyfence-test-{os.getpid()}.sqlite3"
        config["TEST"] = {"NAME": os.environ.get("TEST_SQLITE_PATH", str(default_test_path))}
    return config


DATABASES = {"default": database_config(os.environ.get("DATABASE_URL"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The task queue (Huey) for webhook deliveries, e-mail and scheduled jobs: Redis when REDIS_URL is
# set (every app server and worker must share it), else a SQLite file beside the database, or
# TASK_QUEUE_FILE. `manage.py keyfence_worker` runs the worker and its scheduler.
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "keyfence",
        "immediate": False,
        # Short timeouts: a request that cannot reach Redis leaves its event to the sweep, quickly.
        "connection": {
            "connection_pool": redis.ConnectionPool.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=10)
        },
        "consumer": {"workers": 4, "worker_type": "thread"},
    }
else:
    _default_db = DATABASES["default"]
    _queue_dir = (
        Path(str(_default_db["NAME"])).parent if _default_db["ENGINE"] == "django.db.backends.sqlite3" else BASE_DIR
    )
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "keyfence",
        "immediate": False,
        "filename": os.environ.get("TASK_QUEUE_FILE") or str(_queue_dir / "keyfence-tasks.sqlite3"),
        "consumer": {"workers": 2, "worker_type": "thread"},
    }

# E-mail: EMAIL_URL such as smtp://user:password@mail.example.com:587/?tls=True; the console
# (the worker's output) by default.
_email = dj_email_url.parse(os.environ.get("EMAIL_URL") or "console://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _email["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
EMAIL_TIMEOUT = _email["EMAIL_TIMEOUT"] or 10
EMAIL_FILE_PATH = _email["EMAIL_FILE_PATH"] or None
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Keyfence <keyfence@localhost>")

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
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "developer"
LOGOUT_REDIRECT_URL = "login"

# Origins whose unsafe requests pass the CSRF check besides the request's own, comma-separated
# with scheme and port, e.g. https://keys.example.com:8443. Needed when the proxy in front
# rewrites the Host header (nginx's $host drops the port).
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
# Local assets only and no inline script. Inline styles stay allowed for the admin and the
# API docs, which set style attributes from their own scripts.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# HTTPS: the session and CSRF cookies are Secure with DEBUG off, so the pages need it. HSTS is
# sent on https requests only (the scheme comes from a trusted proxy, see config/middleware.py).
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else str(365 * 24 * 3600)))
# The proxy redirects http to https (docs/nginx.conf); a redirect here as well would also bounce
# health checks and calls that reach an app server directly. SECURE_SSL_REDIRECT=1 turns it on.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT")
# Subdomains and the preload list commit the whole domain to HTTPS: only its owner can choose
# that (SECURE_HSTS_INCLUDE_SUBDOMAINS=1, SECURE_HSTS_PRELOAD=1), so the checks that ask are quiet.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD")
SILENCED_SYSTEM_CHECKS = ["security.W008", "security.W005", "security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Bound the size of any request body read into memory (JSON, form posts).
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 400

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # The first class decides between 401 and 403: the API key class answers with
        # WWW-Authenticate, so an unauthenticated request gets a real 401.
        "apikeys.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apikeys.permissions.IsKeyOrSessionUser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apikeys.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Keyfence API",
    "DESCRIPTION": (
        "API keys that only work from the networks their owners trust.\n\n"
        "Send the key as `Authorization: Bearer <key>` or `X-API-Key: <key>`. Each operation names the "
        'scope it needs. Every error is JSON: `{"error": {"code", "message", ...}}`; a '
        "`VALIDATION_ERROR` adds `fields`, a map from a dotted field path to a list of `{code, message}`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Deep links put a link inside each operation's expand button: one control nested in another,
    # which keyboards and screen readers cannot use as two (WCAG 4.1.2).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AllowlistModeEnum": "apikeys.models.AllowlistMode",
        "KeyStatusEnum": "apikeys.serializers.KEY_STATUSES",
        "ActorTypeEnum": "apikeys.serializers.ACTOR_TYPES",
    },
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums"],
}

KEYFENCE_TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
KEYFENCE_CLIENT_IP_HEADER = os.environ.get("CLIENT_IP_HEADER", "X-Forwarded-For")
KEYFENCE_LOG_RETENTION_DAYS = int(os.environ.get("LOG_RETENTION_DAYS", "90"))
KEYFENCE_SECRET_SCANNING_KEYS = os.environ.get("SECRET_SCANNING_KEYS_FILE", "")
# "batch" (default) writes usage logs from a background thread; "sync" writes each before responding.
KEYFENCE_LOG_MODE = os.environ.get("LOG_MODE", "batch")
# The address of this site, for links in e-mails.
KEYFENCE_BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:8000")
# Lets webhooks reach http and private addresses: for tests and internal deployments only.
KEYFENCE_WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "keyfence": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # The task-queue worker: one line per task, once.
        "huey": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # 4xx answers of the API are in the usage log; server errors still reach the console.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
