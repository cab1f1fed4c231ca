"""Outbound fan-out: one entry linking N targets on N local peers, each answering slowly.

Every peer is its own host (127.0.0.2, 127.0.0.3, ...) and adds DELAY seconds to
each answer; a ping costs two requests (discovery GET, pingback POST), so two round
trips (2 x DELAY) is the floor. Two measures:

- in this process: ``send.send_object`` with the default concurrency and with one link at a
  time (the sequential baseline, which is how WordPress sends);
- through a task worker (issue #12): an entry saved in this process, its task picked up by a
  worker started as the project starts it (``db_worker`` with scripts/demo's flags, or with
  ``--engine rq`` ``rqworker`` with those example_project/settings_redis.py documents), until
  the last peer has answered its ping. Repeated ``--runs`` times, each save at a random moment
  of the worker's poll cycle; median and worst. Then the worker's CPU while its queue is empty.

The database is a SQLite file as in the demo (WAL, IMMEDIATE transactions), or PostgreSQL.

    python bench/fanout.py            # 100 peers in this process; 50 through the worker, 10 runs
    python bench/fanout.py --quick    # 10 peers, 50 ms each, 3 runs (CI: keeps the script alive)
    python bench/fanout.py --postgres # PostgreSQL instead of the demo's SQLite file
    python bench/fanout.py --engine rq --skip-in-process   # RQ on Redis (scripts/start-redis)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import _workers
from _peers import Peers, loopback_hosts
from _setup import bench_database, postgres_unavailable

SQLITE_FILE = "/tmp/backlinks_bench_fanout.sqlite3"  # noqa: S108 -- a benchmark's scratch file
PG_DATABASE = "backlinks_bench_fanout"


def links_to(peers: Peers, prefix: str, count: int | None = None) -> str:
    """An entry's body: one link to a page of each peer (the first ``count``), under ``prefix``."""
    return "".join(
        f'<p><a href="http://{host}:{port}{prefix}{n}">peer</a></p>'
        for n, (host, port) in enumerate(peers.addresses[:count])
    )


def in_process(peers: Peers, concurrency: int, label: str) -> tuple[float, float, int]:
    """``send.send_object`` of an entry linking every peer, in this process."""
    from django.test import override_settings
    from django.utils import timezone

    from backlinks_django import send
    from backlinks_django.models import OutboundPing, Outcome
    from tests.testapp.models import Article

    # bulk_create sends no post_save: no task is queued for the workers.
    (article,) = Article.objects.bulk_create(
        [
            Article(
                title=label,
                slug=label,
                body=links_to(peers, f"/{label}/"),
                published_at=timezone.now(),
            )
        ]
    )
    with override_settings(BACKLINKS={**_settings(), "SEND_CONCURRENCY": concurrency}):
        started = time.perf_counter()
        cpu = time.process_time()  # this process's: the peers' share is small but counted
        send.send_object(article)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
    delivered = OutboundPing.objects.filter(object_id=str(article.pk), outcome=Outcome.SUCCESS)
    return elapsed, cpu, delivered.count()


def _settings() -> dict[str, object]:
    from django.conf import settings

    return {**settings.BACKLINKS, "SEND_DEADLINE": 600.0}


@dataclass
class Run:
    # Seconds from the save's start until:
    enqueued: float  # the task is in the queue (the transaction committed)
    picked: float  # a worker has started it
    first_request: float  # the first discovery GET reaches a peer
    last_ping: float  # the last peer has answered its ping (POST): the figure
    recorded: float  # the task has finished (results recorded)
    delivered: int
    worker_cpu: float = 0.0  # CPU seconds the worker used from the save to the results


class Enqueued:
    """The task results of the tasks this process queues (the ``task_enqueued`` signal of
    Django's tasks framework and of the django-tasks backport, which django-tasks-rq sends)."""

    def __init__(self) -> None:
        self.results: list[object] = []
        for module in ("django.tasks.signals", "django_tasks.signals"):
            try:
                signals = __import__(module, fromlist=["task_enqueued"])
            except ImportError:
                continue
            signals.task_enqueued.connect(self.receive, weak=False)

    def receive(self, sender: object, task_result: object, **kwargs: object) -> None:
        self.results.append(task_result)

    def finished(self, result: Any, deadline: float) -> Any:
        """``result`` read again from its backend until it has finished (or the deadline)."""
        backend = result.task.get_backend()
        while True:
            fresh = backend.get_result(result.id)
            if fresh.finished_at is not None or time.monotonic() > deadline:
                return fresh
            time.sleep(0.01)


