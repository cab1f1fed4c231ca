"""Rate limits on Django's built-in Redis cache: exact across threads and processes.

Runs on the Redis server of ``scripts/start-redis`` (skipped where none can be started).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest
from django.core.cache import caches
from django.test import override_settings

from backlinks_django import throttle
from tests.redis_server import REPOSITORY, redis_url

# Database 15 of the tests' server: the e2e sites use others.
DATABASE = 15
LIMIT = 50
# A window far longer than the test: every hit falls in the same one.
WINDOW = 10_000_000.0

# One process: THREADS threads each hit one key HITS times, from a common start time;
# prints how many hits were admitted.
CHILD = textwrap.dedent(
    """
    import json, sys, threading, time
    import django
    from django.conf import settings

    url, limit, window, threads, hits, start = json.loads(sys.argv[1])
    settings.configure(
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
            }
        },
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.sites"],
        BACKLINKS={},
    )
    django.setup()
    from backlinks_django import throttle

    admitted = []

    def run():
        while time.time() < start:
            time.sleep(0.001)
        mine = 0
        for _ in range(hits):
            if throttle.hit("atomic", "one sender", (limit, window)) is None:
                mine += 1
        admitted.append(mine)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print(sum(admitted))
    """
)


@pytest.fixture
def redis_cache(monkeypatch):
    """The tests' Redis as the rate-limit cache, on the real clock."""
    url = redis_url(DATABASE)
    monkeypatch.setattr(throttle, "time", time)
    with override_settings(
        CACHES={
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "limits": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url},
        },
        BACKLINKS={"RATE_LIMIT_CACHE": "limits"},
    ):
        yield caches["limits"]


def test_processes_and_threads_together_admit_exactly_the_limit(redis_cache):
    processes, threads, hits = 4, 8, 25  # 800 hits at once
    start = time.time() + 3  # after every process has started Django
    args = json.dumps([redis_url(DATABASE), LIMIT, WINDOW, threads, hits, start])
    env = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, args],
            cwd=REPOSITORY,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    admitted = 0
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        admitted += int(out.split()[-1])

    assert admitted == LIMIT
    # The same key, seen from this process: the limit is reached for everyone.
    assert throttle.hit("atomic", "one sender", (LIMIT, WINDOW)) is not None


def test_a_counter_expires_after_its_window(redis_cache):
    import redis

    throttle.hit("ttl", "k", (5, 60.0))

    client = redis.Redis.from_url(redis_url_of(redis_cache))
    (key,) = client.keys("*backlinks:ttl:*")
    assert 0 < client.ttl(key) <= 61
    assert int(client.get(key)) == 1


def test_a_counter_evicted_mid_window_counts_again_from_one(redis_cache):
    for _ in range(3):
        throttle.hit("evict", "k", (3, WINDOW))
    assert throttle.hit("evict", "k", (3, WINDOW)) is not None

    redis_cache.clear()

    assert throttle.hit("evict", "k", (3, WINDOW)) is None


def test_slots_are_held_once_across_the_shared_cache(redis_cache):
    with throttle.holding([("host", "a")], 2, 30) as first:
        with throttle.holding([("host", "a")], 2, 30) as second:
            assert (first, second) == (True, False)
    with throttle.holding([("host", "a")], 2, 30) as again:
        assert again


def redis_url_of(cache) -> str:
    return cache._servers[0]
