"""Losing nothing when a worker dies: results stored as they come, expired claims recovered.

The subprocess tests (tests/crash_scenario.py) kill a real ``db_worker`` with SIGKILL mid-batch.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from backlinks_django import delivery, send, tasks
from backlinks_django.choices import Kind, Outcome
from backlinks_django.conf import app_settings
from backlinks_django.models import OutboundPing
from tests.helpers import LOOPBACK, Peer, entry, links, local_server, outbound_row, outcomes
from tests.testapp.models import Article

pytestmark = pytest.mark.django_db


# --- each result stored as it comes ----------------------------------------------------------


@override_settings(BACKLINKS=LOOPBACK)
def test_a_result_is_stored_while_other_links_are_still_being_sent(site, monkeypatch):
    slow_done = threading.Event()
    fast_recorded = threading.Event()
    seen: dict[str, str] = {}

    def slow_page(request: Request) -> Response:
        try:
            fast_recorded.wait(5)  # a peer slower than the fast link's whole delivery
            return Response("<html><body>No endpoint</body></html>", content_type="text/html")
        finally:
            slow_done.set()

    record = OutboundPing.record_result

    def recording(row: OutboundPing, result, **kwargs):
        stored = record(row, result, **kwargs)
        if row.target_url == fast:
            # Stored for good: a worker killed now would not send this link again.
            seen["stored"] = OutboundPing.objects.get(pk=row.pk).outcome
            seen["slow peer"] = "answered" if slow_done.is_set() else "still in flight"
            fast_recorded.set()
        return stored

    monkeypatch.setattr(OutboundPing, "record_result", recording)
    with local_server(threaded=True) as fast_server, local_server(threaded=True) as slow_server:
        fast = Peer(fast_server).page("/post")
        slow_server.expect_request("/post").respond_with_handler(slow_page)
        slow = slow_server.url_for("/post")
        article = entry("mine", links(fast, slow))

        send.send_object(article)

    assert seen == {"stored": Outcome.SUCCESS, "slow peer": "still in flight"}
    assert outcomes(article) == {fast: Outcome.SUCCESS, slow: Outcome.NO_ENDPOINT}


# --- what a dead worker's claim leaves, and who sends it ----------------------------------------


def ago(seconds: float) -> datetime:
    return timezone.now() - timezone.timedelta(seconds=seconds)


def told(obj: Article, url: str) -> OutboundPing:
    """A Webmention target told of ``obj`` before (a save re-sends to it)."""
    return outbound_row(obj, url, protocol=Kind.WEBMENTION, outcome=Outcome.SUCCESS, attempts=1)


def test_rows_whose_claim_ran_out_unrecorded_are_due(site):
    article = entry("mine", "<p>Links</p>")
    done = told(article, "https://a.example/")
    # A worker died sending these: one never sent, one Webmention re-sent on a save.
    unsent = outbound_row(article, "https://b.example/", claimed_until=ago(1))
    resent = told(article, "https://c.example/")
    OutboundPing.objects.filter(pk=resent.pk).update(claimed_until=ago(1))
    told(article, "https://d.example/")
    OutboundPing.objects.exclude(pk__in=[unsent.pk, resent.pk]).update(
        claimed_until=timezone.now() + timezone.timedelta(minutes=1)  # alive: not due
    )
    OutboundPing.objects.filter(pk=done.pk).update(claimed_until=None)

    assert set(OutboundPing.objects.due()) == {unsent, resent}


def test_links_recorded_unsent_are_no_longer_abandoned(site):
    article = entry("mine", links("https://a.example/post"))
    outbound_row(article, "https://a.example/post", claimed_until=ago(1))

    assert send.record_unsent(article, "Imported.", waiting_too=True) == 1

    assert (OutboundPing.objects.get().outcome, OutboundPing.objects.due().exists()) == (
        Outcome.SKIPPED,
        False,
    )


def receiving_peers(server: HTTPServer, count: int) -> tuple[Peer, list[str]]:
    peer = Peer(server, discovery="webmention")
    return peer, [peer.page(f"/post{i}") for i in range(count)]


@override_settings(BACKLINKS=LOOPBACK)
def test_the_sending_task_queues_its_claims_recovery_before_sending(
    httpserver, queued, monkeypatch
):
    peer, urls = receiving_peers(httpserver, 2)
    article = entry("mine", links(*urls))
    ct = ContentType.objects.get_for_model(article).pk
    seen: list[list[Any]] = []
    deliver = send.deliver
    monkeypatch.setattr(
        send, "deliver", lambda rows, *a: seen.append(list(queued)) or deliver(rows, *a)
    )
    before = timezone.now()

    tasks.send_pings.call(ct, str(article.pk))

    (recovery,) = seen[0]  # queued before any request
    assert recovery.args == [ct, str(article.pk), False, True]  # the due links only
    claim = app_settings.SEND_DEADLINE + delivery.DEADLINE_GRACE + send.CLAIM_MARGIN
    wait = (recovery.task.run_after - before).total_seconds()
    assert claim + tasks.RECOVERY_DELAY <= wait <= claim + tasks.RECOVERY_DELAY + 3
    assert queued == [recovery]  # once
    assert len(peer.webmentions) == 2


@override_settings(BACKLINKS=LOOPBACK)
def test_the_recovery_sends_only_what_a_dead_worker_left_unrecorded(httpserver, site):
    peer, urls = receiving_peers(httpserver, 5)
    article = entry("mine", links(*urls))
    ct = ContentType.objects.get_for_model(article).pk
    for url in urls[:3]:
        told(article, url)
    # The worker sending all five died: three results recorded, two not.
    outbound_row(article, urls[3], claimed_until=ago(1))
    abandoned_resend = told(article, urls[4])
    OutboundPing.objects.filter(pk=abandoned_resend.pk).update(claimed_until=ago(1))

    assert tasks.send_pings.call(ct, str(article.pk), False, True) == 2
    assert sorted(target for _, target in peer.webmentions) == urls[3:]

    assert tasks.send_pings.call(ct, str(article.pk), False, True) == 0  # nothing left
    assert len(peer.webmentions) == 2
    assert set(outcomes(article).values()) == {Outcome.SUCCESS}


@override_settings(BACKLINKS=LOOPBACK)
def test_send_backlinks_due_by_hand_sends_only_the_unrecorded(httpserver, site):
    """On a backend that cannot defer, cron's ``send_backlinks --due`` is the recovery: it
    must not tell again the Webmention targets whose results were recorded."""
    peer, urls = receiving_peers(httpserver, 5)
    article = entry("mine", links(*urls))
    for url in urls[:4]:
        told(article, url)
    outbound_row(article, urls[4], claimed_until=ago(1))

    call_command("send_backlinks", "--due", stdout=io.StringIO())

    assert [target for _, target in peer.webmentions] == [urls[4]]
    assert set(outcomes(article).values()) == {Outcome.SUCCESS}


# --- a worker killed with SIGKILL, then the recovery its backend runs ------------------------

ROOT = Path(__file__).resolve().parent.parent
# Every peer on an address of its own: the per-host limits do not hold the fast behind the slow.
FAST_HOSTS = ["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"]


@dataclass
class Receiver:
    """A Webmention receiver on its own loopback address, counting requests. ``slow`` holds its
    first discovery GET ("page") or its first POST ("endpoint") until released."""

    server: HTTPServer
    slow: str = ""
    gets: int = 0
    posts: int = 0
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.server.expect_request("/post").respond_with_handler(self._page)
        self.server.expect_request("/webmention", method="POST").respond_with_handler(
            self._endpoint
        )

    @property
    def url(self) -> str:
        return self.server.url_for("/post")

    def _count(self, attribute: str) -> int:
        with self._lock:
            setattr(self, attribute, getattr(self, attribute) + 1)
            return int(getattr(self, attribute))

    def _hold(self, stage: str, count: int) -> None:
        if self.slow == stage and count == 1:
            self.arrived.set()
            self.release.wait(30)

    def _page(self, request: Request) -> Response:
        self._hold("page", self._count("gets"))
        return Response(
            '<html><head><link rel="webmention" href="/webmention"></head><body></body></html>',
            content_type="text/html",
        )

    def _endpoint(self, request: Request) -> Response:
        self._hold("endpoint", self._count("posts"))
        return Response("Accepted", status=202)


@contextmanager
def receivers(*specs: tuple[str, str]) -> Iterator[list[Receiver]]:
    """One threaded server per (address, slowness); released and stopped after the block."""
    started: list[Receiver] = []
    try:
        for host, slow in specs:
            server = HTTPServer(host=host, threaded=True)
            server.start()
            started.append(Receiver(server, slow))
        yield started
    finally:
        for receiver in started:
            receiver.release.set()
            receiver.server.stop()


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database file, the site set up, with a target entry (its task is queued)."""
    db = tmp_path_factory.mktemp("crash") / "migrated.sqlite3"
    scenario(db, "migrate")
    return db


