"""Fixed-window rate limits, and held slots for work running at once, in Django's cache.

Several processes share a limit only when they share the cache: Redis (Django's built-in
``RedisCache``, counted here in one atomic step) and Memcached count exactly (atomic increments);
Django's database and file caches lose counts when processes count at once (their ``incr``
reads, then writes); the default local-memory cache limits each process on its own. The system
check ``backlinks_django.W030`` says so on a production site.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from backlinks_django.conf import app_settings


def hit(scope: str, key: str, limit: tuple[int, float] | None) -> float | None:
    """Count one event for ``key``; return seconds to wait if over ``limit``, else None.

    ``limit`` is (events, window seconds); None means unlimited.
    """
    if limit is None:
        return None
    events, window = limit
    now = time.time()
    window_index = math.floor(now / window)
    count = _count(_cache_key(scope, key, window_index), math.ceil(window) + 1)
    if count > events:
        return _wait(window_index, window, now)
    return None


# One atomic step on Redis: the count goes up and, when this made the key, gets its expiry.
_REDIS_INCR = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


def _count(cache_key: str, timeout: int) -> int:
    """Add one to the counter ``cache_key`` (made with ``timeout`` seconds to live); its count.

    Atomic where the cache's ``add`` and ``incr`` are (Redis, Memcached; local memory within
    a process). On Django's Redis cache, one round trip: its ``incr`` is an EXISTS, then an
    INCR that, if the key expired in between, would make a counter that never expires.
    """
    cache = caches[app_settings.RATE_LIMIT_CACHE]
    if isinstance(cache, RedisCache):
        redis_key = cache.make_and_validate_key(cache_key)
        client = cache._cache.get_client(redis_key, write=True)
        return int(client.eval(_REDIS_INCR, 1, redis_key, timeout))
    for _ in range(3):
        cache.add(cache_key, 0, timeout=timeout)
        try:
            return int(cache.incr(cache_key))
        except ValueError:  # evicted or expired between add and incr: again
            continue
    return 1  # a cache that keeps nothing (DummyCache): every event is the first


def peek(scope: str, key: str, limit: tuple[int, float] | None) -> float | None:
    """Seconds to wait if a :func:`hit` now would be refused, else None; counts nothing."""
    if limit is None:
        return None
    events, window = limit
    now = time.time()
    window_index = math.floor(now / window)
    count = caches[app_settings.RATE_LIMIT_CACHE].get(_cache_key(scope, key, window_index), 0)
    if count >= events:
        return _wait(window_index, window, now)
    return None


@contextmanager
def holding(owners: Sequence[tuple[str, str]], pool: int, seconds: float) -> Iterator[bool]:
    """Hold, for the block, one slot per (scope, key) in ``owners`` and one of ``pool`` slots
    shared by everyone; yield whether all of them were free (if not, none is held).

    A slot frees itself after ``seconds`` should its holder die without leaving the block.
    """
    cache = caches[app_settings.RATE_LIMIT_CACHE]
    timeout = math.ceil(seconds) + 1
    held: list[str] = []
    names = [_cache_key(f"hold:{scope}", key, 0) for scope, key in owners]
    got = all(_take(cache, name, timeout, held) for name in names)
    if got:
        got = any(
            _take(cache, _cache_key("hold:pool", str(i), 0), timeout, held) for i in range(pool)
        )
    try:
        yield got
    finally:
        cache.delete_many(held)


def _take(cache: Any, name: str, timeout: int, held: list[str]) -> bool:
    if cache.add(name, 1, timeout=timeout):
        held.append(name)
        return True
    return False


def _cache_key(scope: str, key: str, window_index: int) -> str:
    # Hashed: keys come from strangers (host names), and memcached refuses long keys, spaces
    # and control characters.
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    return f"backlinks:{scope}:{window_index}:{digest}"


def _wait(window_index: int, window: float, now: float) -> float:
    """Seconds from ``now`` until the window ``window_index`` ends."""
    return max(0.0, (window_index + 1) * window - now)
