"""The same host project with the usage-log app and its middleware added."""

from __future__ import annotations

from .settings_apikeys_only import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "django_filters", "usagelogs"]  # noqa: F405
MIDDLEWARE = ["usagelogs.middleware.UsageLogMiddleware"]
KEYFENCE_LOG_MODE = "sync"