@pytest.fixture
def site_db(migrated: Path, tmp_path: Path) -> Path:
    """A copy of the migrated database for one test."""
    db = tmp_path / "site.sqlite3"
    shutil.copyfile(migrated, db)
    return db


def scenario(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.crash_scenario", *args],
        cwd=ROOT,
        env=scenario_env(db),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def scenario_env(db: Path) -> dict[str, str]:
    return {**os.environ, "CRASH_DB": str(db), "DJANGO_SETTINGS_MODULE": "tests.crash_settings"}


def start_worker(db: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.crash_scenario", "worker"],
            cwd=ROOT,
            env=scenario_env(db),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def kill(worker: subprocess.Popen[bytes]) -> None:
    os.kill(worker.pid, signal.SIGKILL)
    assert worker.wait(timeout=30) == -signal.SIGKILL


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)) as connection:
        return connection.execute(sql).fetchall()


def outcomes_in(db: Path) -> dict[str, str]:
    return dict(query(db, "SELECT target_url, outcome FROM backlinks_django_outboundping"))


def tasks_in(db: Path, task: str) -> list[tuple[str, datetime, Any]]:
    """(status, run_after, arguments) of the queued ``backlinks_django.tasks.<task>`` tasks."""
    rows = query(
        db,
        "SELECT status, run_after, args_kwargs FROM django_tasks_database_dbtaskresult "
        f"WHERE task_path = 'backlinks_django.tasks.{task}' ORDER BY enqueued_at",
    )
    return [
        (status, datetime.fromisoformat(run_after).replace(tzinfo=UTC), json.loads(arguments))
        for status, run_after, arguments in rows
    ]


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    ends = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > ends:
            return False
        time.sleep(0.05)
    return True


