"""The example project on Redis (``example_project.settings_redis``) as the deployment suite
runs it: production, PostgreSQL (``E2E_PGDATABASE``; statements prepared, as docs/deployment.md
recommends), the Redis database ``REDIS_URL``, and

- ``E2E_BACKLINKS``: JSON merged into ``BACKLINKS`` (each site's deadlines and limits);
- the test-only app :mod:`tests.e2e.fast_clock` (claim margins of a second, not a minute).
"""

from __future__ import annotations

import json
import os

from example_project.settings_redis import *  # noqa: F403
from example_project.settings_redis import INSTALLED_APPS

from tests.e2e.example_settings import BACKLINKS, DATABASES

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # As docs/deployment.md recommends it: statements prepared once per connection.
    DATABASES = {
        "default": {
            **DATABASES["default"],
            "CONN_MAX_AGE": 60,
            "OPTIONS": {"server_side_binding": True, "prepare_threshold": 5},
        }
    }

INSTALLED_APPS = [*INSTALLED_APPS, "tests.e2e.fast_clock.FastClockConfig"]
BACKLINKS = {**BACKLINKS, **json.loads(os.environ.get("E2E_BACKLINKS", "{}"))}
