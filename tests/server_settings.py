"""Settings for app servers that a test starts with settings of its own (tests/servers.py).

``KEYFENCE_TEST_SETTINGS`` holds a JSON object of Django setting names and values, laid over the
test settings: a short revalidation deadline, an extra URLconf, a cache with other timeouts.
"""

import json
import os

from config.test_settings import *  # noqa: F403

globals().update(json.loads(os.environ.get("KEYFENCE_TEST_SETTINGS") or "{}"))