def run_what_the_backend_runs_at(db: Path, when: datetime) -> None:
    """Let time pass until ``when``; then a new worker runs the tasks ready by then (the
    deferred recovery among them): what the site's next worker would do, with no command."""
    time.sleep(max(0.0, (when - datetime.now(UTC)).total_seconds()) + 0.2)
    scenario(db, "worker")


def test_a_worker_killed_mid_batch_loses_no_link_and_resends_none_delivered(site_db, tmp_path):
    db = site_db
    specs = [(host, "") for host in FAST_HOSTS] + [
        ("127.0.0.15", "page"),
        ("127.0.0.16", "endpoint"),
    ]
    with receivers(*specs) as peers:
        *fast, slow_page, slow_endpoint = peers
        pk = json.loads(scenario(db, "entry", *(peer.url for peer in peers)).stdout)["pk"]
        worker = start_worker(db, tmp_path / "worker.log")
        try:
            # Killed while one peer's discovery and another's POST are in flight; the four
            # fast links are delivered and (with each result stored as it comes) recorded.
            assert slow_page.arrived.wait(60) and slow_endpoint.arrived.wait(60), (
                tmp_path / "worker.log"
            ).read_text()
            four_recorded = wait_for(
                lambda: [outcomes_in(db).get(p.url) for p in fast] == ["success"] * 4, 3.5
            )
        finally:
            kill(worker)
        assert [(p.gets, p.posts) for p in peers] == [(1, 1)] * 4 + [(1, 0), (1, 1)]
        assert four_recorded, outcomes_in(db)
        # Before sending, the task queued its claim's recovery, for when the claim runs out;
        # the task itself stays "running" (its worker is dead).
        sends = [t for t in tasks_in(db, "send_pings") if t[2]["args"][1] == str(pk)]
        assert [(status, args["args"][2:]) for status, _, args in sends] == [
            ("RUNNING", [False]),
            ("READY", [False, True]),
        ]
        recovery = sends[1]
        assert recovery[1] > datetime.now(UTC)

        run_what_the_backend_runs_at(db, recovery[1])

        assert set(outcomes_in(db).values()) == {"success"}
        # The recorded links were not sent again; the unsent one once; the one in flight
        # twice (the documented window: the POST left, its result was never recorded).
        assert [p.posts for p in peers] == [1, 1, 1, 1, 1, 2]
        assert [p.gets for p in peers] == [1, 1, 1, 1, 2, 2]


def test_a_webmention_accepted_whose_verifier_was_killed_is_verified_later(site_db, tmp_path):
    db = site_db
    with receivers(("127.0.0.21", "")) as (receiver,):
        server = receiver.server
        arrived, release, fetches = threading.Event(), threading.Event(), []

        def page(request: Request) -> Response:  # a source page whose first fetch hangs
            fetches.append(time.monotonic())
            if len(fetches) == 1:
                arrived.set()
                release.wait(30)
            return Response(
                '<p><a href="http://testserver/articles/target/">the target</a></p>',
                content_type="text/html",
            )

        server.expect_request("/source").respond_with_handler(page)
        accepted = json.loads(scenario(db, "webmention", server.url_for("/source")).stdout)
        assert accepted["status"] in (201, 202), accepted
        worker = start_worker(db, tmp_path / "worker.log")
        try:
            assert arrived.wait(60), (tmp_path / "worker.log").read_text()
        finally:
            kill(worker)
            release.set()
        sql = "SELECT state FROM backlinks_django_inboundping"
        assert query(db, sql) == [("verifying",)]
        # Before verifying, the task queued a wake for after every claim it could take.
        wake = [t for t in tasks_in(db, "verify_inbound") if t[0] == "READY"]
        assert len(wake) == 1 and wake[0][1] > datetime.now(UTC)

        run_what_the_backend_runs_at(db, wake[0][1])

        assert query(db, sql) == [("accepted",)]
        assert len(fetches) == 2
