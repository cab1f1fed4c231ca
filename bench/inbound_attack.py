"""Inbound under a burst and under attack: issue #11's burst and attack numbers.

The app is served as in bench/inbound.py (gunicorn sync workers, ``bench.wsgi:application``, a
SQLite file or ``--postgres``), queued pings are verified by ``db_worker`` processes
(django-tasks-db, bench/worker.py), and rate limits are counted in a DatabaseCache shared by all
of them (``--cache redis``: Django's RedisCache on ``BENCH_REDIS_URL``, as in production).
Limits are the app's defaults (60 pings a minute per sender and per source domain,
``FETCH_DEADLINE`` 10 s, ``RECEIVE_BUDGET`` 1 s, ``INBOUND_CONCURRENCY`` 2,
``INBOUND_QUEUE_PER_SENDER`` 1,000) except the per-server fetch cap of the burst, given below.

- burst: 1,000 genuine pingbacks from one address (127.0.0.1) in 10 s, every source on one
  server (127.0.0.2). Reported: the answers, how long until every ping was verified, what was
  stored, and the source server's requests in each window of ``RATE_LIMIT_PER_FETCHED_HOST``
  (fixed windows, as the limiter counts them), against the cap. The cap is 100 per 10 s here:
  at the default 60 a minute the drain alone takes about 17 minutes.
- attack (slow drip, hostile markup): 1,000 pingbacks in 10 s from 1,000 addresses of one IPv6
  /64 (bench/wsgi.py takes REMOTE_ADDR from the X-Bench-Client-Addr header) whose sources are
  1,000 subdomains of one domain, resolved to a loopback server by bench/_loopback.py (no DNS).
  "drip" sources send a byte every half second; "markup" sources answer at once with 1 MB of
  misnested ``<b><p>`` after a link to the target (the costliest construct of
  bench/linksearch.py for microformats: about 1 s of CPU per page). Meanwhile a reader requests
  the site's own article pages 20 times a second on a fixed schedule (latency counted from the
  scheduled time, so a stalled server is not sampled less often); the same reader on the quiet
  site just before (same servers, workers idle) gives the comparison.

    python bench/inbound_attack.py                  # everything, SQLite
    python bench/inbound_attack.py --postgres       # the same on PostgreSQL
    python bench/inbound_attack.py --only burst     # or drip, markup
    python bench/inbound_attack.py --quick          # 20 pings in 1 s, 5 a minute, 2 s windows
    python bench/inbound_attack.py --postgres --cache redis --only markup
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import math
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Generic, TypeVar

from _setup import bench_database, postgres_unavailable
from inbound import (
    APP_HOST,
    ARTICLES,
    GUNICORN,
    SOURCE_HOST,
    Pings,
    add_cache_option,
    cache_label,
    free_port,
    gunicorn,
    ping,
    serve_articles,
    source_hits,
    start_sources,
    task_workers,
    use_cache,
    wait_verified,
)

DRIP_HOST = "127.0.0.3"
MARKUP_HOST = "127.0.0.4"
DRIP_DOMAIN = "drip-attacker.example"
MARKUP_DOMAIN = "markup-attacker.example"
# 1,000 addresses of this /64 send the attack.
ATTACK_NETWORK = "2001:db8:bad:1::"
# The genuine sender of the attacks' warm-up pings.
WARM_UP = "198.51.100.9"
HOSTILE_UNIT = "<b><p>"
T = TypeVar("T")
# The reader of the site's own pages: requests a second, on a fixed schedule.
READS_PER_SECOND = 20
DEFAULT_LIMITS = {
    "RATE_LIMIT_PER_IP": [60, 60.0],
    "RATE_LIMIT_PER_SOURCE_DOMAIN": [60, 60.0],
    "RATE_LIMIT_PER_FETCHED_HOST": [60, 60.0],
    "FETCH_DEADLINE": 10.0,
}
# --quick: 20 pings, so that some are queued the sender and domain rates are 5 a minute.
QUICK_RATE = [5, 60.0]


def hostile_page(n: int, target: str) -> bytes:
    """A link to the target, then misnested formatting to 1 MB."""
    link = f'<html><body><p><a href="{target}">post {n}</a></p>'.encode()
    size = 1_000_000
    return link + (HOSTILE_UNIT * (size // len(HOSTILE_UNIT))).encode()


@dataclass
class Paced:
    answers: Counter[str]
    latencies: list[float]
    seconds: float


def paced(count: int, seconds: float, send: object) -> Paced:
    """Call ``send(i)`` for i in range(count), the i-th at ``i * seconds / count`` from now (as
    far as 64 client threads keep up); ``send`` returns (latency, answer)."""
    started = time.perf_counter()

    def one(i: int) -> tuple[float, str]:
        delay = started + i * seconds / count - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        return send(i)  # type: ignore[operator,no-any-return]

    with ThreadPoolExecutor(64) as pool:
        results = list(pool.map(one, range(count)))
    return Paced(
        Counter(a for _, a in results),
        [t for t, _ in results],
        time.perf_counter() - started,
    )


def read_pages(port: int, seconds: float, rate: float = READS_PER_SECOND) -> list[float]:
    """GET the articles' pages ``rate`` times a second for ``seconds``, on a fixed schedule
    (open loop: a stalled server does not slow the reader down, so stalls are counted as
    often as they happen); each latency from the request's scheduled time to its answer."""
    count = int(seconds * rate)
    started = time.perf_counter()

    def one(i: int) -> float:
        due = started + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        conn = http.client.HTTPConnection(APP_HOST, port, timeout=120)
        try:
            conn.request("GET", f"/articles/article-{i % ARTICLES}/")
            response = conn.getresponse()
            response.read()
            ok = response.status == 200
        except OSError:
            ok = False
        finally:
            conn.close()
        return time.perf_counter() - due if ok else math.inf

    with ThreadPoolExecutor(32) as pool:
        return list(pool.map(one, range(count)))