def through_worker(
    peers: Peers, count: int, run: int, timeout: float, pool: _workers.Pool, queued: Enqueued
) -> Run:
    """Save an entry linking the first ``count`` peers; wait until each has its ping."""
    from django.db import transaction
    from django.utils import timezone

    from backlinks_django.models import OutboundPing, Outcome
    from tests.testapp.models import Article

    prefix = f"/w{run}/"
    body = links_to(peers, prefix, count)
    queued.results.clear()
    cpu = pool.cpu()
    started = time.time()
    with transaction.atomic():  # as the admin saves
        article = Article.objects.create(
            title=f"Run {run}", slug=f"w{run}", body=body, published_at=timezone.now()
        )
    deadline = time.monotonic() + timeout
    while len(peers.posts_under(prefix)) < count and time.monotonic() < deadline:
        time.sleep(0.005)
    posts = peers.posts_under(prefix)
    gets = peers.gets_under(prefix)
    if len(queued.results) != 1:
        raise SystemExit(f"error: the save queued {len(queued.results)} tasks, not one")
    task = queued.finished(queued.results[0], deadline)
    delivered = OutboundPing.objects.filter(object_id=str(article.pk), outcome=Outcome.SUCCESS)

    def since_save(moment: datetime | None) -> float:
        return moment.timestamp() - started if moment is not None else float("nan")

    return Run(
        enqueued=since_save(task.enqueued_at),
        picked=since_save(task.started_at),
        first_request=min(gets, default=float("nan")) - started,
        last_ping=max(posts, default=float("nan")) - started,
        recorded=since_save(task.finished_at),
        delivered=delivered.count(),
        worker_cpu=pool.cpu() - cpu,
    )


