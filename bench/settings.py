"""Settings for the benchmarks: the production settings plus the comparison apps and views.

DRF's token authentication, djangorestframework-api-key (when installed) and a log table in the
style of drf-api-tracking exist here only, never in the product.
"""

import importlib.util
import os
import warnings

os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-not-for-production")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("LOG_MODE", "batch")

from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS, LOGGING

HAS_DRF_API_KEY = importlib.util.find_spec("rest_framework_api_key") is not None

INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework.authtoken", "bench"]
if HAS_DRF_API_KEY:
    INSTALLED_APPS.append("rest_framework_api_key")
ROOT_URLCONF = "bench.urls"
# Django logs every 4xx response ("Forbidden: /api/...") at WARNING; the benchmarks would time
# the terminal rather than the request. Errors still show through the status codes they check.
LOGGING = {**LOGGING, "loggers": {**LOGGING["loggers"], "django.request": {"level": "CRITICAL"}}}
# collectstatic has not run for benchmarks; WhiteNoise says so once per process.
warnings.filterwarnings("ignore", message="No directory at")
