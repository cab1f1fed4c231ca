"""What one received ping costs: queries from request to stored row, and one tree per page.

The query counts are pinned: a change that adds a query to every received ping shows here
(and in bench/inbound_profile.py), not only as a slower site.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.sites.models import Site
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backlinks_django import html, inbound
from backlinks_django.models import InboundPing, Kind
from tests.conftest import page_linking_to
from tests.redis_server import redis_url
from tests.settings import BACKLINKS as BASE

pytestmark = pytest.mark.django_db

# Database 12 of the tests' Redis server (others: tests/test_throttle_redis.py, tests/e2e).
REDIS_DATABASE = 13  # lane 1 (offset 8) gets 5: clear of every database lane 2 uses


def _sql(queries: CaptureQueriesContext) -> list[str]:
    # Transaction control is not a query of the app's.
    return [
        query["sql"]
        for query in queries.captured_queries
        if not query["sql"].startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"))
    ]


def test_a_pingback_verified_in_the_request_is_admitted_once(
    xmlrpc_call, article_url, serve_source
):
    source = serve_source(page_linking_to(article_url))
    earlier = serve_source(page_linking_to(article_url), path="/earlier")
    Site.objects.get_current()  # cached, as in a running site
    assert "registered" in xmlrpc_call("pingback.ping", earlier, article_url)

    with CaptureQueriesContext(connection) as queries:
        answer = xmlrpc_call("pingback.ping", source, article_url)

    assert "registered" in answer
    sql = _sql(queries)
    # The target, a stored twin, a queued twin, the site's settings and blocked domains read
    # afresh for what is stored now (the answer's reads of them are a moment old), the row.
    assert len(sql) == 6, "\n".join(sql)
    assert sum("backlinks_django_sitesettings" in query for query in sql) == 1
    assert sum("backlinks_django_blockeddomain" in query for query in sql) == 1


def _webmention(client: Any, source: str, target: str) -> None:
    response = client.post(
        "/backlinks/webmention/",
        urlencode({"source": source, "target": target}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code in (201, 202)


@override_settings(BACKLINKS={**BASE, "RECEIVE_BUDGET": 0})
def test_answering_a_webmention_takes_three_queries(
    client, article_url, django_capture_on_commit_callbacks
):
    Site.objects.get_current()
    _webmention(client, "http://blog.example/earlier", article_url)
    with CaptureQueriesContext(connection) as queries:
        _webmention(client, "http://blog.example/post", article_url)
    # The sender's share and the queue's size (counted: the local-memory cache is not shared),
    # the row with its turn unless a twin waits (one statement). The target, the site's
    # settings and the blocked domains are as this process read them for the answer before.
    assert len(_sql(queries)) == 3, "\n".join(_sql(queries))
    assert "NOT EXISTS" in _sql(queries)[-1]
    assert "MAX(" in _sql(queries)[-1]  # the turn, computed by the INSERT


@pytest.fixture
def redis_limits(monkeypatch):
    """The tests' Redis as the rate-limit cache (a shared one), every Redis command counted."""
    import redis

    url = redis_url(REDIS_DATABASE)
    commands: list[str] = []
    execute = redis.Redis.execute_command

    def counting(self: Any, *args: Any, **options: Any) -> Any:
        commands.append(str(args[0]))
        return execute(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counting)
    with override_settings(
        CACHES={
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "limits": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url},
        },
        BACKLINKS={**BASE, "RECEIVE_BUDGET": 0, "RATE_LIMIT_CACHE": "limits"},
    ):
        yield commands


def test_answering_a_webmention_on_redis_takes_one_query_and_one_round_trip(
    client, article_url, redis_limits, django_capture_on_commit_callbacks
):
    Site.objects.get_current()
    _webmention(client, "http://blog.example/first", article_url)  # makes the tallies
    redis_limits.clear()

    with CaptureQueriesContext(connection) as queries:
        _webmention(client, "http://blog.example/post", article_url)

    # The row with its turn unless a twin waits: the queue's caps are tallies in Redis, not
    # counts of rows; the target, the site's settings and blocked domains were read a moment
    # ago (for the answer before).
    assert len(_sql(queries)) == 1, "\n".join(_sql(queries))
    # The sender's rate, the sender's and the queue's tallies and a verifier slot, in one
    # script.
    assert redis_limits == ["EVAL"]


@pytest.mark.parametrize(
    ("returning", "count"),
    [
        pytest.param(True, 7, id="update-returning"),
        pytest.param(False, 9, id="select-then-update"),
    ],
)
@override_settings(BACKLINKS={**BASE, "RECEIVE_BUDGET": 0})
def test_verifying_a_queued_ping_takes_seven_queries(
    site, article_url, serve_source, monkeypatch, returning, count
):
    if not returning:  # as on MySQL and MariaDB, which return no rows from an UPDATE
        monkeypatch.setattr(inbound, "_returns_from_update", lambda alias: False)
    Site.objects.get_current()
    source = serve_source(page_linking_to(article_url))
    accepted = inbound.accept(
        inbound.Ping(Kind.WEBMENTION, source, article_url, remote_ip="198.51.100.7"), site
    )
    assert accepted.queued is not None

    with CaptureQueriesContext(connection) as queries:
        row = inbound.process_next()

    assert row is not None and row.state == InboundPing.State.ACCEPTED
    assert row.source_url == source and row.attempts == 1 and row.site == site
    # Claim: one UPDATE that picks the row and returns it (or the candidates, an UPDATE, a
    # read of the row); the target, site settings, blocked domains, a stored twin, the row;
    # the queue row's end.
    assert len(_sql(queries)) == count, "\n".join(_sql(queries))