def print_runs(label: str, runs: list[Run], count: int, delay: float) -> None:
    print(
        f"\nThrough the task worker ({label}): save -> {count} peers pinged, "
        f"each answer +{delay * 1000:.0f} ms (floor {2 * delay:.2f} s)"
    )
    print(f"{'from the save until':<26}{'median':>9}{'worst':>9}{'best':>9}  each run")
    rows = [
        ("the task is queued", [r.enqueued for r in runs]),
        ("a worker starts it", [r.picked for r in runs]),
        ("first request at a peer", [r.first_request for r in runs]),
        ("LAST PEER HAS ITS PING", [r.last_ping for r in runs]),
        ("results recorded", [r.recorded for r in runs]),
        ("(worker CPU seconds)", [r.worker_cpu for r in runs]),
    ]
    for name, values in rows:
        if not values:
            continue
        each = " ".join(f"{v:.2f}" for v in values)
        print(
            f"{name:<26}{statistics.median(values):>8.2f}s{max(values):>8.2f}s"
            f"{min(values):>8.2f}s  {each}"
        )
    delivered = [r.delivered for r in runs]
    print(f"delivered per run: {min(delivered)}-{max(delivered)} of {count}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 peers, 50 ms, 3 runs")
    parser.add_argument("--peers", type=int, help="peers in this process (default 100)")
    parser.add_argument("--delay", type=float, help="seconds each answer waits (default 0.2)")
    parser.add_argument(
        "--worker-peers", type=int, help="peers of the entry sent by the worker (default 50)"
    )
    parser.add_argument("--runs", type=int, help="saves through the worker (default 10)")
    parser.add_argument(
        "--worker-args",
        help="db_worker's flags, quoted as one argument (default: those scripts/demo gives)",
    )
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL, not SQLite")
    parser.add_argument(
        "--engine",
        choices=["db", "rq"],
        default="db",
        help="task engine: django-tasks-db as the demo runs it (default), or RQ on Redis",
    )
    parser.add_argument("--skip-in-process", action="store_true")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    count = args.peers or (10 if args.quick else 100)
    delay = args.delay if args.delay is not None else (0.05 if args.quick else 0.2)
    worker_count = args.worker_peers or (10 if args.quick else 50)
    runs = args.runs or (3 if args.quick else 10)
    worker_args = (
        _workers.default_args(args.engine)
        if args.worker_args is None
        else args.worker_args.split()
    )

    if args.postgres and (missing := postgres_unavailable()):
        print(f"PostgreSQL unavailable: {missing}")
        sys.exit(0 if args.quick else 1)
    if args.engine == "rq" and (missing := _workers.redis_unavailable()):
        print(f"Redis unavailable: {missing}")
        sys.exit(0 if args.quick else 1)
    engine, name = ("postgres", PG_DATABASE) if args.postgres else ("sqlite", SQLITE_FILE)
    # Saves queue tasks for the workers: django-tasks-db rows (as in the demo), or RQ jobs.
    os.environ["BENCH_TASKS"] = args.engine
    peers = Peers(loopback_hosts(max(count, worker_count)), delay)
    peers.start()
    random.seed(args.seed)
    with bench_database(engine, name):
        from django.conf import settings
        from django.contrib.sites.models import Site
        from django.db import connection

        from backlinks_django.conf import app_settings

        Site.objects.filter(pk=1).update(domain="bench.example")
        if args.engine == "rq":
            import django_rq

            django_rq.get_connection("default").flushdb()  # the bench's own Redis database
        version = (
            connection.Database.sqlite_version if engine == "sqlite" else connection.pg_version
        )
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        backend = settings.TASKS["default"]["BACKEND"]
        print(f"Outbound fan-out on {connection.vendor} {version}; {backend}; load {load}")

        if not args.skip_in_process:
            default = app_settings.SEND_CONCURRENCY
            concurrent, cpu_c, ok_c = in_process(peers, default, "concurrent")
            sequential, cpu_s, ok_s = in_process(peers, 1, "sequential")
            one_peer = 2 * delay  # discovery + ping
            print(
                f"\nIn this process: {count} links on {count} hosts, "
                f"each answer +{delay * 1000:.0f} ms"
            )
            print(
                f"{'mode':<34}{'wall time':>12}{'delivered':>12}{'x one peer':>12}"
                f"{'CPU':>8}{'per link':>10}"
            )
            for label, seconds, cpu, ok in (
                ("sequential (1 at a time)", sequential, cpu_s, ok_s),
                (f"concurrent (SEND_CONCURRENCY={default})", concurrent, cpu_c, ok_c),
            ):
                print(
                    f"{label:<34}{seconds:>11.2f}s{ok:>12}{seconds / one_peer:>12.1f}"
                    f"{cpu:>7.2f}s{cpu / count * 1000:>8.1f}ms"
                )
            print(f"speed-up: {sequential / concurrent:.1f}x")
            # Timings are never judged, but a run that delivered nothing measured nothing.
            if ok_c != count or ok_s != count:
                raise SystemExit(f"error: {count} links, {ok_c} and {ok_s} delivered")

        results = []
        queued = Enqueued()
        with _workers.workers(1, args.engine, worker_args) as pool:
            # A first save, not counted: the worker starts (imports, connection) meanwhile.
            through_worker(peers, worker_count, 0, timeout=60, pool=pool, queued=queued)
            for run in range(1, runs + 1):
                # At a random moment of the worker's poll cycle (its interval is at most ~1 s).
                time.sleep(random.uniform(0.5, 1.5))  # noqa: S311 -- not for secrets
                results.append(
                    through_worker(peers, worker_count, run, timeout=30, pool=pool, queued=queued)
                )
            load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
            # What polling costs while the queue is empty.
            idle = 2.0 if args.quick else 20.0
            cpu = pool.cpu()
            time.sleep(idle)
            idle_cpu = (pool.cpu() - cpu) / idle
        command = "db_worker" if args.engine == "db" else "rqworker"
        label = f"{command} {' '.join(worker_args)}; load {load}"
        print_runs(label, results, worker_count, delay)
        print(f"idle worker (empty queue, {idle:.0f} s): {idle_cpu * 1000:.1f} ms CPU per second")
        if any(r.delivered != worker_count for r in results):
            raise SystemExit("error: a run through the worker did not deliver every link")
    # The peers' thread is a daemon: it ends with the process.


if __name__ == "__main__":
    main()
