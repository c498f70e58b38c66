"""Run inside a host project (DJANGO_SETTINGS_MODULE names it): migrate, make a key, call the API.

Prints one line per check and exits non-zero at the first that fails.
"""

from __future__ import annotations

import django

django.setup()

from django.apps import apps  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from apikeys import services  # noqa: E402
from apikeys.networks import validate_allowlist  # noqa: E402


def expect(label: str, actual: object, wanted: object) -> None:
    print(f"{label}: {actual!r}")
    if actual != wanted:
        raise SystemExit(f"{label}: wanted {wanted!r}, got {actual!r}")


call_command("check", fail_level="WARNING")
call_command("migrate", verbosity=0)
owner = get_user_model().objects.create_user("host-owner")
key, secret = services.key_create(
    name="host key",
    scopes=["orders:read", "keys:read"],
    allowlist=validate_allowlist([{"cidr": "203.0.113.0/24"}]),
    actor=services.Actor(user_id=owner.pk),
)
client = APIClient(REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION=f"Bearer {secret}")
expect("orders", client.get("/api/orders").status_code, 200)
expect("keys api", client.get("/api/v1/keys").status_code, 200)
outside = APIClient(REMOTE_ADDR="198.51.100.1", HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/orders")
expect("outside the allowlist", (outside.status_code, outside.json()["error"]["code"]), (403, "IP_NOT_ALLOWED"))
expect("bad key", APIClient(HTTP_AUTHORIZATION="Bearer kf_nope").get("/api/orders").status_code, 401)
_, limited_secret = services.key_create(
    name="limited host key",
    scopes=["orders:read"],
    allowlist=[],
    rate_limit={"requests": 1, "per": "hour"},
    actor=services.Actor(user_id=owner.pk),
)
limited = APIClient(HTTP_AUTHORIZATION=f"Bearer {limited_secret}")
first, second = limited.get("/api/orders"), limited.get("/api/orders")
expect(
    "rate limit headers", (first.status_code, first["RateLimit-Limit"], first["RateLimit-Remaining"]), (200, "1", "0")
)
expect("over the rate limit", (second.status_code, second.json()["error"]["code"]), (429, "RATE_LIMITED"))
expect("retry after", int(second["Retry-After"]) > 3500 and second["RateLimit-Remaining"] == "0", True)
expect("usagelogs installed", apps.is_installed("usagelogs"), apps.is_installed("usagelogs"))
if apps.is_installed("usagelogs"):
    from usagelogs.models import UsageLog

    expect("logged", sorted(UsageLog.objects.values_list("status_code", flat=True)), [200, 200, 200, 401, 403, 429])
print("host project ok")
