"""The example project's settings, plus what the end-to-end suite varies per site.

- ``E2E_SEND_PROTOCOLS`` (comma-separated) replaces ``BACKLINKS["SEND_PROTOCOLS"]``: site A
  prefers pingback, so that pingback sending is tested although B also advertises Webmention.
- ``BACKLINKS["ENVIRONMENT"]`` is production: the sites ping each other (as scripts/demo's do).
- ``BACKLINKS_TEST_DB=postgres`` puts the site's database on the PostgreSQL server that the
  ``PG*`` variables name (as in tests/settings.py), in the database ``E2E_PGDATABASE``,
  instead of the SQLite file ``DEMO_DB``.

Not needed once example_project/settings.py reads both from the environment itself.
"""

from __future__ import annotations

import os

from example_project.settings import *  # noqa: F403
from example_project.settings import BACKLINKS

BACKLINKS = {**BACKLINKS, "ENVIRONMENT": "production"}

if protocols := os.environ.get("E2E_SEND_PROTOCOLS"):
    BACKLINKS = {**BACKLINKS, "SEND_PROTOCOLS": protocols.split(",")}

if os.environ.get("BACKLINKS_TEST_DB") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ["E2E_PGDATABASE"],
            "USER": os.environ.get("PGUSER", "postgres"),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
        }
    }
