"""Inbound pingbacks: pingback.ping throughput, verified in the request or queued, and refusals.

The app (tests.testapp's Article at /articles/<slug>/, bench/settings.py) is served by
gunicorn (``pip install gunicorn==27.0.1``; sync workers, ``bench.wsgi:application``) on
127.0.0.1, with a fresh SQLite file under /tmp (WAL, IMMEDIATE transactions) or, with
``--postgres``, a PostgreSQL database of its own; both are created, migrated and dropped here.
Site 1's domain is the served host:port, so targets resolve. Source pages (about 6 KB of
blog HTML that links to the target) come from a threaded HTTP server on 127.0.0.2 in a
separate process. Every ping is a distinct (source, target) pair, sent over a new connection
by Python client threads in this process (a new connection is what pingback clients do).
Queued pings are tasks of django-tasks-db in the same database, run by ``db_worker``
processes (bench/worker.py); rate limits count in a DatabaseCache shared by every process, or
with ``--cache redis`` in Django's RedisCache on ``BENCH_REDIS_URL`` (the production settings of
docs/deployment.md; ``scripts/start-redis``), emptied first.

Rows:

- verified in the request, several clients at once: throughput (rate limits off); one client:
  the latency of a ping that fetches, verifies and stores;
- refused, blocked domain: a BlockedDomain row for the source's parent domain (fault 49,
  answered before anything is fetched);
- answered, queued (``RECEIVE_BUDGET`` 0) with no task worker running and the app's default
  rate limits (60 a minute per sender and per source domain, not reached): what answering
  alone costs, the web workers' and the database's CPU per ping;
- queued (``RECEIVE_BUDGET`` 0), with ``--task-workers`` db_worker processes verifying
  meanwhile: pings answered per second, and below the table the rate at which they were
  verified and stored (from the first ping sent until the queue was empty). The pings come from
  100 senders (X-Bench-Client-Addr, see bench/wsgi.py) with sources on 100 domains
  (blog<n>.example, resolved to 127.0.0.2 by bench/_loopback.py), since the queue serves each
  sender and each domain at most ``INBOUND_CONCURRENCY`` at a time;
- queued, over the rate: RATE_LIMIT_PER_IP = 1 an hour; no worker runs, rows stay queued;
- refused, queue share full: the same with INBOUND_QUEUE_PER_SENDER = 1 (fault 49).

Everything shares the machine's cores: the workers, the source server and the clients.

    python bench/inbound.py               # 4 workers, 8 clients, 2,000 pings; SQLite
    python bench/inbound.py --postgres    # the same on PostgreSQL
    python bench/inbound.py --quick       # 2 workers, 4 clients, 100 pings
    python bench/inbound.py --postgres --cache redis   # rate limits and slots in Redis
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import xmlrpc.client
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection

from _setup import ROOT, bench_database, postgres_unavailable

GUNICORN = "gunicorn==27.0.1"
APP_HOST = "127.0.0.1"
SOURCE_HOST = "127.0.0.2"
ARTICLES = 50
BLOCKED = "blocked.example"
# Sources of the queued run: blog<n>.example, each its own registrable domain, all on SOURCE_HOST.
SENDERS_DOMAIN = "example"
SENDERS = 100


# --- Source pages (separate process) ------------------------------------------------------------


def source_page(n: int, target: str) -> bytes:
    paragraphs = "".join(
        f"<p>Paragraph {i} of post {n}: some prose with <em>emphasis</em> and "
        f'<a href="https://other{i}.example.net/{n}/">a link elsewhere</a>, as blogs do, '
        f"followed by a few more words to give it the length of a paragraph.</p>\n"
        for i in range(24)
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Source post {n}</title>"
        f"<link rel='stylesheet' href='/style.css'></head><body><header><a href='/'>A blog</a>"
        f"</header><article><h1>Source post {n}</h1>{paragraphs}"
        f'<p>As <a href="{target}">this article</a> says, pings are worth verifying.</p>'
        f"</article><footer><a href='/about/'>About</a></footer></body></html>"
    ).encode()


def serve_sources(
    app_base: str,
    ready: Connection,
    host: str = SOURCE_HOST,
    page: Callable[[int, str], bytes] | None = None,
    drip: float = 0.0,
) -> None:
    """Serve /post/<n>/<slug>/ (a page linking to the article <slug>) on ``host``, and /hits:
    the times (``time.time()``, one a line) of every /post/ request so far.

    ``page`` makes the body (default :func:`source_page`); ``drip`` > 0 sends it one byte
    every ``drip`` seconds, without a length (a slow-drip source).
    """
    hits: list[float] = []
    make = page or source_page

    class Source(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/hits":
                self._send("\n".join(f"{t:.6f}" for t in hits).encode(), "text/plain")
                return
            # /post/<n>/<slug>/ links to the article <slug>.
            parts = self.path.strip("/").split("/")
            if len(parts) != 3 or parts[0] != "post":
                self.send_error(404)
                return
            hits.append(time.time())
            body = make(int(parts[1]), f"{app_base}/articles/{parts[2]}/")
            if drip <= 0:
                self._send(body, "text/html; charset=utf-8")
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                for i in range(len(body)):
                    self.wfile.write(body[i : i + 1])
                    self.wfile.flush()
                    time.sleep(drip)
            except OSError:
                pass  # the reader gave up, as it should
            self.close_connection = True

        def _send(self, body: bytes, content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            pass  # a client that hung up (the fetcher cutting a slow drip off)

    server = Server((host, 0), Source)
    ready.send(server.server_address[1])
    server.serve_forever()


def start_sources(
    app_base: str,
    host: str = SOURCE_HOST,
    page: Callable[[int, str], bytes] | None = None,
    drip: float = 0.0,
) -> tuple[multiprocessing.Process, int]:
    """:func:`serve_sources` in a forked process (before Django opens anything); its port."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=serve_sources, args=(app_base, sender, host, page, drip), daemon=True
    )
    process.start()
    return process, int(receiver.recv())


