"""Two example sites ping each other through real web servers, queues and task workers.

Site A sends pingbacks and TrackBacks (its ``db_worker`` runs the task its saves queue) to
site B, whose two workers share one queue for Webmention verification; B sends A a
Webmention. The ``sites`` fixture (conftest.py) starts them; everything is checked from
outside, over HTTP or in a ``manage.py shell`` on the site's database.
"""

from __future__ import annotations

import datetime
import importlib.util
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import django
import pytest
import requests
from bs4 import BeautifulSoup

from tests.e2e.sites import DemoSite, Sites, http

_EXAMPLE_DEPENDENCIES = ["django_tasks_db"] + (["django_tasks"] if django.VERSION < (6,) else [])
_MISSING = [name for name in _EXAMPLE_DEPENDENCIES if importlib.util.find_spec(name) is None]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        bool(_MISSING),
        reason=f"the example project needs {', '.join(_MISSING)}: "
        'pip install -e ".[example]" (and ".[django52]" on Django 5.2)',
    ),
]

# The demo entries every site gets from demo_setup; with --peer, A's "linking-to-the-peer"
# ("Linking to site B") links to B's "hello-backlinks".
B_ENTRIES = [
    "hello-backlinks",
    "how-pingback-works",
    "trackbacks-the-older-sibling",
    "linking-to-the-peer",
]
POLL_TIMEOUT = 20.0


def entry_path(slug: str) -> str:
    return f"/entries/{slug}/"


def publish_without_pings(site: DemoSite, entries: list[dict[str, str]]) -> None:
    """Publish entries (slug, title, body) on ``site`` without queueing pings.

    ``bulk_create`` sends no post_save, so nothing goes out until a test saves an entry.
    """
    site.shell(
        """
        from django.utils import timezone
        from blog.models import Entry

        Entry.objects.bulk_create(
            [Entry(**fields, published_at=timezone.now(), pings_open=True) for fields in params["entries"]]
        )
        """,
        entries=entries,
    )