class Child(Generic[T]):
    """``work()`` run in a forked process at ``niceness``, started at once; :meth:`result`
    waits for its return value."""

    def __init__(self, work: Callable[[], T], niceness: int = 0) -> None:
        context = multiprocessing.get_context("fork")
        self._receiver, sender = context.Pipe(duplex=False)

        def run() -> None:
            if niceness:
                os.nice(niceness)
            sender.send(work())

        self._process = context.Process(target=run, daemon=True)
        self._process.start()
        sender.close()

    def result(self) -> T:
        value: T = self._receiver.recv()
        self._process.join()
        return value


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def summary(values: list[float]) -> str:
    return (
        f"{len(values):>6} {statistics.median(values) * 1000:>8.1f}ms {p95(values) * 1000:>8.1f}ms"
        f" {max(values) * 1000:>8.1f}ms"
    )


def answers(counter: Counter[str]) -> str:
    return ", ".join(f"{n} {a}" for a, n in counter.most_common())


# --- Scenarios -----------------------------------------------------------------------------------


def reset_queue() -> None:
    """Forget the previous scenario's queue, tasks and rate counters."""
    from django.core.cache import cache
    from django.db import connection
    from django_tasks_db.models import DBTaskResult

    from backlinks_django.models import InboundPing

    InboundPing.objects.all().delete()
    DBTaskResult.objects.all().delete()
    cache.clear()
    connection.close()


def burst(
    app_port: int, source_port: int, args: argparse.Namespace, count: int, seconds: float
) -> None:
    from django.db import connection

    from backlinks_django.models import Backlink, InboundPing

    cap = (args.cap, args.cap_window)
    limits = {**DEFAULT_LIMITS, "RATE_LIMIT_PER_FETCHED_HOST": list(cap)}
    env = {"BENCH_BACKLINKS": json.dumps(limits)}
    pings = Pings(app_port, source_port)
    before = len(source_hits(SOURCE_HOST, source_port))
    stored_before = Backlink.objects.count()
    connection.close()
    with gunicorn(app_port, args.workers, env), task_workers(args.task_workers, env):
        started = time.perf_counter()
        result = paced(count, seconds, lambda i: ping(app_port, *pings.pair()))
        done = wait_verified(args.drain_timeout)
        drained = None if done is None else done - started
    hits = source_hits(SOURCE_HOST, source_port)[before:]
    states = Counter(InboundPing.objects.values_list("state", flat=True))
    stored = Backlink.objects.count() - stored_before
    connection.close()

    windows = Counter(math.floor(t / cap[1]) for t in hits)
    over = {w: n for w, n in windows.items() if n > cap[0]}
    print(
        f"\nBurst: {count} pingbacks from one address in {seconds:g} s (sent in "
        f"{result.seconds:.1f} s), every source on {SOURCE_HOST}; per-server fetch cap "
        f"{cap[0]} per {cap[1]:g} s; {args.task_workers} db_worker processes"
    )
    print(f"{'':<28}{'pings':>6} {'median':>10} {'p95':>10} {'max':>10}  answers")
    print(f"{'answers':<28}{summary(result.latencies)}  {answers(result.answers)}")
    verified = (
        f"not within {args.drain_timeout} s"
        if drained is None
        else f"{drained:.1f} s after the first ping"
    )
    print(
        f"all verified: {verified}; stored {stored} backlinks; "
        f"queue rows: {answers(states) or 'none'}"
    )
    print(
        f"source server requests: {len(hits)} in {len(windows)} windows of {cap[1]:g} s; "
        f"most in one window {max(windows.values(), default=0)} (cap {cap[0]}); "
        f"windows over the cap: {len(over)}"
        + (f" ({', '.join(str(n) for n in over.values())})" if over else "")
    )
    print("per window: " + " ".join(str(windows[w]) for w in sorted(windows)) if windows else "")


