"""Fixed-window rate limits, held slots for work running at once, and tallies, in Django's cache.

Several processes share a limit only when they share the cache: Redis (Django's built-in
``RedisCache``, counted here in one atomic step) and Memcached count exactly (atomic increments);
Django's database and file caches lose counts when processes count at once (their ``incr``
reads, then writes); the default local-memory cache limits each process on its own. The system
check ``backlinks_django.W030`` says so on a production site.

On Django's Redis cache, each function here costs one round trip (a Lua script where it touches
several keys) through one client per cache: Django's own cache methods build a new client
object for every call, which costs more CPU than the round trip itself.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.core.cache import BaseCache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

from backlinks_django.conf import app_settings

__all__ = [
    "Checked",
    "Limit",
    "bump",
    "check",
    "counts_exactly",
    "give_back",
    "hit",
    "holding",
    "is_shared",
    "peek",
    "settle",
    "take",
    "tally",
    "version",
]

# (events, window seconds); None in an argument means unlimited.
Limit = tuple[int, float]
# One rate to count or look at: (scope, key, limit).
Rate = tuple[str, str, Limit | None]


def hit(scope: str, key: str, limit: Limit | None) -> float | None:
    """Count one event for ``key``; return seconds to wait if over ``limit``, else None.

    ``limit`` is (events, window seconds); None means unlimited.
    """
    return check(hits=[(scope, key, limit)]).waits[0]


def peek(scope: str, key: str, limit: Limit | None) -> float | None:
    """Seconds to wait if a :func:`hit` now would be refused, else None; counts nothing."""
    return check(peeks=[(scope, key, limit)]).waits[0]


@dataclass(frozen=True)
class Checked:
    """What :func:`check` found: the seconds to wait (or None) of each rate, those counted
    first; each tally's new value (None where there is none, see :func:`tally`); and whether
    each slot asked for was free and is now taken."""

    waits: list[float | None]
    tallies: list[int | None]
    taken: list[bool]


def check(
    hits: Sequence[Rate] = (),
    peeks: Sequence[Rate] = (),
    *,
    tallies: Sequence[str] = (),
    takes: Sequence[tuple[str, float]] = (),
) -> Checked:
    """:func:`hit` each of ``hits``, :func:`peek` each of ``peeks``, :func:`tally` each of
    ``tallies`` and :func:`take` each of ``takes`` (name, seconds): one round trip on Redis."""
    now = time.time()
    rates = [(rate, True) for rate in hits] + [(rate, False) for rate in peeks]
    counted: list[tuple[str, int]] = []
    looked: list[str] = []
    for (scope, key, limit), counts in rates:
        if limit is None:
            continue
        name = _cache_key(scope, key, math.floor(now / limit[1]))
        if counts:
            counted.append((name, math.ceil(limit[1]) + 1))
        else:
            looked.append(name)
    slots = [(_cache_key("take", name, 0), math.ceil(seconds)) for name, seconds in takes]
    found = _step(counted, looked, [_cache_key("tally", name, 0) for name in tallies], slots)
    hit_counts = iter(found[: len(counted)])
    peek_counts = iter(found[len(counted) : len(counted) + len(looked)])
    waits: list[float | None] = []
    for (_scope, _key, limit), counts in rates:
        if limit is None:
            waits.append(None)
            continue
        events, window = limit
        over = next(hit_counts) > events if counts else next(peek_counts) >= events
        waits.append(_wait(math.floor(now / window), window, now) if over else None)
    rest = found[len(counted) + len(looked) :]
    return Checked(
        waits,
        [None if value < 0 else value for value in rest[: len(tallies)]],
        [value == 1 for value in rest[len(tallies) :]],
    )


def tally(names: Sequence[str]) -> list[int | None]:
    """Add one to each of the tallies ``names`` that exists; the new values, None for a tally
    that does not exist (never set, expired or evicted: :func:`settle` sets it)."""
    return check(tallies=names).tallies


def take(name: str, seconds: float) -> bool:
    """Take the slot ``name`` for ``seconds`` if it is free; whether it was."""
    return check(takes=[(name, seconds)]).taken[0]


def give_back(name: str) -> None:
    """Free the slot ``name`` (see :func:`take`)."""
    cache = caches[app_settings.RATE_LIMIT_CACHE]
    key = _cache_key("take", name, 0)
    if isinstance(cache, RedisCache):
        _client(cache).delete(cache.make_and_validate_key(key))
    else:
        cache.delete(key)


# One atomic step on Redis. ARGV: how many counters (their seconds to live when made follow
# the four counts, one per key), counters looked at, tallies and slots (their seconds to live
# likewise). Counters go up and, when this made them, get their expiry; looked-at counters are
# read (0 where there is none); tallies go up only where they exist (-1 elsewhere: a bare INCR
# would make a tally that never expires); a slot is taken if free (1, else 0).
_REDIS_STEP = """
local counted = tonumber(ARGV[1])
local looked = counted + tonumber(ARGV[2])
local tallied = looked + tonumber(ARGV[3])
local found = {}
for i = 1, #KEYS do
  local key = KEYS[i]
  if i <= counted then
    local count = redis.call('INCR', key)
    if count == 1 then redis.call('EXPIRE', key, ARGV[i + 4]) end
    found[i] = count
  elseif i <= looked then
    found[i] = tonumber(redis.call('GET', key)) or 0
  elseif i <= tallied then
    found[i] = -1
    if redis.call('EXISTS', key) == 1 then found[i] = redis.call('INCR', key) end
  elseif redis.call('SET', key, 1, 'NX', 'EX', ARGV[i + 4]) then
    found[i] = 1
  else
    found[i] = 0
  end
