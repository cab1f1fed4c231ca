"""Settings of the processes tests/test_crash_recovery.py kills: the test suite's, on the SQLite
file ``CRASH_DB`` with django-tasks-db's queue (the backend of ``manage.py db_worker``)."""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import BACKLINKS, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "django_tasks_db"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["CRASH_DB"],
        "OPTIONS": {"timeout": 20},
    }
}
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
BACKLINKS = {
    **BACKLINKS,
    "SEND_DEADLINE": 6.0,
    "FETCH_DEADLINE": 3.0,
    "SEND_HOST_INTERVAL": 0,
    # Every ping queued: the verification happens in the worker the test kills.
    "RECEIVE_BUDGET": 0,
}
