"""Check W030: a production site counting rate limits per process or without atomic increments."""

from __future__ import annotations

import pytest
from django.core.cache.backends.db import DatabaseCache
from django.core.checks import WARNING
from django.test import override_settings

from backlinks_django.checks import check_rate_limit_cache

LOCMEM = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
DUMMY = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
FILES = {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": "/tmp/x"}
DATABASE = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "cache_table"}
# Not connected to by the check: the address need not answer.
REDIS = {
    "BACKEND": "django.core.cache.backends.redis.RedisCache",
    "LOCATION": "redis://127.0.0.1:1",
}
MEMCACHED = {
    "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
    "LOCATION": "127.0.0.1:1",
}


class AtomicIncrDatabaseCache(DatabaseCache):
    """A database cache with an increment of its own (as bench/ has): trusted to be atomic."""

    def incr(self, key, delta=1, version=None):
        raise NotImplementedError


def ids() -> list[str]:
    return [message.id for message in check_rate_limit_cache()]


@pytest.mark.parametrize(
    ("cache", "words"),
    [
        (LOCMEM, "keeps to itself"),
        (DUMMY, "counts nothing"),
        (FILES, "not atomic"),
        (DATABASE, "not atomic"),
    ],
)
def test_a_production_site_counting_in_a_per_process_or_non_atomic_cache_is_warned(cache, words):
    with override_settings(
        DEBUG=False, CACHES={"default": cache}, BACKLINKS={"ENVIRONMENT": "production"}
    ):
        (message,) = check_rate_limit_cache()

    assert (message.id, message.level) == ("backlinks_django.W030", WARNING)
    assert words in message.msg
    assert "'default'" in message.msg
    assert "RedisCache" in message.hint


@pytest.mark.parametrize("cache", [REDIS, MEMCACHED])
@override_settings(DEBUG=False, BACKLINKS={"ENVIRONMENT": "production"})
def test_redis_and_memcached_pass(cache):
    with override_settings(CACHES={"default": cache}):
        assert ids() == []


def test_the_cache_checked_is_rate_limit_cache():
    with override_settings(
        DEBUG=False,
        CACHES={"default": LOCMEM, "limits": REDIS},
        BACKLINKS={"ENVIRONMENT": "production", "RATE_LIMIT_CACHE": "limits"},
    ):
        assert ids() == []
    with override_settings(
        DEBUG=False,
        CACHES={"default": REDIS, "limits": LOCMEM},
        BACKLINKS={"ENVIRONMENT": "production", "RATE_LIMIT_CACHE": "limits"},
    ):
        (message,) = check_rate_limit_cache()
    assert "'limits'" in message.msg


def test_a_database_cache_with_an_incr_of_its_own_passes():
    with override_settings(
        DEBUG=False,
        CACHES={"default": {**DATABASE, "BACKEND": f"{__name__}.AtomicIncrDatabaseCache"}},
        BACKLINKS={"ENVIRONMENT": "production"},
    ):
        assert ids() == []


def test_debug_on_in_development_stays_quiet(monkeypatch):
    monkeypatch.delenv("BACKLINKS_ENVIRONMENT", raising=False)
    with override_settings(DEBUG=True, CACHES={"default": LOCMEM}, BACKLINKS={}):
        assert ids() == []


def test_debug_off_with_nothing_said_counts_as_production(monkeypatch):
    monkeypatch.delenv("BACKLINKS_ENVIRONMENT", raising=False)
    with override_settings(DEBUG=False, CACHES={"default": LOCMEM}, BACKLINKS={}):
        assert ids() == ["backlinks_django.W030"]


def test_debug_on_but_said_production_is_warned(monkeypatch):
    with override_settings(
        DEBUG=True, CACHES={"default": LOCMEM}, BACKLINKS={"ENVIRONMENT": "production"}
    ):
        assert ids() == ["backlinks_django.W030"]


def test_a_missing_cache_alias_is_e030():
    with override_settings(
        DEBUG=False,
        CACHES={"default": REDIS},
        BACKLINKS={"ENVIRONMENT": "production", "RATE_LIMIT_CACHE": "nope"},
    ):
        assert ids() == ["backlinks_django.E030"]
