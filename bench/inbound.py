"""Inbound pingbacks: pingback.ping throughput with verification, and the latency of refusals.

The app (tests.testapp's Article at /articles/<slug>/, bench/settings.py) is served by
gunicorn (``pip install gunicorn==27.0.1``; sync workers, ``bench.wsgi:application``) on
127.0.0.1, with a fresh SQLite file under /tmp (WAL, IMMEDIATE transactions) or, with
``--postgres``, a PostgreSQL database of its own; both are created, migrated and dropped here.
Site 1's domain is the served host:port, so targets resolve. Source pages (about 6 KB of
blog HTML that links to the target) come from a threaded HTTP server on 127.0.0.2 in a
separate process. Every ping is a distinct (source, target) pair, sent over a new connection
by Python client threads in this process (a new connection is what pingback clients do).

Rows:

- accepted, several clients at once: throughput (rate limits off, ``RATE_LIMIT_* None``);
- accepted, one client: the latency of a ping that fetches, verifies and stores;
- rejected, blocked domain: a BlockedDomain row for the source's parent domain (fault 49,
  answered before anything is fetched);
- rejected, rate limited: the server restarted with RATE_LIMIT_PER_IP = 1 an hour, after a
  warm-up that spends every worker's allowance (locmem cache: limits are per worker).

Everything shares the machine's cores: the workers, the source server and the clients.

    python bench/inbound.py               # 4 workers, 8 clients, 2,000 pings; SQLite
    python bench/inbound.py --postgres    # the same on PostgreSQL
    python bench/inbound.py --quick       # 2 workers, 4 clients, 100 pings
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
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
from collections.abc import Iterator
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


def serve_sources(app_base: str, ready: Connection) -> None:
    class Source(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            # /post/<n>/<slug>/ links to the article <slug>.
            parts = self.path.strip("/").split("/")
            if len(parts) != 3 or parts[0] != "post":
                self.send_error(404)
                return
            body = source_page(int(parts[1]), f"{app_base}/articles/{parts[2]}/")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer((SOURCE_HOST, 0), Source)
    server.daemon_threads = True
    ready.send(server.server_address[1])
    server.serve_forever()


# --- The served app ------------------------------------------------------------------------------


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn(port: int, workers: int, extra_env: dict[str, str]) -> Iterator[None]:
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
        command, env={**os.environ, **extra_env}, stdout=log, stderr=subprocess.STDOUT
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


# --- Client --------------------------------------------------------------------------------------


@dataclass
class Phase:
    label: str
    clients: int
    answers: Counter[str]
    latencies: list[float]
    seconds: float


def ping(port: int, source: str, target: str) -> tuple[float, str]:
    body = xmlrpc.client.dumps((source, target), "pingback.ping").encode()
    started = time.perf_counter()
    conn = http.client.HTTPConnection(APP_HOST, port, timeout=120)
    try:
        conn.request("POST", "/backlinks/xmlrpc/", body, {"Content-Type": "text/xml"})
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
        xmlrpc.client.loads(data)
    except xmlrpc.client.Fault as fault:
        if fault.faultCode == 49:
            why = "rate limited" if "Too many" in fault.faultString else "blocked"
            return elapsed, f"fault 49 ({why})"
        return elapsed, f"fault {fault.faultCode}"
    return elapsed, "registered"


class Pings:
    """Distinct (source, target) pairs: post n of the source blog links to article n % 50."""

    def __init__(self, app_port: int, source_port: int) -> None:
        self.app = f"http://{APP_HOST}:{app_port}"
        self.source = f"http://{SOURCE_HOST}:{source_port}"
        self._next = 0
        self._lock = threading.Lock()

    def pair(self, source_host: str | None = None) -> tuple[str, str]:
        with self._lock:
            n = self._next
            self._next += 1
        slug = f"article-{n % ARTICLES}"
        source = f"{self.source}/post/{n}/{slug}/"
        if source_host is not None:
            source = f"http://{source_host}/post/{n}/{slug}/"
        return source, f"{self.app}/articles/{slug}/"


def run_phase(
    label: str, port: int, pings: Pings, count: int, clients: int, source_host: str | None = None
) -> Phase:
    def one(_index: int) -> tuple[float, str]:
        return ping(port, *pings.pair(source_host))

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(one, range(count)))
    seconds = time.perf_counter() - started
    return Phase(label, clients, Counter(a for _, a in results), [t for t, _ in results], seconds)


# --- Main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 workers, 4 clients, 100 pings")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--workers", type=int, help="gunicorn sync workers (default 4)")
    parser.add_argument("--clients", type=int, help="concurrent clients (default 2 x workers)")
    parser.add_argument("--pings", type=int, help="pings in the throughput run (default 2,000)")
    parser.add_argument("--latency-pings", type=int, help="pings per latency row (default 300)")
    args = parser.parse_args()
    workers = args.workers or (2 if args.quick else 4)
    clients = args.clients or 2 * workers
    count = args.pings or (100 if args.quick else 2000)
    latency_count = args.latency_pings or (30 if args.quick else 300)

    if importlib.util.find_spec("gunicorn") is None:
        print(f"inbound.py: skipped, gunicorn is not installed (pip install {GUNICORN})")
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

    app_port = free_port(APP_HOST)
    # Fork the source server before Django opens anything.
    receiver, sender = multiprocessing.get_context("fork").Pipe(duplex=False)
    sources = multiprocessing.get_context("fork").Process(
        target=serve_sources, args=(f"http://{APP_HOST}:{app_port}", sender), daemon=True
    )
    sources.start()
    source_port = int(receiver.recv())
    pings = Pings(app_port, source_port)
    phases: list[Phase] = []

    try:
        with bench_database(engine, name):
            import django
            import gunicorn as gunicorn_package
            from django.contrib.sites.models import Site
            from django.db import connection
            from django.utils import timezone

            from backlinks_django.models import Backlink, BlockedDomain
            from tests.testapp.models import Article

            Site.objects.filter(pk=1).update(domain=f"{APP_HOST}:{app_port}", name="bench")
            published = timezone.now() - timezone.timedelta(days=1)
            Article.objects.bulk_create(
                Article(title=f"Article {i}", slug=f"article-{i}", body="", published_at=published)
                for i in range(ARTICLES)
            )
            BlockedDomain.objects.create(domain=BLOCKED)
            connection.close()

            with gunicorn(app_port, workers, {}):
                run_phase("warm-up", app_port, pings, 4 * workers, clients)
                phases.append(
                    run_phase("accepted: verified, stored", app_port, pings, count, clients)
                )
                phases.append(
                    run_phase("accepted: verified, stored", app_port, pings, latency_count, 1)
                )
                phases.append(
                    run_phase(
                        "rejected: blocked source domain",
                        app_port,
                        pings,
                        latency_count,
                        1,
                        source_host=f"www.{BLOCKED}",
                    )
                )
            with gunicorn(app_port, workers, {"BENCH_RATE_LIMIT_PER_IP": "1/3600"}):
                # Spend each worker's allowance of one ping: a worker busy verifying its one
                # accepted ping leaves the next connections to the others.
                spent = 0
                for _batch in range(50):
                    spent += run_phase("warm-up", app_port, pings, 4 * workers, clients).answers[
                        "registered"
                    ]
                    if spent >= workers:
                        break
                phases.append(
                    run_phase(
                        "rejected: rate limited (1/h per IP)", app_port, pings, latency_count, 1
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
        f"{database}; Python {sys.version.split()[0]}, Django {django.get_version()}"
    )
    print(
        f"source pages ({len(source_page(0, pings.app)) / 1000:.1f} KB) from {SOURCE_HOST} in "
        f"another process; {os.cpu_count()} cores shared by server, sources and clients"
    )
    print(
        f"{'phase':<38}{'clients':>8}{'pings':>7}{'pings/s':>9}{'median':>10}{'p95':>10}  answers"
    )
    for phase in phases:
        p95 = statistics.quantiles(phase.latencies, n=20)[-1]
        answers = ", ".join(f"{n} {a}" for a, n in phase.answers.most_common())
        print(
            f"{phase.label:<38}{phase.clients:>8}{len(phase.latencies):>7}"
            f"{len(phase.latencies) / phase.seconds:>9.1f}"
            f"{statistics.median(phase.latencies) * 1000:>8.1f}ms{p95 * 1000:>8.1f}ms  {answers}"
        )
    registered = sum(p.answers["registered"] for p in phases)
    print(
        f"stored: {stored} backlinks ({', '.join(f'{n} {s}' for s, n in statuses.items())}); "
        f"{registered} registered answers above, the rest from warm-ups"
    )


if __name__ == "__main__":
    main()
