"""Throughput of sending (issue #12): entries saved at a steady rate, each linking pages of
loopback peers, sent by task workers: time until every ping is delivered, and the queue's peak.

ENTRIES entries are saved within SECONDS (evenly spaced, each in its own transaction, by
SAVERS processes as by several web processes), each linking LINKS pages on LINKS different peers
among PEERS (127.0.0.2, ...; a process of their own, answering after DELAY seconds). WORKERS
task workers (``db_worker`` with scripts/demo's flags, or ``rqworker`` with ``--engine rq``)
send them. The queue (tasks ready to run, not yet picked up) is sampled every 0.25 s.
Repeated for each number of workers in ``--workers``: the curve.

    python bench/send_throughput.py --postgres   # 10,000 entries in 60 s, 5 links: 3, 2, 1 workers
    python bench/send_throughput.py --postgres --workers 3 --entries 2000 --seconds 12
    python bench/send_throughput.py --quick      # 30 entries in 1 s, 2 workers (CI)

Rate limits are off (bench/settings.py): with the default per-server fetch cap (60 a minute),
50,000 pings to 50 servers would measure the cap, not the sending.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field

import _workers
from _setup import bench_database, postgres_unavailable

SQLITE_FILE = "/tmp/backlinks_bench_throughput.sqlite3"  # noqa: S108 -- a benchmark's scratch file
PG_DATABASE = "backlinks_bench_throughput"


class PeerProcess:
    """bench/_peers.py in a process of its own."""

    def __init__(self, count: int, delay: float) -> None:
        self.process = subprocess.Popen(  # noqa: S603 -- our own interpreter and script
            [
                sys.executable,
                str(_workers.ROOT / "bench" / "_peers.py"),
                *("--count", str(count), "--delay", str(delay)),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        started = json.loads(self.process.stdout.readline())
        self.addresses: list[tuple[str, int]] = [tuple(a) for a in started["peers"]]
        self.control = int(started["control"])

    def stats(self) -> dict[str, float]:
        url = f"http://127.0.0.1:{self.control}/stats"
        with urllib.request.urlopen(url, timeout=10) as answer:
            return dict(json.load(answer))

    def cpu(self) -> float:
        return _workers.cpu_of(self.process.pid)

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


@dataclass
class Sample:
    at: float  # seconds since the first save
    ready: int  # tasks ready to run, not picked up
    running: int
    pinged: int  # POSTs the peers answered (this run)


@dataclass
class Result:
    workers: int
    entries: int
    links: int
    saved_in: float = 0.0  # first save → last save committed
    late: float = 0.0  # the latest a save started after its moment of the schedule
    delivered_in: float = 0.0  # first save → the last peer has its ping
    recorded_in: float = 0.0  # first save → every result recorded (seen within 0.1 s)
    pinged: int = 0  # POSTs answered
    recorded: int = 0  # OutboundPing rows with success
    duplicates: int = 0
    samples: list[Sample] = field(default_factory=list)
    cpu_workers: float = 0.0
    cpu_db: float = 0.0
    cpu_saver: float = 0.0
    cpu_peers: float = 0.0
    load_before: str = ""
    load_after: str = ""

    @property
    def peak(self) -> Sample:
        return max(self.samples, key=lambda s: s.ready, default=Sample(0.0, 0, 0, 0))


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def body(peers: list[tuple[str, int]], tag: str, n: int, links: int) -> str:
    """Entry ``n``'s body: ``links`` links to pages of consecutive peers."""
    chosen = [peers[(n * links + j) % len(peers)] for j in range(links)]
    return "".join(
        f'<p><a href="http://{host}:{port}/{tag}/e{n}/{j}">link {j}</a></p>'
        for j, (host, port) in enumerate(chosen)
    )


def clean(engine: str) -> None:
    """Empty the entries, their outbound rows and the task queue (and its results)."""
    from backlinks_django.models import OutboundPing
    from tests.testapp.models import Article

    if engine == "db":
        from django_tasks_db.models import DBTaskResult

        DBTaskResult.objects.all().delete()
    else:
        import django_rq

        django_rq.get_connection("default").flushdb()  # the bench's own Redis database
    OutboundPing.objects.all().delete()
    Article.objects.all().delete()