def source_hits(host: str, port: int) -> list[float]:
    """The times of the requests a source server answered (its /hits)."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request("GET", "/hits")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    return [float(line) for line in text.split()]


# --- The served app ------------------------------------------------------------------------------


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn(
    port: int, workers: int, extra_env: dict[str, str], niceness: int = 0
) -> Iterator[None]:
    """gunicorn serving the bench app on ``port``; ``niceness`` lowers its CPU priority."""
    log = tempfile.NamedTemporaryFile("w+", prefix="bench-gunicorn-", suffix=".log")
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--bind",
        f"{APP_HOST}:{port}",
        "--chdir",
        str(ROOT),
        "--timeout",
        "120",
        "--graceful-timeout",
        "5",
        "--log-level",
        "warning",
        "bench.wsgi:application",
    ]
    process = subprocess.Popen(  # noqa: S603 -- our own interpreter and arguments
        command,
        env={**os.environ, **extra_env},
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=(lambda: os.nice(niceness)) if niceness else None,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection(APP_HOST, port, timeout=5)
                conn.request("GET", "/articles/")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise SystemExit(f"inbound.py: gunicorn did not start:\n{log.read()[-3000:]}")
            time.sleep(0.1)
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.seek(0)
        errors = [line for line in log if "Traceback" in line or "ERROR" in line]
        if errors:
            print(f"gunicorn logged {len(errors)} errors, e.g.: {errors[0].strip()}")
        log.close()


def _lower_priority() -> None:
    niceness = int(os.environ.get("BENCH_WORKER_NICE", "0"))
    if niceness:
        os.nice(niceness)


@contextmanager
def task_workers(count: int, extra_env: dict[str, str]) -> Iterator[None]:
    """``count`` db_worker processes (bench/worker.py) on the bench database's task queue."""
    processes = []
    logs = []
    for n in range(count):
        log = tempfile.NamedTemporaryFile("w+", prefix="bench-worker-", suffix=".log")
        command = [
            sys.executable,
            str(ROOT / "bench" / "worker.py"),
            *("--no-reload", "--no-startup-delay", "--interval", "0.1"),
            *("--worker-id", f"bench-worker-{n}"),
        ]
        processes.append(
            subprocess.Popen(  # noqa: S603 -- our own interpreter and script
                command,
                env={**os.environ, **extra_env},
                stdout=log,
                stderr=subprocess.STDOUT,
                # BENCH_WORKER_NICE=10: task workers below the web workers' CPU priority, as a
                # site running both on one machine would set them.
                preexec_fn=_lower_priority,
            )
        )
        logs.append(log)
    try:
        yield
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        errors = []
        for log in logs:
            log.seek(0)
            errors += [line for line in log if "Traceback" in line or "ERROR" in line]
            log.close()
        if errors:
            print(f"task workers logged {len(errors)} errors, e.g.: {errors[0].strip()}")


