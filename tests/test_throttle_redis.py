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


@pytest.fixture
def redis_commands(monkeypatch):
    """The Redis commands this process sends, by name."""
    import redis

    sent: list[str] = []
    execute = redis.Redis.execute_command

    def counting(self, *args, **options):
        sent.append(str(args[0]))
        return execute(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counting)
    return sent


def test_a_sender_counted_and_a_domain_looked_at_in_one_round_trip(redis_cache, redis_commands):
    limit = (2, WINDOW)
    throttle.hit("source", "example.org", limit)
    throttle.hit("source", "example.org", limit)
    redis_commands.clear()

    waits = throttle.check(
        hits=[("ip", "198.51.100.7", limit)], peeks=[("source", "example.org", limit)]
    ).waits

    assert waits[0] is None and waits[1] is not None  # the domain's budget is spent
    assert redis_commands == ["EVAL"]
    # Counted once: one more is let through, the next is not.
    assert throttle.hit("ip", "198.51.100.7", limit) is None
    assert throttle.hit("ip", "198.51.100.7", limit) is not None


def test_slots_are_taken_in_one_round_trip_and_given_back_in_one(redis_cache, redis_commands):
    with throttle.holding([("sender", "a"), ("domain", "d")], 2, 30) as held:
        assert held
        assert redis_commands == ["EVAL"]
    assert redis_commands == ["EVAL", "DEL"]


def test_a_busy_owner_leaves_no_slot_held(redis_cache):
    with throttle.holding([("domain", "d")], 1, 30) as first:
        assert first
        with throttle.holding([("sender", "a"), ("domain", "d")], 2, 30) as second:
            assert not second
        # Neither the sender's slot nor a pool slot was kept by the refused attempt.
        with throttle.holding([("sender", "a")], 2, 30) as third:
            assert third
    with throttle.holding([("sender", "x")], 0, 30) as no_pool:
        assert not no_pool


def test_a_tally_counts_only_once_settled_and_expires(redis_cache):
    import redis

    assert throttle.tally(["queue"]) == [None]  # never settled: not made by counting
    throttle.settle("queue", 5, 60)

    assert throttle.tally(["queue", "other"]) == [6, None]
    client = redis.Redis.from_url(redis_url_of(redis_cache))
    (key,) = client.keys("*backlinks:tally:*")
    assert 0 < client.ttl(key) <= 60


# Other tests leave server threads in this process; the child touches none of their locks.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_process_counts_on_a_connection_of_its_own(redis_cache):
    """The throttle keeps one Redis connection per client: a process forked after the parent
    used it (gunicorn --preload) opens its own instead of talking on the parent's."""
    redis_cache.clear()
    limit = (LIMIT, WINDOW)
    assert throttle.hit("fork", "one sender", limit) is None
    parents = throttle._client(redis_cache)
    reading, writing = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, and leave without running the parent's clean-up
        try:
            own = throttle._client(redis_cache)
            counted = throttle.hit("fork", "one sender", (1, WINDOW)) is not None  # 2nd hit
            os.write(writing, json.dumps([own is not parents, counted]).encode())
        finally:
            os._exit(0)
    os.close(writing)
    with os.fdopen(reading) as answer:
        reported = json.loads(answer.read() or "null")
    os.waitpid(pid, 0)
    assert reported == [True, True]
    # The parent's connection still answers its own commands in turn.
    assert throttle.hit("fork", "one sender", (2, WINDOW)) is not None  # the third hit
    assert throttle.peek("fork", "another", limit) is None
