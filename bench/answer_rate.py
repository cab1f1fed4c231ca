"""Pings answered per second: gunicorn, PostgreSQL and Redis on this machine, loaded by wrk.

Issue #11 asks for at least 300 pings answered a second on two cores. bench/inbound.py's
clients are Python threads in one process, which cost the cores more than the answers do at
that rate; here the load comes from wrk (Debian's package ``wrk``, C), with
bench/answer_rate.lua making every request a distinct ping: 100 senders (X-Bench-Client-Addr,
bench/wsgi.py), sources on 100 domains, targets the 50 articles of the bench app.

Every ping is queued, as under a flood (``RECEIVE_BUDGET`` 0, the app's default rate limits and
queue caps); no task worker runs, so the answers alone are measured. Rate limits, tallies and
verifier slots are in Redis (``BENCH_REDIS_URL``, ``scripts/start-redis``), the queue and tasks
in PostgreSQL (django-tasks-db). Rows, for Webmention and Pingback each, with PostgreSQL
reached as Django does by default (parameters bound in the client: the server parses and plans
every statement) and as docs/deployment.md recommends (``server_side_binding`` and
``prepare_threshold``: statements prepared once per connection).

Columns: answers a second, median and 99th percentile latency, CPU of the web workers and of
PostgreSQL per answer (from /proc), and the rows stored against the answers wrk counted (every
answer a row, no ping lost or stored twice; up to one more per connection: the requests in
flight when wrk stops are answered to nobody).

Then the queue is drained: with PostgreSQL prepared, pings are answered for a while more (their
sources, about 6 KB of blog HTML linking to the target, served by bench/inbound.py's source
server on 127.0.0.2), and ``--task-workers`` db_worker processes (bench/worker.py) verify and
store them all: pings verified and stored a second from the workers' start until no row waits,
and the CPU of the workers, PostgreSQL and the source server per ping. Every row must end
accepted, with its backlink.

    python bench/answer_rate.py              # 4 workers, 8 connections, 15 s a row
    python bench/answer_rate.py --quick      # 2 workers, 2 s a row
    python bench/answer_rate.py --drain-only # only the queue filled for 15 s and drained
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from _setup import bench_database, postgres_unavailable
from inbound import (
    APP_HOST,
    DEFAULT_RATES,
    GUNICORN,
    SENDERS_DOMAIN,
    SOURCE_HOST,
    Meter,
    clear_queue,
    cpu_seconds,
    free_port,
    gunicorn,
    process_cpu_seconds,
    serve_articles,
    start_sources,
    task_workers,
    use_cache,
)

HERE = Path(__file__).resolve().parent
# What docs/deployment.md recommends for PostgreSQL.
PREPARED = {"server_side_binding": True, "prepare_threshold": 5}
BINDINGS = {"client-side (Django's default)": {}, "prepared (deployment.md)": PREPARED}
KINDS = ("webmention", "pingback")


@dataclass
class Row:
    label: str
    answers: int
    seconds: float
    median: str
    p99: str
    refused: int
    web_ms: float
    db_ms: float
    stored: int


def run_wrk(
    port: int, kind: str, seconds: int, connections: int, source_port: int
) -> tuple[int, float, str, str, int]:
    """wrk's answers, seconds, median and p99 latency, and non-2xx answers plus socket errors."""
    env = {
        **os.environ,
        "BENCH_KIND": kind,
        "BENCH_TARGET": f"http://{APP_HOST}:{port}/articles/article-",
        "BENCH_SOURCE_PORT": str(source_port),
    }
    command = [
        "wrk",
        "--threads",
        "2",
        "--connections",
        str(connections),
        "--duration",
        f"{seconds}s",
        "--latency",
        "--script",
        str(HERE / "answer_rate.lua"),
        f"http://{APP_HOST}:{port}/",
    ]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout  # noqa: S603
    found = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    if found is None:
        raise SystemExit(f"answer_rate.py: cannot read wrk's output:\n{out}")
    answers, elapsed = int(found[1]), float(found[2]) / (1000 if found[3] == "ms" else 1)
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.MULTILINE))
    refused = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    refused += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return answers, elapsed, latency.get("50", "?"), latency.get("99", "?"), refused


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 workers, 2 s a row")
    parser.add_argument("--workers", type=int, help="gunicorn sync workers (default 4)")
    parser.add_argument("--connections", type=int, help="wrk's connections (default 8)")
    parser.add_argument("--seconds", type=int, help="seconds of load a row (default 15)")
    parser.add_argument(
        "--task-workers", type=int, help="db_worker processes draining the queue (default 2)"
    )
    parser.add_argument(
        "--drain-only",
        action="store_true",
        help="only fill the queue (PostgreSQL prepared) and drain it: no rows of answers",
    )
    args = parser.parse_args()
    workers = args.workers or (2 if args.quick else 4)
    connections = args.connections or 2 * workers
    seconds = args.seconds or (2 if args.quick else 15)
    task_count = args.task_workers or 2

    missing = (
        ("wrk is not installed (apt-get install wrk)" if shutil.which("wrk") is None else None)
        or (
            f"gunicorn is not installed (pip install {GUNICORN})"
            if importlib.util.find_spec("gunicorn") is None
            else None
        )
        or (
            "django-tasks-db is not installed"
            if importlib.util.find_spec("django_tasks_db") is None
            else None
        )
        or postgres_unavailable()
    )
    if missing:
        print(f"answer_rate.py: skipped, {missing}")
        sys.exit(0 if args.quick else 1)
    if not use_cache("redis", "answer_rate.py"):
        sys.exit(0 if args.quick else 1)
    os.environ["BENCH_TASKS"] = "db"
    os.environ["BENCH_HOSTS"] = f"{SENDERS_DOMAIN}={SOURCE_HOST}"
    name = "backlinks_bench_answer_rate"
    port = free_port(APP_HOST)
    # Forked before Django opens anything.
    sources, source_port = start_sources(f"http://{APP_HOST}:{port}")
    meter = Meter(port, name)
    rows: list[Row] = []
    drain: Drain | None = None
    with bench_database("postgres", name):
        import django
        from django.db import connection

        from backlinks_django.models import InboundPing

        serve_articles(port)
        connection.close()
        queue_all = json.dumps({**DEFAULT_RATES, "RECEIVE_BUDGET": 0})
        bindings = {"prepared": PREPARED} if args.drain_only else BINDINGS
        for binding, options in bindings.items():
            env = {"BENCH_BACKLINKS": queue_all, "BENCH_PG_OPTIONS": json.dumps(options)}
            with gunicorn(port, workers, env):
                for kind in () if args.drain_only else KINDS:
                    clear_queue()
                    run_wrk(port, kind, 1, connections, source_port)  # warm-up
                    clear_queue()
                    web, (_app, db) = meter.web(), meter.read()
                    answers, elapsed, median, p99, refused = run_wrk(
                        port, kind, seconds, connections, source_port
                    )
                    web_after, (_app, db_after) = meter.web(), meter.read()
                    stored = InboundPing.objects.filter(kind=kind).count()
                    connection.close()
                    rows.append(
                        Row(
                            f"{kind}, {binding}",
                            answers,
                            elapsed,
                            median,
                            p99,
                            refused,
                            1000 * (web_after - web) / max(answers, 1),
                            1000 * (db_after - db) / max(answers, 1),
                            stored,
                        )
                    )
                if options is PREPARED:
                    clear_queue()
                    run_wrk(port, "webmention", seconds, connections, source_port)
                    drain = drain_queue(meter, task_count, env, sources.pid or 0)
        clear_queue()
    sources.terminate()

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"Pings answered (queued), gunicorn {workers} sync workers, wrk {connections} "
        f"connections, {seconds} s a row; PostgreSQL, Redis; Python {sys.version.split()[0]}, "
        f"Django {django.get_version()}; {os.cpu_count()} CPUs, load {load}"
    )
    print(
        f"{'ping, PostgreSQL binding':<44}{'answers/s':>10}{'median':>10}{'p99':>10}"
        f"{'web ms':>8}{'db ms':>7}{'refused':>9}{'stored/answers':>16}"
    )
    for row in rows:
        print(
            f"{row.label:<44}{row.answers / row.seconds:>10.1f}{row.median:>10}{row.p99:>10}"
            f"{row.web_ms:>8.2f}{row.db_ms:>7.2f}{row.refused:>9}"
            f"{f'{row.stored}/{row.answers}':>16}"
        )

    if drain is not None:
        print(
            f"\nQueue drained by {task_count} db_worker processes (PostgreSQL prepared): "
            f"{drain.rows} Webmentions verified and stored in {drain.seconds:.1f} s, "
            f"{drain.rows / drain.seconds:.1f} a second; CPU per ping: workers "
            f"{drain.workers_ms:.1f} ms, PostgreSQL {drain.db_ms:.1f} ms, source server "
            f"{drain.sources_ms:.1f} ms; rows ended: {drain.ended}; backlinks stored: "
            f"{drain.backlinks}"
        )
        print(
            f"From the first row verified to the last: {drain.steady_rows} in "
            f"{drain.steady_seconds:.1f} s, {drain.steady_rows / drain.steady_seconds:.1f} a "
            f"second; workers' CPU per ping {drain.steady_workers_ms:.1f} ms"
        )


