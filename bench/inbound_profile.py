"""CPU and queries per received ping, in one process: where inbound's time goes.

No gunicorn and no clients: Django's test client posts to the app in this process, so
``time.process_time()`` is the app's CPU alone, robust to whatever else shares the machine.
Source pages (bench/inbound.py's, about 6 KB) come from a server on 127.0.0.2 in another
process. Rows:

- ``pingback.ping`` verified in the request: XML-RPC view, ``inbound.accept``, fetch,
  verification, pipeline, save;
- a Webmention answered (queued; its task is not run) and then verified by
  ``inbound.process_next`` (claim, fetch, verification, pipeline, save);
- the claim query alone (``inbound._candidates``) with 0, 1,000 and 10,000 rows due.

CPU ms per ping (the database server's too with ``--postgres``, read from /proc), and queries
per ping. ``--profile`` prints cProfile's top functions of each row; ``--parts`` the CPU per ping
spent in each step of verifying and storing (inclusive: a step's figure holds the steps it
calls), without cProfile's overhead on everything else. ``--page`` chooses the source page:
``small`` (the default, bench/inbound.py's 6 KB), ``large`` (about 70 KB of blog HTML with a
script, a style sheet, navigation and 300 paragraphs) or ``large-mf`` (the same marked up as an
h-entry with p-name, e-content and a p-author h-card).

    python bench/inbound_profile.py                 # SQLite file, 200 pings a row
    python bench/inbound_profile.py --postgres --profile
    python bench/inbound_profile.py --quick         # 20 pings a row, claims at 0 and 1,000 rows
    python bench/inbound_profile.py --parts --page large-mf
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
import xmlrpc.client
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

from _setup import bench_database, postgres_unavailable
from inbound import ARTICLES, SOURCE_HOST, cpu_seconds, source_page, start_sources

SITE = "testserver"


def large_page(n: int, target: str, microformats: bool = False) -> bytes:
    """About 70 KB of blog HTML linking to ``target`` near its end (an h-entry if asked)."""
    paragraphs = "".join(
        f"<p>Paragraph {i} of post {n}: some prose with <em>emphasis</em> and "
        f'<a href="https://other{i}.example.net/{n}/">a link elsewhere</a>, as blogs do, '
        f"followed by a few more words to give it the length of a paragraph.</p>\n"
        for i in range(300)
    )
    menu = "".join(f"<li><a href='/category/{i}/'>Category {i}</a></li>" for i in range(40))
    entry, name, content, author = (
        (" class='h-entry'", " class='p-name'", " class='e-content'", " class='p-author h-card'")
        if microformats
        else ("", "", "", "")
    )
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Source post {n}"
        f"</title><script>window.dataLayer=window.dataLayer||[];</script>"
        f"<style>body{{font:16px/1.5 serif}} nav a{{margin:1em}}</style></head><body>"
        f"<header><nav><ul>{menu}</ul></nav></header><article{entry}>"
        f"<h1{name}>Source post {n}</h1>"
        f"<time class='dt-published' datetime='2026-12-01T10:00:00Z'>1 December</time>"
        f"<div{content}>{paragraphs}"
        f'<p>As <a href="{target}">this article</a> says, pings are worth verifying.</p></div>'
        f"<a{author} href='https://author.example/'>An author</a></article>"
        f"<footer><a href='/about/'>About</a></footer></body></html>"
    ).encode()


PAGES: dict[str, Callable[[int, str], bytes]] = {
    "small": source_page,
    "large": large_page,
    "large-mf": lambda n, target: large_page(n, target, microformats=True),
}

# The steps of verifying and storing a ping that --parts times, as (module, attribute).
PARTS = (
    ("backlinks_django.xmlrpc", "dispatch"),
    ("backlinks_django.protocols.pingback", "loads"),
    ("backlinks_django.inbound", "accept"),
    ("backlinks_django.admission", "admit"),
    ("backlinks_django.admission", "check_url"),
    ("backlinks_django.admission", "resolve_target"),
    ("backlinks_django.inbound", "_waiting_twin"),
    ("backlinks_django.admission", "rate_wait"),
    ("backlinks_django.inbound", "_full"),
    ("backlinks_django.inbound", "_enqueue"),
    ("backlinks_django.tasks", "wake_verifiers"),
    ("backlinks_django.inbound", "process_next"),
    ("backlinks_django.inbound", "_candidates"),
    ("backlinks_django.pipeline", "receive"),
    ("backlinks_django.verification", "verify_source"),
    ("backlinks_django.verification", "_fetch_source"),
    ("backlinks_django.linksearch", "find_link"),
    ("backlinks_django.linksearch", "_LinkScanner.find"),
    ("backlinks_django.linksearch", "_excerpt"),
    ("backlinks_django.linksearch", "_title"),
    ("backlinks_django.linksearch", "_context_in"),
    ("backlinks_django.linksearch", "_link_context"),
    ("backlinks_django.mf2", "may_hold_entry"),
    ("backlinks_django.html", "parse_html"),
    ("backlinks_django.html", "drop_hidden"),
    ("backlinks_django.mf2", "entry_from_tree"),
    ("backlinks_django.pipeline", "_fill"),
    ("backlinks_django.pipeline", "_moderate"),
    ("backlinks_django.models.backlinks", "Backlink.save"),
    ("backlinks_django.signals", "backlink_received.send"),
    ("backlinks_django.notifications", "notify_managers"),
    ("backlinks_django.models.inbound", "InboundPing.save"),
)


@contextmanager
def timed_parts(spent: dict[str, float]) -> Iterator[None]:
    """Add each of :data:`PARTS`' CPU seconds (outermost calls only) to ``spent`` meanwhile.

    A function is wrapped where it is defined and wherever a module of the app imported it;
    one the app does not have (any more) is left out.
    """
    import importlib

    undo: list[tuple[Any, str, Any]] = []
    for module_name, path in PARTS:
        module = importlib.import_module(module_name)
        *owners, name = path.split(".")
        holder: Any = module
        for owner in owners:
            holder = getattr(holder, owner, None)
        original = getattr(holder, name, None)
        if original is None:
            continue
        wrapper = _timer(original, path, spent)
        setattr(holder, name, wrapper)
        undo.append((holder, name, original))
        if owners:
            continue
        for other in list(sys.modules.values()):
            if (
                other is not module
                and getattr(other, "__name__", "").startswith("backlinks_django")
                and getattr(other, name, None) is original
            ):
                setattr(other, name, wrapper)
                undo.append((other, name, original))
    try:
        yield
    finally:
        for holder, name, original in reversed(undo):
            setattr(holder, name, original)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _timer(function: Callable[..., Any], label: str, spent: dict[str, float]) -> Any:
    depth = 0

    def timed(*args: Any, **kwargs: Any) -> Any:
        nonlocal depth
        if depth:
            return function(*args, **kwargs)
        depth += 1
        started = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[label] += time.process_time() - started
            depth -= 1

    return timed


def measure(
    label: str,
    count: int,
    one: Callable[[int], object],
    database: str,
    profile: bool,
    show_queries: bool = False,
    parts: bool = False,
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    profiler = cProfile.Profile(time.process_time) if profile else None
    db_before = cpu_seconds("postgres: ", f" {database} ") if database else 0.0
    spent: dict[str, float] = defaultdict(float)
    with CaptureQueriesContext(connection) as queries, timed_parts(spent) if parts else _nothing():
        started = time.process_time()
        if profiler:
            profiler.enable()
        for n in range(count):
            one(n)
        if profiler:
            profiler.disable()
        cpu = time.process_time() - started
    db = (cpu_seconds("postgres: ", f" {database} ") - db_before) if database else 0.0
    print(
        f"{label:<44}{cpu / count * 1000:>8.2f}{db / count * 1000:>8.2f}"
        f"{len(queries.captured_queries) / count:>9.1f}",
        flush=True,
    )
    for _module, path in PARTS:
        if path in spent:
            print(f"    {path:<40}{spent[path] / count * 1000:>8.2f}")
    if show_queries:
        per_ping = len(queries.captured_queries) // count
        for query in queries.captured_queries[-per_ping:]:
            print(f"    {query['sql'][:300]}")
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 pings a row")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--pings", type=int, help="pings per row (default 200)")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    parser.add_argument("--queries", action="store_true", help="print the last ping's queries")
    parser.add_argument("--parts", action="store_true", help="CPU per ping of each step")
    parser.add_argument("--page", choices=sorted(PAGES), default="small", help="the source page")
    args = parser.parse_args()
    count = args.pings or (20 if args.quick else 200)
    queue_sizes = [0, 1000] if args.quick else [0, 1000, 10_000]
    if args.postgres:
        reason = postgres_unavailable()
        if reason:
            print(f"inbound_profile.py --postgres: skipped, {reason}")
            sys.exit(0 if args.quick else 1)
        # A name of this process's own: two runs at once must not share a database.
        engine = "postgres"
        name = database = f"backlinks_bench_profile_{os.getpid()}"
    else:
        engine, database = "sqlite", ""
        name = os.path.join(tempfile.gettempdir(), f"backlinks_bench_profile_{os.getpid()}.db")

    sources, source_port = start_sources(f"http://{SITE}", page=PAGES[args.page])
    source = f"http://{SOURCE_HOST}:{source_port}"
    try:
        with bench_database(engine, name):
            import django
            from django.contrib.sites.models import Site
            from django.test import Client
            from django.utils import timezone

            from backlinks_django import inbound, tasks
            from backlinks_django.models import Backlink, InboundPing
            from tests.testapp.models import Article

            Site.objects.filter(pk=1).update(domain=SITE, name="bench")
            published = timezone.now() - timezone.timedelta(days=1)
            Article.objects.bulk_create(
                Article(title=f"Article {i}", slug=f"article-{i}", body="", published_at=published)
                for i in range(ARTICLES)
            )
            client = Client()

            def pair(n: int) -> tuple[str, str]:
                slug = f"article-{n % ARTICLES}"
                return f"{source}/post/{n}/{slug}/", f"http://{SITE}/articles/{slug}/"

            def pingback(n: int) -> None:
                body = xmlrpc.client.dumps(pair(n), "pingback.ping")
                response = client.post("/backlinks/xmlrpc/", body, content_type="text/xml")
                assert b"registered" in response.content, response.content[:300]

            def webmention(n: int) -> None:
                source_url, target_url = pair(n)
                response = client.post(
                    "/backlinks/webmention/",
                    urlencode({"source": source_url, "target": target_url}),
                    content_type="application/x-www-form-urlencoded",
                    REMOTE_ADDR=f"10.0.0.{n % 100}",
                )
                assert response.status_code in (201, 202), response.content[:300]

            def verify(_n: int) -> None:
                row = inbound.process_next()
                assert row is not None and row.state == InboundPing.State.ACCEPTED, row

            print(
                f"Python {sys.version.split()[0]}, Django {django.get_version()}, {engine}; "
                f"load {', '.join(f'{x:.2f}' for x in os.getloadavg())}; {count} pings a row, "
                f"{args.page} page"
            )
            print(f"{'':<44}{'app ms':>8}{'db ms':>8}{'queries':>9}")
            for n in range(2 * ARTICLES):  # warm-up: imports, caches, each target's patterns
                pingback(10**6 + n)
            measure(
                "pingback.ping verified in the request",
                count,
                pingback,
                database,
                args.profile,
                args.queries,
                args.parts,
            )
            queue_accepted = tasks.queue_accepted
            tasks.queue_accepted = lambda accepted: None  # the task is run below, by hand
            try:
                offset = 2 * 10**6
                measure(
                    "Webmention answered (queued)",
                    count,
                    lambda n: webmention(offset + n),
                    database,
                    args.profile,
                    args.queries,
                    args.parts,
                )
            finally:
                tasks.queue_accepted = queue_accepted
            measure(
                "Webmention verified by process_next",
                count,
                verify,
                database,
                args.profile,
                args.queries,
                args.parts,
            )
            assert not InboundPing.objects.waiting().exists()
            for size in queue_sizes:
                InboundPing.objects.all().delete()
                site = Site.objects.get(pk=1)
                InboundPing.objects.bulk_create(
                    InboundPing(
                        kind="webmention",
                        site=site,
                        source_url=f"{source}/post/{n}/article-0/",
                        target_url=f"http://{SITE}/articles/article-0/",
                        sender=f"10.0.0.{n % 100}",
                        source_domain=f"blog{n % 300}.example",
                    )
                    for n in range(size)
                )
                now = timezone.now()
                measure(
                    f"claim query, {size:,} rows due",
                    max(10, count // 10),
                    lambda _n, now=now: inbound._candidates(now),
                    database,
                    False,
                )
            print(f"stored: {Backlink.objects.count()} backlinks")
    finally:
        sources.terminate()
        sources.join()


if __name__ == "__main__":
    main()