# --- Client --------------------------------------------------------------------------------------


@dataclass
class Phase:
    label: str
    clients: int
    answers: Counter[str]
    latencies: list[float]
    seconds: float
    # CPU seconds the app's processes (gunicorn and task workers) and the database used.
    app_cpu: float = 0.0
    db_cpu: float = 0.0
    # Of app_cpu, the web workers' (gunicorn's).
    web_cpu: float = 0.0


def cpu_seconds(*markers: str) -> float:
    """CPU seconds (user + system) used so far by the live processes whose command line
    contains every one of ``markers`` (read from /proc; 0 where there is no /proc)."""
    total = 0.0
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as file:
                command = file.read().replace(b"\0", b" ").decode(errors="replace")
            if all(marker in command for marker in markers):
                total += process_cpu_seconds(int(entry))
        except OSError:
            continue
    return total


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far (OSError if it is gone)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick  # utime, stime


class Meter:
    """CPU used by the served app, the bench's task workers and the bench database's backends."""

    def __init__(self, port: int, database: str) -> None:
        self.port = port
        self.database = database

    def read(self) -> tuple[float, float]:
        app = self.web() + cpu_seconds(str(ROOT / "bench" / "worker.py"))
        return app, cpu_seconds("postgres: ", f" {self.database} ")

    def web(self) -> float:
        """CPU seconds of the gunicorn processes alone."""
        return cpu_seconds("gunicorn", f"{APP_HOST}:{self.port}")


def ping(port: int, source: str, target: str, client_addr: str | None = None) -> tuple[float, str]:
    """Send one pingback.ping; its latency and a word for the answer: "registered" (verified and
    stored), "queued", "fault 49 (...)", ... ``client_addr`` is sent as X-Bench-Client-Addr."""
    body = xmlrpc.client.dumps((source, target), "pingback.ping").encode()
    headers = {"Content-Type": "text/xml"}
    if client_addr:
        headers["X-Bench-Client-Addr"] = client_addr
    started = time.perf_counter()
    conn = http.client.HTTPConnection(APP_HOST, port, timeout=120)
    try:
        conn.request("POST", "/backlinks/xmlrpc/", body, headers)
        response = conn.getresponse()
        data = response.read()
    except OSError as exc:
        return time.perf_counter() - started, f"error {type(exc).__name__}"
    finally:
        conn.close()
    elapsed = time.perf_counter() - started
    if response.status != 200:
        return elapsed, f"HTTP {response.status}"
    try:
        (answer,), _method = xmlrpc.client.loads(data)
    except xmlrpc.client.Fault as fault:
        if fault.faultCode == 49:
            why = "rate limited" if "Too many" in fault.faultString else "blocked"
            return elapsed, f"fault 49 ({why})"
        return elapsed, f"fault {fault.faultCode}"
    return elapsed, "queued" if "queued" in str(answer) else "registered"


class Pings:
    """Distinct (source, target) pairs: post n of the source blog links to article n % 50."""

    def __init__(self, app_port: int, source_port: int) -> None:
        self.app = f"http://{APP_HOST}:{app_port}"
        self.source = f"http://{SOURCE_HOST}:{source_port}"
        self._next = 0
        self._lock = threading.Lock()

    def number(self) -> int:
        with self._lock:
            n = self._next
            self._next += 1
        return n

    def pair(self, source_host: str | None = None, n: int | None = None) -> tuple[str, str]:
        n = self.number() if n is None else n
        slug = f"article-{n % ARTICLES}"
        source = f"{self.source}/post/{n}/{slug}/"
        if source_host is not None:
            source = f"http://{source_host}/post/{n}/{slug}/"
        return source, f"{self.app}/articles/{slug}/"