def queue_counts(engine: str) -> tuple[int, int]:
    """Tasks ready to run (the queue) and tasks running."""
    if engine == "db":
        from django_tasks_db.models import DBTaskResult

        return (
            DBTaskResult.objects.ready().count(),
            DBTaskResult.objects.filter(status="RUNNING").count(),
        )
    import django_rq
    from rq.registry import StartedJobRegistry

    queue = django_rq.get_queue("default")
    return queue.count, StartedJobRegistry(queue=queue).count


def sampler(
    engine: str,
    result: Result,
    peers: PeerProcess,
    started: float,
    posts_before: int,
    stop: threading.Event,
    db_cpu: _workers.CPUTracker,
) -> None:
    from django.db import connection

    try:
        while not stop.wait(0.25):
            if len(result.samples) % 4 == 0:
                db_cpu.read()  # the savers' backends end with them
            ready, running = queue_counts(engine)
            pinged = int(peers.stats()["posts"]) - posts_before
            result.samples.append(Sample(time.time() - started, ready, running, pinged))
    finally:
        connection.close()


def run(
    engine: str,
    workers: int,
    peers: PeerProcess,
    *,
    entries: int,
    links: int,
    seconds: float,
    savers: int,
    timeout: float,
    worker_args: list[str],
    database: str,
) -> Result:
    from django.db import transaction
    from django.utils import timezone

    from backlinks_django.models import OutboundPing, Outcome
    from tests.testapp.models import Article

    clean(engine)
    result = Result(workers, entries, links)
    tag = f"t{workers}-{int(time.time())}"
    with _workers.workers(workers, engine, worker_args) as pool:
        # One entry, not counted, while the workers start.
        with transaction.atomic():
            Article.objects.create(
                title="warm-up",
                slug="warm-up",
                body=body(peers.addresses, f"{tag}w", 0, 1),
                published_at=timezone.now(),
            )
        deadline = time.monotonic() + 60
        while not OutboundPing.objects.filter(outcome=Outcome.SUCCESS).exists():
            if time.monotonic() > deadline:
                raise SystemExit("error: the workers sent nothing within 60 s")
            time.sleep(0.05)
        time.sleep(1.5)  # every worker past its start-up delay
        clean(engine)
        saver_processes = [Saver(n, savers) for n in range(savers)]  # Django set up in each
        before = peers.stats()
        cpu = (pool.cpu(), peers.cpu())
        db_cpu = _workers.CPUTracker("postgres: ", f" {database} ")
        result.load_before = load()
        stop = threading.Event()
        started = time.time() + 0.2  # the savers' first entry
        watcher = threading.Thread(
            target=sampler,
            args=(engine, result, peers, started, int(before["posts"]), stop, db_cpu),
            daemon=True,
        )
        watcher.start()
        try:
            _save_and_wait(
                result,
                peers,
                tag,
                started,
                before,
                entries,
                links,
                seconds,
                saver_processes,
                timeout,
            )
        finally:
            stop.set()
            watcher.join()
        after = peers.stats()
        result.cpu_workers = pool.cpu() - cpu[0]
        db_cpu.read()
        result.cpu_db = db_cpu.used()
        result.cpu_peers = peers.cpu() - cpu[1]
        result.load_after = load()
    result.pinged = int(after["posts"]) - int(before["posts"])
    result.duplicates = int(after["duplicates"]) - int(before["duplicates"])
    result.delivered_in = float(after["last_post"]) - started
    result.recorded = OutboundPing.objects.filter(outcome=Outcome.SUCCESS).count()
    return result