@dataclass
class Drain:
    rows: int
    seconds: float
    workers_ms: float
    db_ms: float
    sources_ms: float
    ended: dict[str, int]
    backlinks: int
    # From the first row verified to the last: the workers running, their start left out.
    steady_rows: int
    steady_seconds: float
    steady_workers_ms: float


def drain_queue(meter: Meter, count: int, env: dict[str, str], source_pid: int) -> Drain:
    """Start ``count`` task workers and wait until no queued row waits.

    Measured twice: from the workers' start (which includes their Django set-up, about a
    second of CPU each), and from the first row verified to the last, as running workers
    verify (the rows' end times in the database; the workers' CPU from when the first row
    was seen verified, polled every 20 ms).
    """
    from django.db import connection
    from django.db.models import Count, Max, Min

    from backlinks_django import tasks
    from backlinks_django.models import Backlink, InboundPing

    rows = InboundPing.objects.count()
    for _ in range(count):  # one wake for each worker: every slot of the burst was taken
        tasks.enqueue_verification()
    workers = str(Path(__file__).resolve().parent / "worker.py")
    before = (cpu_seconds(workers), meter.read()[1], process_cpu_seconds(source_pid))
    started = time.perf_counter()
    first_cpu = None
    ended = InboundPing.objects.exclude(
        state__in=[InboundPing.State.QUEUED, InboundPing.State.VERIFYING]
    )
    with task_workers(count, env):
        while first_cpu is None:
            if ended.exists():
                first_cpu = cpu_seconds(workers)
            else:
                time.sleep(0.02)
        while InboundPing.objects.waiting().exists():
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        after = (cpu_seconds(workers), meter.read()[1], process_cpu_seconds(source_pid))
    states = dict(InboundPing.objects.values_list("state").annotate(n=Count("pk")))
    backlinks = Backlink.objects.count()
    span = ended.aggregate(first=Min("updated_at"), last=Max("updated_at"))
    steady_seconds = (span["last"] - span["first"]).total_seconds()
    connection.close()
    spent = [1000 * (b - a) / max(rows, 1) for a, b in zip(before, after, strict=True)]
    steady_rows = rows - 1  # the first row's end starts the clock
    steady_ms = 1000 * (after[0] - first_cpu) / max(steady_rows, 1)
    return Drain(
        rows,
        seconds,
        spent[0],
        spent[1],
        spent[2],
        states,
        backlinks,
        steady_rows,
        steady_seconds,
        steady_ms,
    )


if __name__ == "__main__":
    main()