def run_phase(
    label: str,
    port: int,
    pings: Pings,
    count: int,
    clients: int,
    source_host: str | None = None,
    senders: int = 0,
    meter: Meter | None = None,
) -> Phase:
    """``count`` pings from ``clients`` threads. With ``senders``, ping n comes from the address
    10.0.0.(n % senders) and its source is on blog(n % senders).example (resolved to
    SOURCE_HOST by bench/_loopback.py): as many senders and source domains."""

    def one(_index: int) -> tuple[float, str]:
        n = pings.number()
        if not senders:
            return ping(port, *pings.pair(source_host, n))
        host = f"blog{n % senders}.{SENDERS_DOMAIN}:{pings.source.rsplit(':', 1)[1]}"
        return ping(port, *pings.pair(host, n), f"10.0.{n % senders // 256}.{n % senders % 256}")

    app_before, db_before = meter.read() if meter else (0.0, 0.0)
    web_before = meter.web() if meter else 0.0
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(one, range(count)))
    seconds = time.perf_counter() - started
    app_after, db_after = meter.read() if meter else (0.0, 0.0)
    return Phase(
        label,
        clients,
        Counter(a for _, a in results),
        [t for t, _ in results],
        seconds,
        app_after - app_before,
        db_after - db_before,
        (meter.web() if meter else 0.0) - web_before,
    )


def wait_verified(timeout: float) -> float | None:
    """Wait until no InboundPing waits; the time.perf_counter() it was seen empty, or None."""
    from django.db import connection

    from backlinks_django.models import InboundPing

    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if not InboundPing.objects.waiting().exists():
            connection.close()
            return time.perf_counter()
        time.sleep(0.05)
    connection.close()
    return None


def print_phases(phases: list[Phase]) -> None:
    print(
        f"{'phase':<44}{'clients':>8}{'pings':>7}{'pings/s':>9}{'median':>10}{'p95':>10}"
        f"{'CPU app+db':>16}{'(web)':>8}  answers"
    )
    for phase in phases:
        p95 = statistics.quantiles(phase.latencies, n=20)[-1]
        answers = ", ".join(f"{n} {a}" for a, n in phase.answers.most_common())
        print(
            f"{phase.label:<44}{phase.clients:>8}{len(phase.latencies):>7}"
            f"{len(phase.latencies) / phase.seconds:>9.1f}"
            f"{statistics.median(phase.latencies) * 1000:>8.1f}ms{p95 * 1000:>8.1f}ms"
            f"{phase.app_cpu / len(phase.latencies) * 1000:>7.1f}+"
            f"{phase.db_cpu / len(phase.latencies) * 1000:.1f}ms"
            f"{phase.web_cpu / len(phase.latencies) * 1000:>7.1f}ms  {answers}"
        )


# --- Cache ---------------------------------------------------------------------------------------

# The app's default rates (backlinks_django.defaults), for runs that measure them.
DEFAULT_RATES = {"RATE_LIMIT_PER_IP": [60, 60.0], "RATE_LIMIT_PER_SOURCE_DOMAIN": [60, 60.0]}


def add_cache_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cache",
        choices=["db", "redis"],
        default="db",
        help="where rate limits, slots and tallies are kept: the bench database's cache "
        "(default) or Django's RedisCache on BENCH_REDIS_URL (emptied first)",
    )


def use_cache(cache: str, script: str) -> bool:
    """Point bench.settings at ``cache`` ("db" or "redis"); False (and why, printed) if Redis
    is wanted and does not answer."""
    if cache == "redis":
        from _workers import redis_unavailable

        if missing := redis_unavailable():
            print(f"{script} --cache redis: skipped, {missing}")
            return False
    os.environ["BENCH_CACHE"] = cache
    return True


def cache_label(cache: str) -> str:
    if cache == "redis":
        return f"RedisCache {os.environ.get('BENCH_REDIS_URL', 'redis://127.0.0.1:6390/13')}"
    return "DatabaseCache (atomic increments, bench/_cache.py)"


def serve_articles(app_port: int) -> None:
    """Site 1 is the served host:port, with the :data:`ARTICLES` published articles that pings
    target (/articles/article-<n>/)."""
    from django.contrib.sites.models import Site
    from django.utils import timezone

    from tests.testapp.models import Article

    Site.objects.filter(pk=1).update(domain=f"{APP_HOST}:{app_port}", name="bench")
    published = timezone.now() - timezone.timedelta(days=1)
    Article.objects.bulk_create(
        Article(title=f"Article {i}", slug=f"article-{i}", body="", published_at=published)
        for i in range(ARTICLES)
    )


