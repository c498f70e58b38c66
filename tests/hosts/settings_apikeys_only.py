"""A host project that installs the keys app alone: no usage logs, no pages, no admin."""

from __future__ import annotations

import os

SECRET_KEY = "host-project-test-only"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
USE_TZ = True
ROOT_URLCONF = "tests.hosts.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["HOST_DB"]}}
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "workspaces",
    "apikeys",
]
MIDDLEWARE: list[str] = []
REST_FRAMEWORK = {"EXCEPTION_HANDLER": "apikeys.errors.exception_handler", "UNAUTHENTICATED_USER": None}
KEYFENCE_SCOPES = {"orders:read": "Read orders"}
