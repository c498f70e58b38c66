"""WSGI entry point, for gunicorn: ``gunicorn config.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# A server reads only its environment unless ENV_FILE names a file: a .env left by local work
# (DEBUG=1) must never switch a production server into debug mode.
os.environ.setdefault("ENV_FILE", "")
application = get_wsgi_application()
