"""The full key is shown once and appears nowhere else: not in the database, the logs, the CSV,
the pages, the session or the admin."""

import logging
import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from workspaces.services import personal_workspace_for

pytestmark = pytest.mark.django_db
NEW = "/settings/developer/keys/new/"
KEY_PATTERN = re.compile(r"kf_[a-z0-9]{8}_[A-Za-z0-9]{38}")


def test_a_full_flow_leaves_no_secret_behind(user, make_key, api, client, caplog):
    caplog.set_level(logging.DEBUG)
    _, admin_secret = make_key(user, name="bootstrap")
    owner = api(admin_secret)
    secrets = {admin_secret}

    created = owner.post(
        "/api/v1/keys",
        {"name": "api key", "scopes": ["keys:read"], "allowlist": [{"cidr": "203.0.113.5"}]},
        format="json",
    ).json()
    secrets.add(created["key"])
    rolled = owner.post(f"/api/v1/keys/{created['id']}/roll", {"grace_seconds": 60}, format="json").json()
    secrets.add(rolled["key"])
    out = StringIO()
    call_command("create_api_key", "--user", "alice", "--name", "cli key", stdout=out)
    secrets.add(out.getvalue().strip())

    staff = get_user_model().objects.create_superuser("root", "root@example.com", "a-long-admin-password")
    client.force_login(staff)
    added = client.post(
        "/admin/apikeys/apikey/add/",
        {
            "workspace": personal_workspace_for(user_id=user.pk).pk,
            "name": "admin key",
            "description": "",
            "allowlist_mode": "enforce",
            "expires_at_0": "",
            "expires_at_1": "",
            "entries-TOTAL_FORMS": "0",
            "entries-INITIAL_FORMS": "0",
            "entries-MIN_NUM_FORMS": "0",
            "entries-MAX_NUM_FORMS": "20",
        },
        follow=True,
    )
    secrets.add(KEY_PATTERN.search(added.content.decode()).group(0))

    page = Client()
    page.force_login(user)
    form = page.get(NEW).content.decode()
    nonce = re.search(r'name="nonce" value="([^"]+)"', form).group(1)
    created_page = page.post(
        NEW,
        {
            "name": "page key",
            "description": "",
            "allowlist_mode": "enforce",
            "nonce": nonce,
            "entries-TOTAL_FORMS": "1",
            "entries-INITIAL_FORMS": "0",
            "entries-0-cidr": "203.0.113.0/24",
            "entries-0-label": "office",
        },
    )
    secrets.add(KEY_PATTERN.search(created_page.content.decode()).group(0))
    assert len(secrets) == 6

    for secret in secrets:  # use every key, right and wrong, allowed and blocked
        api(secret, ip="203.0.113.5").get("/api/v1/whoami?api_key=" + secret)
        api(secret, ip="198.51.100.1", header="x-api-key").get("/api/v1/whoami")
        api(secret[:-1] + "0").get("/api/v1/keys")
        api(secret).get("/api/v1/no-such-page")

    dump = StringIO()
    call_command("dumpdata", stdout=dump)
    csv_text = b"".join(owner.get("/api/v1/usage-logs/export").streaming_content).decode()
    logs_json = owner.get("/api/v1/usage-logs?page_size=500").content.decode()
    settings_pages = "".join(
        page.get(url).content.decode()
        for url in (
            "/settings/developer/",
            "/settings/developer/logs/",
            f"/settings/developer/keys/{created['id']}/allowlist/",
        )
    )
    admin_pages = "".join(
        client.get(url).content.decode()
        for url in (
            "/admin/apikeys/apikey/",
            f"/admin/apikeys/apikey/{created['id']}/change/",
            "/admin/usagelogs/usagelog/",
            "/admin/apikeys/auditevent/",
        )
    )
    places = {
        "database": dump.getvalue(),
        "python log": caplog.text,
        "csv": csv_text,
        "log api": logs_json,
        "admin": admin_pages,
        "settings pages": settings_pages,
        "session": str(dict(page.session.items())),
        "cookies": str(page.cookies),
    }
    assert "203.0.113.5" in csv_text  # the places were really filled
    for secret in secrets:
        body = secret.split("_", 2)[2]
        for name, text in places.items():
            assert body not in text, f"secret found in {name}"
