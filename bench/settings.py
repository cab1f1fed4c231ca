"""Settings of the benchmarks that need a real database or a served app: tests.settings plus these.

Environment (bench/_setup.py's ``bench_database`` sets the first two):

- ``BENCH_DB``: ``sqlite`` (default) or ``postgres``;
- ``BENCH_DB_NAME``: the SQLite file, or the PostgreSQL database (created and dropped by the
  benchmark; ``PGHOST``, ``PGPORT``, ``PGUSER``, ``PGPASSWORD`` as for the test suite);
- ``BENCH_RATE_LIMIT_PER_IP``: ``"EVENTS/SECONDS"`` for the rate-limit latency run; unset, every
  rate limit is off so that throughput measures the pipeline, not the limiter;
- ``BENCH_BACKLINKS``: JSON of ``BACKLINKS`` keys laid over the above (bench/inbound_attack.py
  puts the app's default limits back this way, with a fetched-host cap of its choosing);
- ``BENCH_TASKS=db``: tasks go to django-tasks-db's DatabaseBackend in the bench database, run
  by ``db_worker`` processes (bench/worker.py); ``BENCH_TASKS=rq``: tasks go to RQ
  (django-tasks-rq) on Redis, run by ``rqworker`` processes (bench/worker.py), and the cache is
  Django's Redis cache, as ``example_project.settings_redis`` sets them; the Redis database is
  ``BENCH_REDIS_URL`` (default ``redis://127.0.0.1:6390/13``, where ``scripts/start-redis``
  starts a server), emptied by the benchmarks that use it; otherwise tasks run at once
  (ImmediateBackend);
- ``BENCH_CACHE=redis``: the cache is Django's ``RedisCache`` on ``BENCH_REDIS_URL`` (as the
  production settings of docs/deployment.md have it), whatever the tasks backend; ``db`` (the
  default, unless ``BENCH_TASKS=rq``): the database cache below.

By default the cache is Django's DatabaseCache in the bench database (created with the test
database), with atomic increments (bench/_cache.py), so that rate limits count across gunicorn
workers and task workers as a production site's shared cache (Redis, Memcached) would.
"""

from __future__ import annotations

import json
import os

from tests.settings import *  # noqa: F403
from tests.settings import BACKLINKS as TEST_BACKLINKS

_engine = os.environ.get("BENCH_DB", "sqlite")
_name = os.environ.get("BENCH_DB_NAME", "")

if _engine == "postgres":
    _name = _name or "backlinks_bench"
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _name,
            "USER": os.environ.get("PGUSER", "postgres"),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            # Persistent connections, as a production site would run.
            "CONN_MAX_AGE": 60,
            "OPTIONS": json.loads(os.environ.get("BENCH_PG_OPTIONS", "{}")),
            "TEST": {"NAME": _name},
        }
    }
else:
    _name = _name or "/tmp/backlinks_bench.sqlite3"  # noqa: S108 -- a benchmark's scratch file
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _name,
            "CONN_MAX_AGE": 60,
            "OPTIONS": {
                # Several worker processes write: WAL lets readers go on during a write, and
                # IMMEDIATE transactions wait for the lock (timeout) instead of failing.
                "init_command": "PRAGMA journal_mode=WAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
            "TEST": {"NAME": _name},
        }
    }

# The served app answers on loopback; Django's test client calls itself "testserver".
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

_rate = os.environ.get("BENCH_RATE_LIMIT_PER_IP")
BACKLINKS = {
    **TEST_BACKLINKS,  # loopback allowed (ALLOWED_NETWORKS), any port (ALLOWED_PORTS None)
    "RATE_LIMIT_PER_IP": (
        (int(_rate.split("/")[0]), float(_rate.split("/")[1])) if _rate else None
    ),
    "RATE_LIMIT_PER_SOURCE_DOMAIN": None,
    "RATE_LIMIT_PER_FETCHED_HOST": None,
}

for _key, _value in json.loads(os.environ.get("BENCH_BACKLINKS", "{}")).items():
    BACKLINKS[_key] = tuple(_value) if _key.startswith("RATE_LIMIT_PER") and _value else _value

# Shared by every process of the benchmark (locmem would count per process); bench/_cache.py
# makes its increments atomic, as Redis's and Memcached's are.
CACHES = {
    "default": {
        "BACKEND": "bench._cache.LockingDatabaseCache",
        "LOCATION": "bench_cache",
    }
}

if os.environ.get("BENCH_TASKS") == "db":
    INSTALLED_APPS = [*INSTALLED_APPS, "django_tasks_db"]  # noqa: F405
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
elif os.environ.get("BENCH_TASKS") == "rq":
    BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6390/13")
    INSTALLED_APPS = [*INSTALLED_APPS, "django_rq", "django_tasks_rq"]
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    RQ_QUEUES = {"default": {"URL": BENCH_REDIS_URL, "DEFAULT_TIMEOUT": 300}}
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": BENCH_REDIS_URL,
        }
    }

if os.environ.get("BENCH_CACHE") == "redis":
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6390/13"),
        }
    }
