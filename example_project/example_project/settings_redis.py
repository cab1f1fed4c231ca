"""The example project on Redis: the settings of a site that outgrew one machine.

``DJANGO_SETTINGS_MODULE=example_project.settings_redis``. Everything of
:mod:`example_project.settings`, plus:

- the app's tasks run on RQ (``django-tasks-rq``): web processes enqueue into Redis, and any
  number of ``manage.py rqworker`` processes, on any machine that reaches Redis, run them;
- Django's cache, where the app counts rate limits, holds slots and opens author batches, is
  Django's built-in Redis cache, shared by every web process and worker, and counting
  atomically.

``REDIS_URL`` names the server and database (default ``redis://127.0.0.1:6390/0``, where
``scripts/start-redis`` starts one). Two sites on one server need two databases
(``/1``, ``/2``): RQ's queue keys are not prefixed per site.

Start the workers with RQ's scheduler (deferred tasks: retries, the inbound wake-up, author
batches) and the backend's job class::

    python manage.py rqworker default --job-class django_tasks_rq.Job --with-scheduler

The demo (``scripts/demo``) keeps :mod:`example_project.settings`: SQLite and the database
worker, nothing to install.
"""

from __future__ import annotations

import os

from example_project.settings import *  # noqa: F403
from example_project.settings import INSTALLED_APPS

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6390/0")

INSTALLED_APPS = [
    *(app for app in INSTALLED_APPS if app != "django_tasks_db"),
    "django_rq",
    "django_tasks_rq",
]

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
    }
}

TASKS = {
    "default": {
        "BACKEND": "django_tasks_rq.RQBackend",
        "QUEUES": ["default"],
    }
}

# django-rq's queues: the backend's QUEUES must be listed here. DEFAULT_TIMEOUT bounds one
# task (a send task ends within the app's SEND_TIMEOUT budget; this is a backstop).
RQ_QUEUES = {
    "default": {
        "URL": REDIS_URL,
        "DEFAULT_TIMEOUT": 300,
    }
}