def attack(
    mode: str,
    app_port: int,
    source_port: int,
    hostile_port: int,
    args: argparse.Namespace,
    count: int,
    seconds: float,
    window: float,
) -> None:
    from django.db import connection

    from backlinks_django.models import InboundPing

    domain = DRIP_DOMAIN if mode == "drip" else MARKUP_DOMAIN
    env = {"BENCH_BACKLINKS": json.dumps(DEFAULT_LIMITS)}
    app = f"http://{APP_HOST}:{app_port}"

    # With --ping-pool, the pings go to a gunicorn of their own at a lower CPU priority, as a
    # front end routing the ping URLs by path to a separate pool would send them; the site's
    # pages stay on the main one.
    pool = args.ping_pool
    ping_port = free_port(APP_HOST) if pool else app_port

    def send(i: int) -> tuple[float, str]:
        slug = f"article-{i % ARTICLES}"
        source = f"http://s{i}.{domain}:{hostile_port}/post/{i}/{slug}/"
        return ping(ping_port, source, f"{app}/articles/{slug}/", f"{ATTACK_NETWORK}{i + 1:x}")

    with (
        gunicorn(app_port, args.workers, env),
        gunicorn(ping_port, pool, env, niceness=args.ping_pool_nice) if pool else nullcontext(),
        task_workers(args.task_workers, env),
    ):
        connection.close()  # nothing of it in the forked clients
        # Warm-up: the workers' first pings set up what answering needs (imports, prepared
        # statements), a stall of a site just started rather than the attack's doing.
        warm = Pings(app_port, source_port)
        Child(lambda: paced(40, 1.0, lambda i: ping(ping_port, *warm.pair(), WARM_UP))).result()
        reset_queue()
        # The reader and the attacker are other machines: each client is a process of its
        # own, so that neither waits for the other's threads at one interpreter's lock (and
        # the attacker's runs at --attacker-nice, as its servers do).
        Child(lambda: read_pages(app_port, 1.0)).result()  # warm-up
        quiet = Child(lambda: read_pages(app_port, window)).result()
        reading = Child(lambda: read_pages(app_port, window))
        result = Child(lambda: paced(count, seconds, send), args.attacker_nice).result()
        reader = reading.result()
        states = Counter(InboundPing.objects.values_list("state", flat=True))
        connection.close()
    label = (
        "slow drip (a byte every 0.5 s)"
        if mode == "drip"
        else f"hostile markup (1 MB of {HOSTILE_UNIT})"
    )
    print(
        f"\nAttack, {label}: {count} pingbacks in {seconds:g} s (sent in {result.seconds:.1f} s) "
        f"from {count} addresses of {ATTACK_NETWORK}/64, sources on {count} subdomains of "
        f"{domain}; {args.task_workers} db_worker processes; page reads {READS_PER_SECOND} a "
        f"second for {window:g} s, quiet and from the attack's start"
        + (
            f"; pings to a pool of their own ({pool} sync workers at nice "
            f"{args.ping_pool_nice}), pages to the {args.workers} of the main one"
            if pool
            else ""
        )
    )
    print(f"{'':<28}{'n':>6} {'median':>10} {'p95':>10} {'max':>10}")
    print(f"{'own pages, quiet':<28}{summary(quiet)}")
    print(f"{'own pages, under attack':<28}{summary(reader)}")
    print(f"{'attack pings':<28}{summary(result.latencies)}  {answers(result.answers)}")
    seconds_read = [
        reader[i : i + READS_PER_SECOND] for i in range(0, len(reader), READS_PER_SECOND)
    ]
    print(
        "own pages under attack, slowest read of each second (ms): "
        + " ".join(f"{max(second) * 1000:.0f}" for second in seconds_read)
    )
    print(
        f"p95 under attack / quiet: {p95(reader) / p95(quiet):.2f}; queue rows at the end: "
        f"{answers(states) or 'none'}"
    )


