"""Settings for the test suite: the production settings with test-only defaults."""

import os

# The suite sees only its own environment, never a developer's .env.
os.environ["ENV_FILE"] = ""
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost,[::1]")

from .settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Each row is written before the response returns, so tests can read it at once.
# The batching writer has tests of its own; LOG_MODE=batch selects it for a test server.
KEYFENCE_LOG_MODE = os.environ.get("LOG_MODE", "sync")
# Serve static files from the app folders, without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Tasks run at once, in the process that queues them (in memory); a test that needs a real worker
# starts one with settings of its own (tests/server_settings.py).
HUEY = {"huey_class": "huey.MemoryHuey", "name": "keyfence", "immediate": True}
# E-mail goes to django.core.mail.outbox; links in it point at the test server's name.
KEYFENCE_BASE_URL = "http://testserver"
