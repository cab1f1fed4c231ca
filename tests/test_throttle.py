"""Fixed-window counters (throttle): hit counts and refuses past the limit, peek only looks."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.test import override_settings

from backlinks_django import throttle
from backlinks_django.throttle import hit, peek

LIMIT = (2, 60.0)


def test_hit_refuses_past_the_limit_with_the_wait_until_the_window_ends(throttle_clock):
    throttle_clock.advance(15)

    answers = [hit("test", "k", LIMIT) for _ in range(3)]

    assert answers == [None, None, 45.0]


def test_the_limit_lifts_in_the_next_window(throttle_clock):
    for _ in range(3):
        hit("test", "k", LIMIT)

    throttle_clock.advance(60)

    assert hit("test", "k", LIMIT) is None


def test_keys_and_scopes_are_counted_apart():
    for _ in range(2):
        hit("test", "k", LIMIT)

    assert hit("test", "other", LIMIT) is None
    assert hit("other", "k", LIMIT) is None
    assert hit("test", "k", LIMIT) is not None


def test_no_limit_is_never_refused():
    assert all(hit("test", "k", None) is None for _ in range(100))
    assert peek("test", "k", None) is None


def test_a_counter_lost_from_the_cache_starts_again():
    for _ in range(2):
        hit("test", "k", LIMIT)

    caches["default"].clear()

    assert hit("test", "k", LIMIT) is None


def test_peek_counts_nothing():
    for _ in range(10):
        assert peek("test", "k", LIMIT) is None

    assert hit("test", "k", LIMIT) is None
    assert hit("test", "k", LIMIT) is None


@pytest.mark.parametrize("hits", [2, 3])
def test_peek_gives_the_wait_once_a_hit_would_be_refused(throttle_clock, hits):
    for _ in range(hits):
        hit("test", "k", LIMIT)
    throttle_clock.advance(20)

    assert peek("test", "k", LIMIT) == 40.0
    assert hit("test", "k", LIMIT) == 40.0


def test_peek_below_the_limit_is_none():
    hit("test", "k", LIMIT)

    assert peek("test", "k", LIMIT) is None
    assert peek("test", "unseen", LIMIT) is None


def test_peek_sees_the_window_move_on(throttle_clock):
    for _ in range(2):
        hit("test", "k", LIMIT)

    throttle_clock.advance(60)

    assert peek("test", "k", LIMIT) is None


def test_a_limit_of_zero_events_is_always_full():
    assert peek("test", "k", (0, 60.0)) == 60.0
    assert hit("test", "k", (0, 60.0)) == 60.0


@override_settings(
    CACHES={
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "shared": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "t"},
    },
    BACKLINKS={"RATE_LIMIT_CACHE": "shared"},
)
def test_a_version_counts_up_from_nothing_on_a_shared_cache(db):
    from django.core.management import call_command

    call_command("createcachetable", "t")
    assert throttle.version("v") == 0
    throttle.bump("v")
    throttle.bump("v")
    assert throttle.version("v") == 2


def test_a_cache_of_the_process_s_own_has_no_version():
    assert throttle.version("v") is None  # no other process could raise it