# --- Main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 pings in 1 s, 2 s windows")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--only", choices=["burst", "drip", "markup"], action="append")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--task-workers", type=int, default=2, help="db_worker processes")
    parser.add_argument("--cap", type=int, help="burst: fetches per window (default 100)")
    parser.add_argument("--cap-window", type=float, help="burst: the window (default 10 s)")
    parser.add_argument("--drain-timeout", type=int, default=900, help="burst: seconds")
    parser.add_argument("--seconds", type=float, help="seconds over which the pings are sent")
    parser.add_argument(
        "--ping-pool",
        type=int,
        default=0,
        help="attacks: serve the pings from a second gunicorn of this many workers (default: "
        "the pages' own)",
    )
    parser.add_argument(
        "--ping-pool-nice", type=int, default=10, help="that pool's niceness (default 10)"
    )
    parser.add_argument(
        "--attacker-nice",
        type=int,
        default=0,
        help="niceness of the attack's source servers and of its client (default 0); 19 "
        "stands for machines of the attacker's own, which take none of this one's CPU",
    )
    add_cache_option(parser)
    args = parser.parse_args()
    count, seconds, window = (20, 1.0, 2.0) if args.quick else (1000, 10.0, 30.0)
    seconds = args.seconds or seconds
    if args.quick:
        DEFAULT_LIMITS["RATE_LIMIT_PER_IP"] = DEFAULT_LIMITS["RATE_LIMIT_PER_SOURCE_DOMAIN"] = (
            QUICK_RATE
        )
    args.cap = args.cap or (5 if args.quick else 100)
    args.cap_window = args.cap_window or (1.0 if args.quick else 10.0)
    if args.quick:
        args.drain_timeout = min(args.drain_timeout, 120)
    scenarios = args.only or ["burst", "drip", "markup"]

    for module, package in (("gunicorn", GUNICORN), ("django_tasks_db", "django-tasks-db")):
        if importlib.util.find_spec(module) is None:
            print(f"inbound_attack.py: skipped, {module} is not installed (pip install {package})")
            sys.exit(0 if args.quick else 1)
    if args.postgres:
        reason = postgres_unavailable()
        if reason:
            print(f"inbound_attack.py --postgres: skipped, {reason}")
            sys.exit(0 if args.quick else 1)
        engine, name = "postgres", "backlinks_bench_attack"
        database = f"PostgreSQL database {name}"
    else:
        engine, name = "sqlite", os.path.join(tempfile.gettempdir(), "backlinks_bench_attack.db")
        database = f"SQLite file {name}"
    if not use_cache(args.cache, "inbound_attack.py"):
        sys.exit(0 if args.quick else 1)
    os.environ["BENCH_TASKS"] = "db"
    os.environ["BENCH_HOSTS"] = f"{DRIP_DOMAIN}={DRIP_HOST},{MARKUP_DOMAIN}={MARKUP_HOST}"

    app_port = free_port(APP_HOST)
    app = f"http://{APP_HOST}:{app_port}"
    # Fork the source servers before Django opens anything.
    servers = [start_sources(app)]
    servers.append(start_sources(app, DRIP_HOST, drip=0.5))
    servers.append(start_sources(app, MARKUP_HOST, page=hostile_page))
    for process, _port in servers[1:]:  # the attacker's servers, not the genuine one
        os.setpriority(os.PRIO_PROCESS, process.pid or 0, args.attacker_nice)
    (_, source_port), (_, drip_port), (_, markup_port) = servers
    try:
        with bench_database(engine, name):
            import django
            import gunicorn as gunicorn_package
            from django.db import connection

            serve_articles(app_port)
            connection.close()
            print(
                f"Inbound burst and attack: gunicorn {gunicorn_package.__version__}, "
                f"{args.workers} sync workers; {database}; cache: {cache_label(args.cache)}; "
                f"Python {sys.version.split()[0]}, "
                f"Django {django.get_version()}; {os.cpu_count()} cores shared by everything; "
                f"load {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
                flush=True,
            )
            rates = DEFAULT_LIMITS["RATE_LIMIT_PER_IP"]
            print(
                f"limits: {rates[0]} pings per {rates[1]:g} s per sender and per source domain, "
                f"fetch cap per server {DEFAULT_LIMITS['RATE_LIMIT_PER_FETCHED_HOST'][0]} per "
                f"{DEFAULT_LIMITS['RATE_LIMIT_PER_FETCHED_HOST'][1]:g} s (burst: below), "
                "other settings at their defaults",
                flush=True,
            )
            for scenario in scenarios:
                reset_queue()
                if scenario == "burst":
                    burst(app_port, source_port, args, count, seconds)
                else:
                    port = drip_port if scenario == "drip" else markup_port
                    attack(scenario, app_port, source_port, port, args, count, seconds, window)
                sys.stdout.flush()
    finally:
        for process, _port in servers:
            process.terminate()
            process.join()


if __name__ == "__main__":
    main()