def clear_cache() -> None:
    """Empty the bench's cache: its rate counters, slots and tallies (a Redis database is
    emptied whole: BENCH_REDIS_URL must be the benchmark's own)."""
    from django.core.cache import cache

    cache.clear()


def clear_queue() -> None:
    """Delete every queue row and task, and empty the cache: the next run starts afresh.

    On PostgreSQL the tables are truncated: thousands of rows deleted at once would leave
    their index entries to every claim of the next run until a vacuum came (up to twice the
    database's CPU per verified ping, seen here), which a site's queue, emptied row by row as
    it is verified, does not meet.
    """
    from django.db import connection
    from django_tasks_db.models import DBTaskResult

    from backlinks_django.models import InboundPing

    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        tables = ", ".join(quote(model._meta.db_table) for model in (InboundPing, DBTaskResult))
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {tables}")
    else:
        InboundPing.objects.all().delete()
        DBTaskResult.objects.all().delete()
    clear_cache()
    connection.close()


# --- Main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 workers, 4 clients, 100 pings")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--workers", type=int, help="gunicorn sync workers (default 4)")
    parser.add_argument("--clients", type=int, help="concurrent clients (default 2 x workers)")
    parser.add_argument("--pings", type=int, help="pings in the throughput runs (default 2,000)")
    parser.add_argument("--latency-pings", type=int, help="pings per latency row (default 300)")
    parser.add_argument(
        "--task-workers", type=int, help="db_worker processes verifying the queue (default 4)"
    )
    add_cache_option(parser)
    args = parser.parse_args()
    workers = args.workers or (2 if args.quick else 4)
    clients = args.clients or 2 * workers
    count = args.pings or (100 if args.quick else 2000)
    latency_count = args.latency_pings or (30 if args.quick else 300)
    task_count = args.task_workers or (2 if args.quick else 4)

    if importlib.util.find_spec("gunicorn") is None:
        print(f"inbound.py: skipped, gunicorn is not installed (pip install {GUNICORN})")
        sys.exit(0 if args.quick else 1)
    if importlib.util.find_spec("django_tasks_db") is None:
        print("inbound.py: skipped, django-tasks-db is not installed")
        sys.exit(0 if args.quick else 1)
    if args.postgres:
        reason = postgres_unavailable()
        if reason:
            print(f"inbound.py --postgres: skipped, {reason}")
            sys.exit(0 if args.quick else 1)
        engine, name = "postgres", "backlinks_bench_inbound"
        database = f"PostgreSQL database {name}"
    else:
        engine, name = "sqlite", os.path.join(tempfile.gettempdir(), "backlinks_bench_inbound.db")
        database = f"SQLite file {name}"
    if not use_cache(args.cache, "inbound.py"):
        sys.exit(0 if args.quick else 1)
    # Queued pings are tasks in the bench database, run by db_worker processes.
    os.environ["BENCH_TASKS"] = "db"
    os.environ["BENCH_HOSTS"] = f"{SENDERS_DOMAIN}={SOURCE_HOST}"

    app_port = free_port(APP_HOST)
    # Fork the source server before Django opens anything.
    sources, source_port = start_sources(f"http://{APP_HOST}:{app_port}")
    pings = Pings(app_port, source_port)
    phases: list[Phase] = []
    drained: tuple[int, float | None] = (0, None)
    drained_cpu: tuple[float, ...] = (0.0, 0.0)
    meter = Meter(app_port, name)

    try:
        with bench_database(engine, name):
            import django
            import gunicorn as gunicorn_package
            from django.db import connection

            from backlinks_django.models import Backlink, BlockedDomain

            serve_articles(app_port)
            BlockedDomain.objects.create(domain=BLOCKED)
            connection.close()
            clear_cache()

            with gunicorn(app_port, workers, {}):
                run_phase("warm-up", app_port, pings, 4 * workers, clients)
                phases.append(
                    run_phase(
                        "verified in the request, stored",
                        app_port,
                        pings,
                        count,
                        clients,
                        meter=meter,
                    )
                )
                phases.append(
                    run_phase(
                        "verified in the request, stored",
                        app_port,
                        pings,
                        latency_count,
                        1,
                        meter=meter,
                    )
                )
                phases.append(
                    run_phase(
                        "refused: blocked source domain",
                        app_port,
                        pings,
                        latency_count,
                        1,
                        source_host=f"www.{BLOCKED}",
                        meter=meter,
                    )
                )
            answer_only = {"BENCH_BACKLINKS": json.dumps({**DEFAULT_RATES, "RECEIVE_BUDGET": 0})}
            with gunicorn(app_port, workers, answer_only):
                run_phase("warm-up", app_port, pings, 4 * workers, clients, senders=SENDERS)
                phases.append(
                    run_phase(
                        f"answered, queued, no task worker, {SENDERS} senders",
                        app_port,
                        pings,
                        count,
                        clients,
                        senders=SENDERS,
                        meter=meter,
                    )
                )
            clear_queue()
            queue_all = {"BENCH_BACKLINKS": json.dumps({"RECEIVE_BUDGET": 0})}
            with gunicorn(app_port, workers, queue_all), task_workers(task_count, queue_all):
                run_phase("warm-up", app_port, pings, 4 * workers, clients, senders=SENDERS)
                wait_verified(120)
                cpu_before = meter.read()
                started = time.perf_counter()
                queued = run_phase(
                    f"queued (RECEIVE_BUDGET 0), {SENDERS} senders",
                    app_port,
                    pings,
                    count,
                    clients,
                    senders=SENDERS,
                    meter=meter,
                )
                phases.append(queued)
                done = wait_verified(600)
                drained = (queued.answers["queued"], None if done is None else done - started)
                drained_cpu = tuple(
                    after - before for after, before in zip(meter.read(), cpu_before, strict=True)
                )
            rate_limited = {"BENCH_RATE_LIMIT_PER_IP": "1/3600"}
            with gunicorn(app_port, workers, rate_limited):
                # The cache is shared: one ping spends the hour's allowance of 127.0.0.1.
                run_phase("warm-up", app_port, pings, 2, 1)
                phases.append(
                    run_phase(
                        "queued: over the rate (1/h per IP)",
                        app_port,
                        pings,
                        latency_count,
                        1,
                        meter=meter,
                    )
                )
            queue_full = {
                **rate_limited,
                "BENCH_BACKLINKS": json.dumps({"INBOUND_QUEUE_PER_SENDER": 1}),
            }
            with gunicorn(app_port, workers, queue_full):
                phases.append(
                    run_phase(
                        "refused: sender's queue share full",
                        app_port,
                        pings,
                        latency_count,
                        1,
                        meter=meter,
                    )
                )
            stored = Backlink.objects.count()
            statuses = Counter(Backlink.objects.values_list("status", flat=True))
            connection.close()
    finally:
        sources.terminate()
        sources.join()

    print(
        f"Inbound pingback.ping: gunicorn {gunicorn_package.__version__}, {workers} sync workers; "
        f"{database}; cache: {cache_label(args.cache)}; Python {sys.version.split()[0]}, "
        f"Django {django.get_version()}; load {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(
        f"source pages ({len(source_page(0, pings.app)) / 1000:.1f} KB) from {SOURCE_HOST} in "
        f"another process; {os.cpu_count()} cores shared by server, sources, task workers and "
        f"clients; rate limits off except where a row says; CPU app+db: CPU time per ping of "
        f"the gunicorn and task workers, and of the database's server processes (PostgreSQL); "
        f"(web): of the gunicorn workers alone"
    )
    print_phases(phases)
    queued_count, seconds = drained
    if seconds is None:
        print(f"queued run: {queued_count} queued pings not all verified within 600 s")
    else:
        print(
            f"queued run: {queued_count} queued pings verified and stored by {task_count} "
            f"db_worker processes {seconds:.1f} s after the first was sent: "
            f"{queued_count / seconds:.1f}/s; CPU from the first ping until then, per ping: "
            f"app {drained_cpu[0] / queued_count * 1000:.1f} ms + database "
            f"{drained_cpu[1] / queued_count * 1000:.1f} ms"
        )
    registered = sum(p.answers["registered"] for p in phases)
    print(
        f"stored: {stored} backlinks ({', '.join(f'{n} {s}' for s, n in statuses.items())}); "
        f"{registered} registered answers above, the rest queued or from warm-ups"
    )


if __name__ == "__main__":
    main()