end
return found
"""


def _step(
    counted: Sequence[tuple[str, int]],
    looked: Sequence[str],
    tallies: Sequence[str],
    slots: Sequence[tuple[str, int]],
) -> list[int]:
    """Add one to each counter of ``counted`` (name, seconds to live when made), read those
    ``looked`` at, add one to each of ``tallies`` that exists (-1 for one that does not), take
    each of ``slots`` (name, seconds) that is free (1 if taken, else 0); the values in order.

    Atomic where the cache's ``add`` and ``incr`` are (Redis, Memcached; local memory within
    a process). On Django's Redis cache, one round trip: its ``incr`` is an EXISTS, then an
    INCR that, if the key expired in between, would make a counter that never expires.
    """
    if not (counted or looked or tallies or slots):
        return []
    cache = caches[app_settings.RATE_LIMIT_CACHE]
    if isinstance(cache, RedisCache):
        names = [name for name, _ in counted] + [*looked, *tallies] + [name for name, _ in slots]
        keys = [cache.make_and_validate_key(name) for name in names]
        lives = [*(live for _, live in counted), *[0] * (len(looked) + len(tallies))]
        lives += [live for _, live in slots]
        sizes = (len(counted), len(looked), len(tallies), len(slots))
        found = _client(cache).eval(_REDIS_STEP, len(keys), *keys, *sizes, *lives)
        return [int(value) for value in found]
    values = [_count(cache, name, timeout) for name, timeout in counted]
    if looked:
        got = cache.get_many(looked)
        values += [int(got.get(name) or 0) for name in looked]
    for name in tallies:
        try:
            values.append(int(cache.incr(name)))
        except ValueError:
            values.append(-1)
    values += [int(bool(cache.add(name, 1, timeout=live))) for name, live in slots]
    return values


def _count(cache: BaseCache, name: str, timeout: int) -> int:
    # The increment first: a counter exists for all but the first event of its window, and
    # on the database cache ``add`` costs several queries.
    for _ in range(3):
        try:
            return int(cache.incr(name))
        except ValueError:  # no such counter (yet, or evicted, or expired)
            if cache.add(name, 1, timeout=timeout):
                return 1
    return 1  # a cache that keeps nothing (DummyCache): every event is the first


@contextmanager
def holding(owners: Sequence[tuple[str, str]], pool: int, seconds: float) -> Iterator[bool]:
    """Hold, for the block, one slot per (scope, key) in ``owners`` and one of ``pool`` slots
    shared by everyone; yield whether all of them were free (if not, none is held).

    A slot frees itself after ``seconds`` should its holder die without leaving the block.
    """
    cache = caches[app_settings.RATE_LIMIT_CACHE]
    timeout = math.ceil(seconds) + 1
    names = [_cache_key(f"hold:{scope}", key, 0) for scope, key in owners]
    slots = [_cache_key("hold:pool", str(i), 0) for i in range(pool)]
    held: list[Any] = []
    if isinstance(cache, RedisCache):
        keys = [cache.make_and_validate_key(name) for name in (*names, *slots)]
        held = list(_client(cache).eval(_REDIS_HOLD, len(keys), *keys, len(names), timeout))
        got = bool(held)
    else:
        got = all(_take(cache, name, timeout, held) for name in names)
        if got:
            got = any(_take(cache, name, timeout, held) for name in slots)
    try:
        yield got
    finally:
        if isinstance(cache, RedisCache):
            if held:
                _client(cache).delete(*held)
        else:
            cache.delete_many(held)


# Take every owner's slot and the first free one of the pool, all or none: the keys taken.
_REDIS_HOLD = """
local owners = tonumber(ARGV[1])
local taken = {}
for i = 1, #KEYS do
  if redis.call('SET', KEYS[i], 1, 'NX', 'EX', ARGV[2]) then
    taken[#taken + 1] = KEYS[i]
    if i > owners then return taken end
  elseif i <= owners then
    break
  end
end
for _, key in ipairs(taken) do redis.call('DEL', key) end
return {}
"""


def _take(cache: Any, name: str, timeout: int, held: list[Any]) -> bool:
    if cache.add(name, 1, timeout=timeout):
        held.append(name)
        return True
    return False


def is_shared() -> bool:
    """Whether the rate-limit cache is one every process shares: not local memory (each
    process its own) or the dummy cache."""
    return not isinstance(caches[app_settings.RATE_LIMIT_CACHE], LocMemCache | DummyCache)


def counts_exactly() -> bool:
    """Whether the rate-limit cache is one every process shares (:func:`is_shared`) and
    increments atomically: an ``incr`` of its own (Django's database and file caches read,
    then write)."""
    cache = caches[app_settings.RATE_LIMIT_CACHE]
    return is_shared() and type(cache).incr is not BaseCache.incr


def version(name: str) -> int | None:
    """The shared counter ``name`` (0 until :func:`bump` raises it); None on a cache that
    processes do not share (:func:`is_shared`), where no other process would raise it."""
    if not is_shared():
        return None
    cache = caches[app_settings.RATE_LIMIT_CACHE]
    key = _cache_key("version", name, 0)
    if isinstance(cache, RedisCache):
        return int(_client(cache).get(cache.make_and_validate_key(key)) or 0)
    return int(cache.get(key) or 0)


def bump(name: str) -> None:
    """Raise the shared counter ``name`` by one (kept without expiry)."""
    cache = caches[app_settings.RATE_LIMIT_CACHE]
    key = _cache_key("version", name, 0)
    if isinstance(cache, RedisCache):
        _client(cache).incr(cache.make_and_validate_key(key))
        return
    try:
        cache.incr(key)
    except ValueError:  # not made yet (or evicted: a new value is all that matters)
        if not cache.add(key, 1, timeout=None):
            cache.incr(key)


def settle(name: str, value: int, seconds: float) -> None:
    """Set the tally ``name`` to ``value`` for ``seconds``."""
    cache = caches[app_settings.RATE_LIMIT_CACHE]
    cache.set(_cache_key("tally", name, 0), value, timeout=math.ceil(seconds))


# One Redis client per Django cache object (one per thread and alias): Django's RedisCache
# makes one per call, copying some 170 response callbacks each time (~0.25 ms of CPU). It
# keeps one connection of the cache's pool rather than taking one from the pool for each
# command (about 60 µs of CPU a command instead of 100-140 here). Each is kept with the
# process that made it: a process forked after a command (gunicorn --preload, say) must not
# talk on its parent's connection.
_clients: weakref.WeakKeyDictionary[Any, tuple[int, Any]] = weakref.WeakKeyDictionary()


def _client(cache: RedisCache) -> Any:
    backend = cache._cache
    pid, client = _clients.get(backend, (0, None))
    if client is None or pid != os.getpid():
        pooled = backend.get_client(write=True)
        client = type(pooled)(
            connection_pool=pooled.connection_pool, single_connection_client=True
        )
        _clients[backend] = (os.getpid(), client)
    return client


def _cache_key(scope: str, key: str, window_index: int) -> str:
    # Hashed: keys come from strangers (host names), and memcached refuses long keys, spaces
    # and control characters.
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    return f"backlinks:{scope}:{window_index}:{digest}"


def _wait(window_index: int, window: float, now: float) -> float:
    """Seconds from ``now`` until the window ``window_index`` ends."""
    return max(0.0, (window_index + 1) * window - now)
