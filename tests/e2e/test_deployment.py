"""A deployment in miniature: PostgreSQL, Redis, two gunicorn servers for site A and one for B,
three RQ workers per site (django-tasks-rq) and RQ's scheduler; workers killed with SIGKILL.

The example project on ``example_project.settings_redis`` (through tests/e2e/redis_settings.py),
with the claim margins scaled from a minute to half a second (tests/e2e/fast_clock.py) so that
a killed worker's work comes back within seconds. The peers are slow HTTP servers on 127.0.0.N
in this process (tests/e2e/peers.py). Runs in the PostgreSQL run of scripts/test
(``BACKLINKS_TEST_DB=postgres``); skipped on SQLite, and where Redis cannot be started.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import json
import math
import os
import random
import secrets
import signal
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote
from xmlrpc.client import ServerProxy

import django
import pytest

from tests.e2e import peers as peer_servers
from tests.e2e.sites import (
    DemoSite,
    Processes,
    free_ports,
    http,
    postgres_databases,
    using_postgres,
    web_server_command,
)
from tests.redis_server import redis_url

_NEEDED = ["django_tasks_rq", "redis", "gunicorn"] + (
    ["django_tasks"] if django.VERSION < (6,) else []
)
_MISSING = [name for name in _NEEDED if importlib.util.find_spec(name) is None]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        bool(_MISSING),
        reason=f'the Redis deployment needs {", ".join(_MISSING)}: pip install -e ".[redis,test]"',
    ),
    pytest.mark.skipif(
        not using_postgres(),
        reason="a deployment runs on PostgreSQL: this suite runs once, in scripts/test's "
        "PostgreSQL run (BACKLINKS_TEST_DB=postgres)",
    ),
]

SETTINGS = "tests.e2e.redis_settings"
# Redis databases of the sites (the unit tests use 15).
REDIS_DB = {"A": 1, "B": 2}
WORKERS = 3
LINKS = 20
SEEDS = [11, 22, 33]
KILLS_PER_SEED = 3
INBOUND = 200
RATE_LIMIT = 10
# Long enough that every hit of the rate-limit test falls in one window.
RATE_WINDOW = 1_000_000

# Each site's BACKLINKS on top of the example project's (E2E_BACKLINKS).
A_SETTINGS = {
    # Room for slow peers on a loaded machine; attempts enough that kills and timeouts on a
    # busy CI machine do not exhaust a link (the default, 5, gives up on it).
    "SEND_DEADLINE": 8.0,
    "SEND_MAX_ATTEMPTS": 20,
    "FETCH_DEADLINE": 3.0,
    "SEND_HOST_INTERVAL": 0,
    "SEND_RETRY_DELAY": 2.0,
    "RECEIVE_BUDGET": 5.0,
    "RATE_LIMIT_PER_IP": [RATE_LIMIT, RATE_WINDOW],
}
B_SETTINGS = {
    "FETCH_DEADLINE": 3.0,
    # Every Webmention verified by a worker (the ones this suite kills).
    "RECEIVE_BUDGET": 0,
    "RATE_LIMIT_PER_IP": [10 * INBOUND, 60],
    "RATE_LIMIT_PER_SOURCE_DOMAIN": [10 * INBOUND, 60],
}


@dataclass
class Workers:
    """One site's RQ workers: started, killed with SIGKILL, restarted under new names."""

    site: DemoSite
    processes: Processes
    redis: Any
    token: str
    live: list[str] = field(default_factory=list)
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def rq_name(self, name: str) -> str:
        return f"{self.token}-{name.replace(' ', '-')}"

    def start(self) -> str:
        name = f"{self.site.name} worker {next(self.numbers)}"
        self.processes.start(
            name,
            self.site,
            [
                *(sys.executable, "manage.py", "rqworker", "default"),
                *("--job-class", "django_tasks_rq.Job", "--name", self.rq_name(name)),
            ],
        )
        self.live.append(name)
        return name

    def kill(self, name: str) -> float:
        """SIGKILL the worker and its work horse (one process group); when it died."""
        process = self.processes.running[name]
        os.killpg(process.pid, signal.SIGKILL)
        killed = time.time()
        process.wait()
        self.live.remove(name)
        return killed

    def busy(self) -> list[str]:
        return [
            name
            for name in self.live
            if self.redis.hget(f"rq:worker:{self.rq_name(name)}", "state") == b"busy"
        ]

    def wait_until_registered(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        for name in self.live:
            while not self.redis.exists(f"rq:worker:{self.rq_name(name)}"):
                self.processes.check_alive(name)
                assert time.monotonic() < deadline, f"{name} did not start"
                time.sleep(0.1)


@dataclass
class Deployment:
    a: DemoSite
    a2: DemoSite  # A's second web server: same database, another port
    b: DemoSite
    processes: Processes
    workers: dict[str, Workers]
    peers: list[str]
    log: peer_servers.Log

    def query(self, site: DemoSite, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(
            host=os.environ.get("PGHOST", "127.0.0.1"),
            port=os.environ.get("PGPORT", "5432"),
            user=os.environ.get("PGUSER", "postgres"),
            password=os.environ.get("PGPASSWORD", ""),
            dbname=site.settings["E2E_PGDATABASE"],
            autocommit=True,
        ) as connection:
            return connection.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def save_entry(self, slug: str, urls: list[str]) -> None:
        """Publish an entry on A linking to ``urls``; its save queues the sending task."""
        self.a.shell(
            """
            from django.utils import timezone
            from blog.models import Entry
            body = "".join(f'<p>See <a href="{url}">this</a>.</p>' for url in params["urls"])
            Entry.objects.create(
                title=params["slug"], slug=params["slug"], body=body,
                published_at=timezone.now(), pings_open=True,
            )
            """,
            slug=slug,
            urls=urls,
        )

    def outbound(self, urls: list[str]) -> dict[str, tuple[str, int, datetime | None]]:
        """A's rows for ``urls``: target URL -> (outcome, attempts, sent_at)."""
        rows = self.query(
            self.a,
            "SELECT target_url, outcome, attempts, sent_at FROM backlinks_django_outboundping"
            " WHERE target_url = ANY(%s)",
            urls,
        )
        return {url: (outcome, attempts, sent_at) for url, outcome, attempts, sent_at in rows}


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    urls = {name: redis_url(db) for name, db in REDIS_DB.items()}  # skips without Redis
    import redis

    tmp = tmp_path_factory.mktemp("deployment")
    token = secrets.token_hex(4)
    port_a, port_a2, port_b = free_ports(3)
    sites = {}
    for name, port, backlinks in (("A", port_a, A_SETTINGS), ("B", port_b, B_SETTINGS)):
        sites[name] = DemoSite(
            name,
            port,
            tmp / f"{name}.sqlite3",  # unused: PostgreSQL
            {
                "DJANGO_SETTINGS_MODULE": SETTINGS,
                "E2E_PGDATABASE": f"backlinks_deploy_{token}_{name.lower()}",
                "REDIS_URL": urls[name],
                "E2E_FAST_CLOCK": "1",
                "E2E_BACKLINKS": json.dumps(backlinks),
            },
        )
    a, b = sites["A"], sites["B"]
    a2 = dataclasses.replace(a, port=port_a2)
    processes = Processes(tmp)
    with ExitStack() as stack:
        stack.enter_context(
            postgres_databases(a.settings["E2E_PGDATABASE"], b.settings["E2E_PGDATABASE"])
        )
        base_urls, log = stack.enter_context(peer_servers.peers(LINKS + 2))
        stack.callback(processes.stop)
        workers = {
            site.name: Workers(site, processes, redis.Redis.from_url(urls[site.name]), token)
            for site in (a, b)
        }
        # Killed first at the end: a worker told to stop waits for its job to finish.
        stack.callback(lambda: [w.kill(name) for w in workers.values() for name in list(w.live)])
        try:
            # Workers and schedulers need only Redis: they start while the databases migrate.
            for site in (a, b):
                processes.start(
                    f"{site.name} scheduler",
                    site,
                    [sys.executable, "-m", "tests.e2e.rq_scheduler", "default"],
                )
                for _ in range(WORKERS):
                    workers[site.name].start()
            with ThreadPoolExecutor(2) as pool:
                for done in [pool.submit(a.set_up, b), pool.submit(b.set_up, a)]:
                    done.result()
            processes.start("A web 1", a, web_server_command(a.port))
            processes.start("A web 2", a, web_server_command(a2.port))
            processes.start("B web", b, web_server_command(b.port))
            for site in (a, a2, b):
                processes.wait_until_serving(site)
            for site_workers in workers.values():
                site_workers.wait_until_registered()
        except BaseException:
            print(processes.logs())
            raise
        yield Deployment(a, a2, b, processes, workers, base_urls, log)


def wait_for(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.parametrize("seed", SEEDS)
def test_links_to_slow_peers_all_delivered_while_workers_are_killed(
    deployment: Deployment, seed: int
) -> None:
    rng = random.Random(seed)
    workers = deployment.workers["A"]
    log = deployment.log
    urls = [f"{peer}/post/chaos-{seed}-{n}/" for n, peer in enumerate(deployment.peers[:LINKS])]
    for url in urls:
        log.delays[url] = rng.uniform(0.5, 2.0)

    kills: list[float] = []
    deadline = time.monotonic() + 120
    with ThreadPoolExecutor(1) as pool:
        # Saved in a shell process (seconds), while this loop watches the peers from the start.
        saved = pool.submit(deployment.save_entry, f"chaos-{seed}", urls)
        next_kill, next_look = time.time() + rng.uniform(0.0, 0.5), 0.0
        while True:
            # A kill at a random moment while requests are in flight, to a worker sending them.
            if len(kills) < KILLS_PER_SEED and time.time() >= next_kill and log.in_flight():
                victim = rng.choice(sorted(workers.busy() or workers.live))
                kills.append(workers.kill(victim))
                workers.start()
                next_kill = time.time() + rng.uniform(0.5, 3.0)
            if saved.done() and time.monotonic() >= next_look:
                saved.result()
                rows = deployment.outbound(urls)
                if len(rows) == LINKS and all(row[0] == "success" for row in rows.values()):
                    break
                assert time.monotonic() < deadline, f"not delivered (kills {kills}): {rows}"
                next_look = time.monotonic() + 0.5
            time.sleep(0.02)
    time.sleep(2.0)  # a re-send after the last record would show up by now
    workers.wait_until_registered()

    assert kills, "no kill hit the sending (the peers answered before the first one)"
    rows = deployment.outbound(urls)
    duplicates = {}
    for url in urls:
        posts = log.posts_to(url)
        outcome, _, sent_at = rows[url]
        assert sent_at is not None
        assert outcome == "success"
        assert posts, f"{url} recorded as delivered but never received"
        # Nothing is sent again once its delivery was recorded.
        assert all(post.received < sent_at.timestamp() for post in posts), url
        # A duplicate only when a kill hit the link's request in flight: at most one per kill
        # between its first POST and its last.
        hits = [k for k in kills if posts[0].received <= k <= posts[-1].received]
        assert len(posts) - 1 <= len(hits), (url, [p.received for p in posts], kills)
        duplicates[url] = len(posts) - 1
    print(f"seed {seed}: {len(kills)} kills, {sum(duplicates.values())} duplicate POSTs")


def test_webmentions_posted_to_b_while_its_workers_are_killed_are_each_verified(
    deployment: Deployment,
) -> None:
    rng = random.Random(7)
    b, workers = deployment.b, deployment.workers["B"]
    target = b.url("/entries/hello-backlinks/")
    sources = [
        f"{deployment.peers[n % LINKS]}/source/inbound-{n}?to={quote(target, safe='')}"
        for n in range(INBOUND)
    ]

    def post(source: str) -> int:
        with http() as session:
            response = session.post(
                b.url("/backlinks/webmention/"),
                data={"source": source, "target": target},
                allow_redirects=False,
                timeout=30,
            )
        return response.status_code

    kills = []
    with ThreadPoolExecutor(8) as pool:
        answers = pool.map(post, sources)
        # Kills while the Webmentions arrive and are verified.
        for _ in range(5):
            time.sleep(rng.uniform(0.5, 2.0))
            victim = rng.choice(sorted(workers.busy() or workers.live))
            kills.append(workers.kill(victim))
            workers.start()
        statuses = list(answers)
    assert statuses == [201] * INBOUND

    def verified() -> bool:
        rows = deployment.query(
            b,
            "SELECT state, count(*) FROM backlinks_django_inboundping"
            " WHERE source_url = ANY(%s) GROUP BY state",
            sources,
        )
        return dict(rows) == {"accepted": INBOUND}

    wait_for(verified, 90, f"the {INBOUND} Webmentions verified")
    (backlinks,) = deployment.query(
        b,
        "SELECT count(DISTINCT source_url) FROM backlinks_django_backlink"
        " WHERE source_url = ANY(%s)",
        sources,
    )
    assert backlinks == (INBOUND,)
    workers.wait_until_registered()


def test_the_rate_limit_is_counted_once_across_all_web_processes(deployment: Deployment) -> None:
    from backlinks_django import keys, throttle

    a, a2 = deployment.a, deployment.a2
    target = a.url("/entries/hello-backlinks/")
    peer = deployment.peers[LINKS]
    sources = [
        f"{peer}/source/rate-{n}?to={quote(target, safe='')}" for n in range(3 * RATE_LIMIT)
    ]
    # One at a time, alternating between the two servers (four processes): each pingback under
    # the sender's rate is verified in its request, each over it is queued.
    for n, source in enumerate(sources):
        server = (a, a2)[n % 2]
        ServerProxy(server.url("/backlinks/xmlrpc/")).pingback.ping(source, target)

    queued = deployment.query(
        a, "SELECT count(*) FROM backlinks_django_inboundping WHERE source_url = ANY(%s)", sources
    )
    assert queued == [(len(sources) - RATE_LIMIT,)]
    # The counter in Redis: every ping counted once, by whichever process took it.
    window = math.floor(time.time() / RATE_WINDOW)
    key = f":1:{throttle._cache_key('ip', keys.sender_key('127.0.0.1') or '', window)}"
    assert int(deployment.workers["A"].redis.get(key)) == len(sources)


def test_a_worker_started_after_the_others_picks_up_retries(deployment: Deployment) -> None:
    workers, log = deployment.workers["A"], deployment.log
    url = f"{deployment.peers[LINKS + 1]}/post/late/"
    log.fail_first[url] = 1_000  # 503 (retry after 2, 4, 8... s) until the late worker is up

    deployment.save_entry("late", [url])
    wait_for(lambda: deployment.outbound([url]).get(url, ("", 0, None))[1] >= 1, 60, "a try")
    wait_for(lambda: not workers.busy(), 30, "the sending task's end")
    for name in list(workers.live):
        workers.kill(name)
    late = workers.start()
    workers.wait_until_registered()
    started = time.time()
    log.fail_first[url] = 0
    try:
        wait_for(lambda: deployment.outbound([url])[url][0] == "success", 60, "the retry")
        *failed, delivered = log.posts_to(url)
        assert failed
        assert {post.status for post in failed} == {503}
        assert delivered.status == 202
        assert delivered.received > started
        # The only worker alive since the failed tries: the retry was its job.
        late_log = deployment.processes.log_path(late).read_text()
        assert "Successfully completed backlinks_django.tasks.send_pings" in late_log
    finally:
        while len(workers.live) < WORKERS:
            workers.start()