def _save_and_wait(
    result: Result,
    peers: PeerProcess,
    tag: str,
    started: float,
    before: dict[str, float],
    entries: int,
    links: int,
    seconds: float,
    savers: list[Saver],
    timeout: float,
) -> None:
    """Have the ``savers`` save ``entries`` on schedule from ``started``; wait until every
    ping is delivered and recorded (or ``timeout``)."""
    from backlinks_django.models import OutboundPing, Outcome

    plan = {"started": started, "tag": tag, "entries": entries, "links": links}
    for saver in savers:
        saver.go({**plan, "seconds": seconds, "peers": peers.addresses})
    reports = [saver.report() for saver in savers]
    result.saved_in = max((r["last_commit"] for r in reports), default=started) - started
    result.late = max((r["late"] for r in reports), default=0.0)
    result.cpu_saver = sum(r["cpu"] for r in reports)
    expected = entries * links
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if int(peers.stats()["posts"]) - int(before["posts"]) >= expected:
            break
        time.sleep(0.25)
    # The tasks record their results after their last answer.
    recorded = OutboundPing.objects.filter(outcome=Outcome.SUCCESS)
    while time.monotonic() < deadline and recorded.count() < expected:
        time.sleep(0.1)
    result.recorded_in = time.time() - started


class Saver:
    """A process saving every ``count``-th entry (from ``share``) on the schedule, as one web
    process of several would: savers in threads of one process could not keep a 1-minute
    schedule of 10,000 entries (14 ms of CPU per save, one interpreter)."""

    def __init__(self, share: int, count: int) -> None:
        self.process = subprocess.Popen(  # noqa: S603 -- our own interpreter and script
            [sys.executable, __file__, "--saver", f"{share}/{count}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # once Django is set up
        if not line.startswith(b"ready"):
            raise SystemExit(f"error: saver {share} did not start: {line!r}")

    def go(self, plan: dict[str, object]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(plan).encode() + b"\n")
        self.process.stdin.close()

    def report(self) -> dict[str, float]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        self.process.wait(timeout=60)
        if not line:
            raise SystemExit("error: a saver process failed")
        return dict(json.loads(line))


def saver_main(share: str) -> None:
    """``--saver i/n``: set up Django on the bench database (the environment says which),
    say "ready", read the plan (one JSON line), save its entries, print one JSON report."""
    import django

    sys.path.insert(0, str(_workers.ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from tests.testapp.models import Article

    first, count = (int(n) for n in share.split("/"))
    print("ready", flush=True)
    plan = json.loads(sys.stdin.readline())
    peers = [(str(host), int(port)) for host, port in plan["peers"]]
    entries, started = int(plan["entries"]), float(plan["started"])
    interval = float(plan["seconds"]) / entries
    cpu = time.process_time()
    late = last_commit = 0.0
    for n in range(first, entries, count):
        moment = started + n * interval
        pause = moment - time.time()
        if pause > 0:
            time.sleep(pause)
        late = max(late, time.time() - moment)
        with transaction.atomic():
            Article.objects.create(
                title=f"Entry {n}",
                slug=f"e{n}",
                body=body(peers, str(plan["tag"]), n, int(plan["links"])),
                published_at=timezone.now(),
            )
        last_commit = time.time()
    connection.close()
    report = {"cpu": time.process_time() - cpu, "late": late, "last_commit": last_commit}
    print(json.dumps(report), flush=True)


def print_results(results: list[Result], delay: float, peers: int, database: str) -> None:
    first = results[0]
    print(
        f"\nSending throughput: {first.entries:,} entries saved within "
        f"{first.saved_in:.0f} s, {first.links} links each ({first.entries * first.links:,} "
        f"pings) to {peers} peers answering after {delay * 1000:.0f} ms; {database}"
    )
    print(
        f"{'workers':>7}{'saved in':>10}{'late':>7}{'all pinged':>12}{'recorded':>10}"
        f"{'pings/s':>9}"
        f"{'queue peak':>12}{'at':>7}{'CPU/entry':>11}{'db CPU':>8}{'dup':>5}  load before/after"
    )
    for r in results:
        rate = r.pinged / r.delivered_in if r.delivered_in > 0 else 0.0
        per_entry = r.cpu_workers / r.entries * 1000
        db = r.cpu_db / r.entries * 1000
        print(
            f"{r.workers:>7}{r.saved_in:>9.1f}s{r.late:>6.1f}s{r.delivered_in:>11.1f}s{r.recorded_in:>9.1f}s"
            f"{rate:>9.0f}{r.peak.ready:>12,}{r.peak.at:>6.0f}s{per_entry:>9.1f}ms"
            f"{db:>6.1f}ms{r.duplicates:>5}  {r.load_before} / {r.load_after}"
        )
    print(
        "saved in: first save -> last save committed (late: the most a save started after "
        "its moment); all pinged: first save -> the last peer has its ping; recorded: -> "
        "every result recorded; queue: tasks ready, not yet picked up (sampled every 0.25 s); "
        "CPU/entry: the workers' CPU; db CPU: the PostgreSQL backends' (all connections of "
        "the database)"
    )
    for r in results:
        print(
            f"{r.workers} workers, CPU seconds: workers {r.cpu_workers:.1f}, database "
            f"{r.cpu_db:.1f}, savers {r.cpu_saver:.1f}, peers {r.cpu_peers:.1f}"
        )
        step = max(1.0, round(r.delivered_in / 10))
        marks, next_mark = [], 0.0
        for sample in r.samples:
            if sample.at >= next_mark:
                marks.append(sample)
                next_mark += step
        curve = " ".join(f"{s.at:.0f}s:{s.ready}/{s.pinged}" for s in marks)
        print(f"  queue/pinged: {curve}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 entries in 1 s, 2 workers")
    parser.add_argument("--entries", type=int, help="entries saved (default 10,000)")
    parser.add_argument("--seconds", type=float, help="within this time (default 60)")
    parser.add_argument("--links", type=int, default=5, help="links per entry (default 5)")
    parser.add_argument("--peers", type=int, default=50, help="peer hosts (default 50)")
    parser.add_argument("--delay", type=float, default=0.0, help="peer answer delay (default 0)")
    parser.add_argument("--workers", help="numbers of workers, e.g. 3,2,1 (default)")
    parser.add_argument(
        "--savers",
        type=int,
        default=4,
        help="processes saving entries, as several web processes would (default 4)",
    )
    parser.add_argument("--saver", help=argparse.SUPPRESS)  # i/n: one saver process
    parser.add_argument("--timeout", type=float, default=1800.0, help="per run (default 1800 s)")
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
    args = parser.parse_args()
    entries = args.entries or (30 if args.quick else 10_000)
    seconds = args.seconds if args.seconds is not None else (1.0 if args.quick else 60.0)
    counts = [int(n) for n in (args.workers or ("2" if args.quick else "3,2,1")).split(",")]
    worker_args = (
        _workers.default_args(args.engine)
        if args.worker_args is None
        else args.worker_args.split()
    )

    if args.saver:
        saver_main(args.saver)
        return
    if args.postgres and (missing := postgres_unavailable()):
        print(f"PostgreSQL unavailable: {missing}")
        sys.exit(0 if args.quick else 1)
    if args.engine == "rq" and (missing := _workers.redis_unavailable()):
        print(f"Redis unavailable: {missing}")
        sys.exit(0 if args.quick else 1)
    engine, name = ("postgres", PG_DATABASE) if args.postgres else ("sqlite", SQLITE_FILE)
    os.environ["BENCH_TASKS"] = args.engine
    peers = PeerProcess(args.peers, args.delay)
    try:
        with bench_database(engine, name):
            from django.contrib.sites.models import Site
            from django.db import connection

            Site.objects.filter(pk=1).update(domain="bench.example")
            version = (
                connection.Database.sqlite_version if engine == "sqlite" else connection.pg_version
            )
            command = "db_worker" if args.engine == "db" else "rqworker"
            database = f"{connection.vendor} {version}, {command} {' '.join(worker_args)}"
            print(f"Sending throughput on {database}; load {load()}", flush=True)
            results = []
            for count in counts:
                result = run(
                    args.engine,
                    count,
                    peers,
                    entries=entries,
                    links=args.links,
                    seconds=seconds,
                    savers=args.savers,
                    timeout=args.timeout,
                    worker_args=worker_args,
                    database=name,
                )
                results.append(result)
                print_results([result], args.delay, args.peers, database)
                sys.stdout.flush()
            if len(results) > 1:
                print("\n==> All runs")
                print_results(results, args.delay, args.peers, database)
    finally:
        peers.stop()
    expected = entries * args.links
    short = [r for r in results if r.pinged < expected or r.recorded < expected]
    if short:
        raise SystemExit(
            "error: not every ping delivered: "
            + ", ".join(f"{r.workers} workers {r.recorded}/{expected}" for r in short)
        )


if __name__ == "__main__":
    main()