def send_webmention(sender: requests.Session, site: DemoSite, source: str, target: str) -> str:
    """POST a Webmention to ``site``; return the status URL of its 201 answer."""
    response = sender.post(
        site.url("/backlinks/webmention/"),
        data={"source": source, "target": target},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.headers["Location"]


def poll_status(status_url: str) -> dict[str, Any]:
    """The Webmention status JSON once it has left "queued" (or after POLL_TIMEOUT)."""
    deadline = time.monotonic() + POLL_TIMEOUT
    with http() as session:
        while True:
            status: dict[str, Any] = session.get(status_url, timeout=10).json()
            if status["state"] != "queued" or time.monotonic() > deadline:
                return status
            time.sleep(0.1)


def test_pingback_sent_by_a_worker_waits_on_b_and_shows_once_approved(sites: Sites) -> None:
    a, b = sites.a, sites.b
    source = a.url(entry_path("linking-to-the-peer"))
    target = b.url(entry_path("hello-backlinks"))

    # As if saved in A's admin: in autocommit, on_commit queues the task at once.
    a.shell(
        """
        from blog.models import Entry
        Entry.objects.get(slug="linking-to-the-peer").save()
        """
    )
    received = b.shell(
        """
        from backlinks_django.models import Backlink
        result = wait_until(
            lambda: list(
                Backlink.objects.filter(source_url=params["source"]).values(
                    "kind", "status", "target_url", "title"
                )
            ),
            timeout=params["poll_timeout"],
        )
        """,
        source=source,
        poll_timeout=POLL_TIMEOUT,
    )
    assert received == [
        {
            "kind": "pingback",
            "status": "pending",
            "target_url": target,
            "title": "Linking to site B",
        }
    ]

    approved = b.shell(
        """
        from backlinks_django.models import Backlink
        from backlinks_django.moderation import approve
        result = approve(Backlink.objects.filter(source_url=params["source"]))
        """,
        source=source,
    )
    assert approved == 1
    with http() as session:
        page = BeautifulSoup(session.get(target, timeout=10).text, "html.parser")
    shown = [
        (link["href"], link.get_text(strip=True)) for link in page.select("#backlinks li > a")
    ]
    assert shown == [(source, "Linking to site B")]


def test_trackback_requested_on_a_waits_on_b(sites: Sites) -> None:
    a, b = sites.a, sites.b
    target = b.url(entry_path("how-pingback-works"))
    ping_url = b.url(
        b.shell(
            """
            from backlinks_django.registry import trackback_path
            from blog.models import Entry
            result = trackback_path(Entry.objects.get(slug="how-pingback-works"))
            """
        )
    )
    source = a.url(entry_path("a-trackback-to-b"))
    publish_without_pings(
        a,
        [
            {
                "slug": "a-trackback-to-b",
                "title": "A trackback to site B",
                # B verifies that the source links to the target.
                "body": f'<p>Site B explains <a href="{target}">how pingback works</a>.</p>',
            }
        ],
    )

    sent = a.shell(
        """
        from django.contrib.contenttypes.models import ContentType
        from django.contrib.sites.models import Site
        from backlinks_django.models import Kind, OutboundPing, Outcome
        from blog.models import Entry

        entry = Entry.objects.get(slug="a-trackback-to-b")
        row = {
            "site": Site.objects.get_current(),
            "content_type": ContentType.objects.get_for_model(Entry),
            "object_id": str(entry.pk),
        }
        # The body's link counts as handled before: otherwise its pingback and the
        # TrackBack race to B, and whichever comes second is "already registered".
        OutboundPing.objects.create(**row, target_url=params["target"], outcome=Outcome.SKIPPED)
        # What the admin's "Send trackbacks to" inline stores (admin.TrackbackForm).
        OutboundPing.objects.create(
            **row,
            target_url=params["ping_url"],
            endpoint=params["ping_url"],
            requested=True,
            protocol=Kind.TRACKBACK,
        )
        entry.save()
        result = wait_until(
            lambda: list(
                OutboundPing.objects.filter(**row, requested=True)
                .exclude(outcome=Outcome.PENDING)
                .values("outcome", "protocol", "target_url")
            ),
            timeout=params["poll_timeout"],
        )
        """,
        target=target,
        ping_url=ping_url,
        poll_timeout=POLL_TIMEOUT,
    )
    assert sent == [{"outcome": "success", "protocol": "trackback", "target_url": ping_url}]

    received = b.shell(
        """
        from backlinks_django.models import Backlink
        result = list(
            Backlink.objects.filter(source_url=params["source"]).values(
                "kind", "status", "target_url", "title", "blog_name"
            )
        )
        """,
        source=source,
    )
    assert received == [
        {
            "kind": "trackback",
            "status": "pending",
            "target_url": target,
            "title": "A trackback to site B",
            "blog_name": "Demo site A",
        }
    ]


def test_webmention_sent_by_b_worker_is_verified_by_a_worker_and_waits(sites: Sites) -> None:
    # B keeps the default SEND_PROTOCOLS, Webmention first; A, receiving, verifies in a task.
    a, b = sites.a, sites.b
    source = b.url(entry_path("linking-to-the-peer"))
    target = a.url(entry_path("hello-backlinks"))

    sent = b.shell(
        """
        from backlinks_django.models import OutboundPing, Outcome
        from blog.models import Entry

        entry = Entry.objects.get(slug="linking-to-the-peer")
        entry.save()
        result = wait_until(
            lambda: list(
                OutboundPing.objects.for_object(entry)
                .exclude(outcome=Outcome.PENDING)
                .values("outcome", "protocol", "target_url")
            ),
            timeout=params["poll_timeout"],
        )
        """,
        poll_timeout=POLL_TIMEOUT,
    )
    assert sent == [{"outcome": "success", "protocol": "webmention", "target_url": target}]

    received = a.shell(
        """
        from backlinks_django.models import Backlink
        result = wait_until(
            lambda: list(
                Backlink.objects.filter(source_url=params["source"]).values(
                    "kind", "status", "target_url", "title"
                )
            ),
            timeout=params["poll_timeout"],
        )
        """,
        source=source,
        poll_timeout=POLL_TIMEOUT,
    )
    assert received == [
        {
            "kind": "webmention",
            "status": "pending",
            "target_url": target,
            "title": "Linking to site A",
        }
    ]


def test_webmention_posted_to_b_is_accepted_at_its_status_url(sites: Sites) -> None:
    # A client's view of receiving: 201, a Location, and the state B's worker leaves there.
    a, b = sites.a, sites.b
    source = a.url(entry_path("a-mention-of-b"))
    target = b.url(entry_path("trackbacks-the-older-sibling"))
    publish_without_pings(
        a,
        [
            {
                "slug": "a-mention-of-b",
                "title": "Mentioning site B",
                "body": f'<p>On site B: <a href="{target}">trackbacks</a>.</p>',
            }
        ],
    )

    with http() as session:
        status_url = send_webmention(session, b, source, target)
    assert poll_status(status_url) == {
        "state": "accepted",
        "message": "",
        "source": source,
        "target": target,
    }
    received = b.shell(
        """
        from backlinks_django.models import Backlink
        result = list(
            Backlink.objects.filter(source_url=params["source"]).values(
                "kind", "status", "target_url", "title"
            )
        )
        """,
        source=source,
    )
    assert received == [
        {
            "kind": "webmention",
            "status": "pending",
            "target_url": target,
            "title": "Mentioning site B",
        }
    ]


def test_b_workers_share_the_queue_and_verify_each_webmention_once(sites: Sites) -> None:
    a, b = sites.a, sites.b
    count = 20
    mentions = [(f"a-many-mentions-{n:02}", B_ENTRIES[n % len(B_ENTRIES)]) for n in range(count)]
    publish_without_pings(
        a,
        [
            {
                "slug": slug,
                "title": f"Mention {slug}",
                "body": f'<p>See <a href="{b.url(entry_path(target))}">this</a>.</p>',
            }
            for slug, target in mentions
        ],
    )
    pairs = [(a.url(entry_path(slug)), b.url(entry_path(target))) for slug, target in mentions]

    # All at once: the tasks pile up in B's queue faster than one worker empties it.
    def send(pair: tuple[str, str]) -> str:
        with http() as session:
            return send_webmention(session, b, *pair)

    since = datetime.datetime.now(datetime.UTC).isoformat()
    with ThreadPoolExecutor(count) as pool:
        status_urls = list(pool.map(send, pairs))
    request_ids = [url.rstrip("/").rsplit("/", 1)[1] for url in status_urls]

    outcome = b.shell(
        """
        from django_tasks_db.models import DBTaskResult
        from datetime import timedelta
        from django.utils.dateparse import parse_datetime
        from backlinks_django.models import Backlink, InboundPing

        ids = set(params["ids"])

        def tasks():
            return list(
                DBTaskResult.objects.filter(
                    task_path="backlinks_django.tasks.verify_inbound",
                    enqueued_at__gte=parse_datetime(params["since"]),
                )
            )

        def deferred(task):
            # django-tasks-db stores "no run_after" as the year 9999.
            later = task.enqueued_at + timedelta(seconds=5)
            return task.run_after is not None and later < task.run_after and task.run_after.year < 9999

        def all_finished():
            # Every ping verified, and every task queued for them done.
            rows = InboundPing.objects.filter(pk__in=ids)
            return not rows.exclude(state="accepted").exists() and all(
                task.finished_at is not None for task in tasks() if not deferred(task)
            )

        wait_until(all_finished, timeout=params["poll_timeout"])
        result = {
            "tasks": [
                {
                    "status": task.status,
                    "workers": task.worker_ids,
                    "returned": task.return_value,
                }
                # Not the wakes queued for when another worker's claims would run out (were
                # it to die): they run a minute later, and find nothing.
                for task in tasks()
                if not deferred(task)
            ],
            "states": {
                str(pk): state
                for pk, state in InboundPing.objects.filter(pk__in=ids).values_list(
                    "pk", "state"
                )
            },
            "attempts": sorted(
                InboundPing.objects.filter(pk__in=ids).values_list("attempts", flat=True)
            ),
            "backlinks": list(
                Backlink.objects.filter(source_url__in=params["sources"]).values_list(
                    "source_url", "target_url", "kind"
                )
            ),
        }
        """,
        ids=request_ids,
        since=since,
        sources=[source for source, _ in pairs],
        poll_timeout=30,
    )

    tasks = outcome["tasks"]
    # One queued per ping: the sites' cache is local memory, which a worker cannot share
    # (each verifies as many as it can claim).
    assert len(tasks) >= count
    assert [task for task in tasks if task["status"] != "SUCCESSFUL"] == []
    assert [task for task in tasks if len(task["workers"]) != 1] == []  # claimed once
    assert sum(task["returned"] for task in tasks) == count  # each ping verified by one task
    assert outcome["attempts"] == [1] * count  # ... and claimed once
    assert outcome["states"] == dict.fromkeys(request_ids, "accepted")
    assert sorted(outcome["backlinks"]) == sorted([*pair, "webmention"] for pair in pairs)
    assert {worker for task in tasks for worker in task["workers"]} == {
        "b-worker-1",
        "b-worker-2",
    }
