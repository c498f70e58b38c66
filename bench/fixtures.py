"""Start Django on a fresh benchmark database and create the users and keys the benchmarks use."""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE = Path(tempfile.gettempdir()) / "keyfence-bench.sqlite3"
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/keyfence_bench"
# 16 IPv4 and 4 IPv6 entries. Ranges are checked most specific first, so the client, inside the
# only /24, matches the last IPv4 range checked; the blocked client is checked against all 16.
ALLOWLIST = (
    [f"2001:db8:{n}::/48" for n in range(1, 5)] + [f"198.51.100.{n}/32" for n in range(1, 16)] + ["203.0.113.0/24"]
)
ALLOWED_IP = "203.0.113.77"
BLOCKED_IP = "192.0.2.1"


def reset_postgres(url: str) -> None:
    """Drop and create the database named in ``url``, so each run starts empty."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(database_url: str, redis_url: str = "", fresh: bool = True, conn_max_age: int | None = -1) -> None:
    """Point the settings at the database and cache, start Django and migrate an empty database.

    ``conn_max_age`` other than -1 replaces the configured ``CONN_MAX_AGE`` (None: never close).
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    if fresh and database_url.startswith("sqlite"):
        path = Path(urlsplit(database_url).path)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    elif fresh:
        reset_postgres(database_url)
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = redis_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django
    from django.conf import settings
    from django.core.management import call_command

    if conn_max_age != -1:
        settings.DATABASES["default"]["CONN_MAX_AGE"] = conn_max_age
    django.setup()
    if redis_url:
        from django.core.cache import cache

        cache.clear()
    if fresh:
        call_command("migrate", verbosity=0)


@dataclass
class Keys:
    """Secrets the benchmark clients present."""

    token: str
    keyfence: str
    keyfence_small: dict[int, str] = field(default_factory=dict)
    drf_api_key: str | None = None


def create_keys(sizes: tuple[int, ...] = ()) -> Keys:
    """A user with a DRF token, a Keyfence key with :data:`ALLOWLIST`, and optionally an API-key package key.

    ``sizes`` adds Keyfence keys whose allowlists hold the last ``n`` entries of the list.
    """
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from apikeys import services
    from apikeys.networks import validate_allowlist

    user = get_user_model().objects.create_user("bench", "bench@example.com", "bench-password-not-used")
    actor = services.Actor(user_id=user.pk)

    def key(cidrs: list[str]) -> str:
        return services.key_create(
            name=f"bench {len(cidrs)}",
            actor=actor,
            allowlist=validate_allowlist([{"cidr": c} for c in cidrs]),
        )[1]

    keys = Keys(token=Token.objects.create(user=user).key, keyfence=key(ALLOWLIST))
    keys.keyfence_small = {n: key(ALLOWLIST[-n:]) for n in sizes}
    if "rest_framework_api_key" in settings.INSTALLED_APPS:
        from rest_framework_api_key.models import APIKey

        keys.drf_api_key = APIKey.objects.create_key(name="bench")[1]
    return keys
