"""Task workers of the sending benchmarks: start them, read their CPU time, stop them.

``db`` workers are ``manage.py db_worker`` (django-tasks-db) through bench/worker.py, with the
flags scripts/demo gives the demo's workers (:func:`demo_worker_args`), so that the benchmark
measures the demo's pick-up latency, not one of its own choosing. ``rq`` workers are
``manage.py rqworker`` (django-tasks-rq) with the flags the Redis settings of the example
project document (:func:`rq_worker_args`).
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def demo_worker_args() -> list[str]:
    """The arguments scripts/demo passes to site A's ``db_worker``."""
    demo = (ROOT / "scripts" / "demo").read_text()
    found = re.search(r'^start "A worker" "\$db_a" db_worker(.*)$', demo, re.MULTILINE)
    if found is None:
        raise SystemExit('error: no `start "A worker" ... db_worker` line in scripts/demo')
    return shlex.split(found.group(1))


def rq_worker_args() -> list[str]:
    """The ``rqworker`` arguments example_project/settings_redis.py documents."""
    path = ROOT / "example_project" / "example_project" / "settings_redis.py"
    found = re.search(r"^\s*python manage\.py rqworker(.*)$", path.read_text(), re.MULTILINE)
    if found is None:
        raise SystemExit(f"error: no `manage.py rqworker` line in {path}")
    return shlex.split(found.group(1))


def default_args(engine: str) -> list[str]:
    """The worker arguments of ``engine`` (``db`` or ``rq``), as the project starts them."""
    if engine == "db":
        return demo_worker_args()
    if engine == "rq":
        return rq_worker_args()
    raise SystemExit(f"error: unknown task engine {engine!r}")


def redis_unavailable() -> str | None:
    """Why the bench's Redis cannot be used, or None if it can (BENCH_TASKS=rq's settings)."""
    try:
        import redis
    except ImportError:
        return "redis (the [redis] extra) is not installed"
    url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6390/13")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"no Redis answers at {url} ({exc}); scripts/start-redis starts one"
    return None


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` and its reaped children (RQ's work
    horses) used so far; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            fields = file.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(n) for n in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def cpu_matching(*markers: str) -> dict[int, float]:
    """CPU seconds used so far by each live process whose command line holds every marker
    (e.g. a PostgreSQL database's backends: ``"postgres: "``, ``" NAME "``), by pid."""
    found = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as file:
                command = file.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if all(marker in command for marker in markers):
            found[int(entry)] = cpu_of(int(entry))
    return found


class CPUTracker:
    """CPU used by processes that come and go (a database's backends), read now and then:
    a process that ends counts up to its last reading."""

    def __init__(self, *markers: str) -> None:
        self.markers = markers
        self.first = cpu_matching(*markers)
        self.last = dict(self.first)

    def read(self) -> None:
        self.last.update(cpu_matching(*self.markers))

    def used(self) -> float:
        """CPU seconds used since the tracker was made (as of the last reading)."""
        return sum(cpu - self.first.get(pid, 0.0) for pid, cpu in self.last.items())


@dataclass
class Pool:
    """Worker processes started by :func:`workers`."""

    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def cpu(self) -> float:
        """CPU seconds the workers used so far."""
        return sum(cpu_of(process.pid) for process in self.processes)


def command(engine: str, n: int, args: list[str] | None = None) -> list[str]:
    """The command line of worker ``n`` of ``engine`` (``db`` or ``rq``); bench/worker.py
    runs db_worker or rqworker as ``BENCH_TASKS`` says."""
    flags = default_args(engine) if args is None else args
    name = ("--worker-id", f"bench-worker-{n}") if engine == "db" else ("--name", f"bench-{n}")
    return [sys.executable, str(ROOT / "bench" / "worker.py"), *flags, *name]


@contextmanager
def workers(
    count: int,
    engine: str = "db",
    args: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[Pool]:
    """``count`` task workers of ``engine`` on the bench database; stopped (SIGTERM) on exit,
    after which the lines of their logs that name an error are printed."""
    if os.environ.get("BENCH_TASKS") != engine:
        raise SystemExit(f"error: BENCH_TASKS={os.environ.get('BENCH_TASKS')}, not {engine}")
    pool = Pool()
    logs = []
    for n in range(count):
        log = tempfile.NamedTemporaryFile("w+", prefix="bench-worker-", suffix=".log")
        pool.processes.append(
            subprocess.Popen(  # noqa: S603 -- our own interpreter and script
                command(engine, n, args),
                env={**os.environ, **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        logs.append(log)
    try:
        yield pool
    finally:
        for process in pool.processes:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in pool.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
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
