"""The example project on Redis (``example_project.settings_redis``) as the deployment suite
runs it: production, PostgreSQL (``E2E_PGDATABASE``), the Redis database ``REDIS_URL``, and

- ``E2E_BACKLINKS``: JSON merged into ``BACKLINKS`` (each site's deadlines and limits);
- the test-only app :mod:`tests.e2e.fast_clock` (claim margins of a second, not a minute).
"""

from __future__ import annotations

import json
import os

from example_project.settings_redis import *  # noqa: F403
from example_project.settings_redis import INSTALLED_APPS

from tests.e2e.example_settings import BACKLINKS, DATABASES  # noqa: F401

INSTALLED_APPS = [*INSTALLED_APPS, "tests.e2e.fast_clock.FastClockConfig"]
BACKLINKS = {**BACKLINKS, **json.loads(os.environ.get("E2E_BACKLINKS", "{}"))}