def test_verifying_on_redis_reads_the_policy_only_when_it_changed(
    site, article_url, serve_source, redis_limits
):
    Site.objects.get_current()
    for n in range(2):
        source = serve_source(page_linking_to(article_url), path=f"/p{n}")
        inbound.accept(
            inbound.Ping(Kind.WEBMENTION, source, article_url, remote_ip="198.51.100.7"), site
        )
    assert inbound.process_next() is not None
    redis_limits.clear()

    with CaptureQueriesContext(connection) as queries:
        row = inbound.process_next()

    assert row is not None and row.state == InboundPing.State.ACCEPTED
    # The claim, the target, a stored twin, the row, the queue row's end: the site's switches
    # and the blocked domains are as the first verification read them, the policy's version
    # unchanged (a GET); the fetched server's cap and the source domain's rate are counted.
    assert len(_sql(queries)) == 5, "\n".join(_sql(queries))
    assert redis_limits == ["GET", "EVAL", "EVAL"]


@pytest.mark.parametrize(
    ("entry", "trees"),
    [
        pytest.param("", 0, id="no-microformats-no-tree"),
        pytest.param(" class='h-entry'", 1, id="an-h-entry-one-tree"),
    ],
)
def test_a_verified_page_becomes_a_tree_only_for_its_microformats(
    xmlrpc_call, article_url, serve_source, monkeypatch, entry, trees
):
    built = []

    class Counting(html.BeautifulSoup):
        def __init__(self, markup: str, *args: Any, **kwargs: Any) -> None:
            if article_url in markup:  # the page, not a title or an excerpt
                built.append(len(markup))
            super().__init__(markup, *args, **kwargs)

    monkeypatch.setattr(html, "BeautifulSoup", Counting)
    page = page_linking_to(article_url).replace("<body>", f"<body{entry}>")
    source = serve_source(page)

    assert "registered" in xmlrpc_call("pingback.ping", source, article_url)
    # The link's context comes from the tokens around it; mf2py reads a tree.
    assert len(built) == trees


def _queue_rows(
    site: Site, count: int, senders: int, domains: int, **fields: Callable[[int], object]
) -> None:
    """``count`` queued Webmentions from ``senders`` addresses about ``domains`` source
    domains, row ``n`` also given each of ``fields`` applied to ``n``."""
    InboundPing.objects.bulk_create(
        InboundPing(
            kind=Kind.WEBMENTION,
            site=site,
            source_url=f"http://blog{n}.example/p",
            target_url="http://testserver/articles/x/",
            sender=f"198.51.100.{n % senders}",
            source_domain=f"blog{n % domains}.example",
            **{name: value(n) for name, value in fields.items()},
        )
        for n in range(count)
    )


@override_settings(BACKLINKS={**BASE, "RECEIVE_BUDGET": 0})
def test_a_claim_orders_the_queue_by_an_index_not_a_ranking(site):
    now = timezone.now()
    _queue_rows(
        site, 1000, 200, 1000, received_at=lambda n: now - datetime.timedelta(seconds=1000 - n)
    )

    with CaptureQueriesContext(connection) as queries:
        candidates = inbound._candidates(timezone.now())

    (sql,) = _sql(queries)
    # Ordered by the stored turn through its index: no window function over the queue.
    assert "ROW_NUMBER" not in sql.upper() and "LIMIT 20" in sql
    oldest = InboundPing.objects.order_by("received_at").first()
    assert oldest is not None and candidates[0] == oldest.pk


def _scans(plan: dict[str, Any], table: str) -> Iterator[dict[str, Any]]:
    if plan.get("Relation Name") == table:
        yield plan
    for child in plan.get("Plans", []):
        yield from _scans(child, table)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner and EXPLAIN")
def test_a_claim_reads_a_few_rows_of_a_long_queue(site):
    """One condition over both waiting states made PostgreSQL read and sort every waiting row
    for each claim (a sequential scan of 4,000 rows: 3.6 ms); each state is now read in fair
    order through the index, stopping at the first rows under the caps."""
    _queue_rows(site, 5000, 100, 100, turn=lambda n: n // 100)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {InboundPing._meta.db_table}")
        moment = connection.ops.adapt_datetimefield_value(timezone.now())
        cursor.execute(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + inbound._candidates_sql("default"),
            inbound._candidates_params(moment),
        )
        (plan,) = cursor.fetchone()[0]

    read = [scan["Actual Rows"] for scan in _scans(plan["Plan"], InboundPing._meta.db_table)]
    assert read and max(read) <= 20, read
