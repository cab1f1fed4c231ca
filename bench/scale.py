"""Scale: the admin changelist and an article's backlink list with 1,000,000 Backlink rows.

PostgreSQL only: a database of its own (``backlinks_bench``), created, migrated, filled and
dropped here. Rows are inserted with ``INSERT ... SELECT ... FROM generate_series`` and the
table is then VACUUM ANALYZEd (as autovacuum would have done on a live site): a few thousand
Articles; 5% of backlinks pending, 5% spam, 1% rejected, the rest approved, kinds mixed,
received over about two years. One article has exactly 200 approved backlinks (and some
pending and spam ones).

Measured through Django's test client, logged in as a superuser (admin) or anonymous (the
article page), with ``CaptureQueriesContext`` for the query count; times are the median of 5
requests after one warm-up request:

- the admin changelist filtered to pending (``?status__exact=pending``), and unfiltered;
- the article page (tests.testapp's template: ``get_backlinks`` and ``backlink_count``);
- those two template tags alone, rendered for the same article.

    python bench/scale.py --postgres            # 1,000,000 rows, 4,000 articles
    python bench/scale.py --postgres --quick    # 20,000 rows, 100 articles

(``--postgres`` is accepted for symmetry with the other scripts: PostgreSQL is the only
database this benchmark runs on. Without a server it says so; in --quick mode it exits 0.)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

from _setup import PG_HOST, PG_PORT, bench_database, postgres_unavailable

DATABASE = "backlinks_bench"
HOT_APPROVED = 200
RUNS = 5


def populate(rows: int, articles: int) -> None:
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    from backlinks_django.models import Backlink
    from tests.testapp.models import Article

    content_type = ContentType.objects.get_for_model(Article).pk
    article_table = connection.ops.quote_name(Article._meta.db_table)
    backlink_table = connection.ops.quote_name(Backlink._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {article_table} (title, slug, body, published_at, pings_open)
            SELECT 'Article ' || i, 'article-' || i,
                   '<p>Body of article ' || i || '.</p>',
                   now() - i * interval '6 hours', true
            FROM generate_series(1, %s) AS i
            """,  # noqa: S608 -- table names from the models
            [articles],
        )
        cursor.execute(f"SELECT min(id) FROM {article_table}")  # noqa: S608
        first = cursor.fetchone()[0]
        # Rows 1..HOT_APPROVED are the first article's, all approved; the other articles share
        # the rest, whose status follows i's remainder (5% pending, 5% spam, 1% rejected).
        cursor.execute(
            f"""
            INSERT INTO {backlink_table} (
                kind, status, reason, site_id, content_type_id, object_id, target_url,
                source_url, title, excerpt, blog_name, mention_type, author_name, author_url,
                author_photo, avatar, published, original_url, remote_ip, user_agent,
                received_at, updated_at)
            SELECT
                (ARRAY['pingback', 'trackback', 'webmention'])[1 + i %% 3],
                CASE WHEN i <= %(hot)s THEN 'approved'
                     WHEN i %% 20 = 0 THEN 'pending'
                     WHEN i %% 20 = 1 THEN 'spam'
                     WHEN i %% 100 = 2 THEN 'rejected'
                     ELSE 'approved' END,
                '', 1, %(ct)s,
                CASE WHEN i <= %(hot)s THEN %(first)s
                     ELSE %(first)s + 1 + i %% (%(articles)s - 1) END::text,
                'http://bench.example/articles/article-' ||
                    CASE WHEN i <= %(hot)s THEN 1 ELSE 2 + i %% (%(articles)s - 1) END || '/',
                'https://blog' || (i %% 20000) || '.example.com/' || i || '/a-post-that-links/',
                'A post that links here, number ' || i,
                'Some context before the link, then the link text, then some more context '
                    'after it, as a blog would write it around a link to this article ' || i,
                'Blog ' || (i %% 20000),
                'mention', '', '', '', '', NULL, '',
                ('203.0.113.' || (1 + i %% 250))::inet,
                'WordPress/6.5; https://blog' || (i %% 20000) || '.example.com',
                now() - i * interval '1 minute',
                now() - i * interval '1 minute'
            FROM generate_series(1, %(rows)s) AS i
            """,  # noqa: S608
            {
                "hot": HOT_APPROVED,
                "ct": content_type,
                "articles": articles,
                "first": first,
                "rows": rows,
            },
        )
        cursor.execute(f"VACUUM ANALYZE {backlink_table}")
        cursor.execute(f"VACUUM ANALYZE {article_table}")


def measure(request: Callable[[], object]) -> tuple[float, list[tuple[float, str]]]:
    """Median seconds of RUNS calls after a warm-up; (seconds, SQL) of one call's queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    request()
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        request()
        times.append(time.perf_counter() - started)
    with CaptureQueriesContext(connection) as queries:
        request()
    return statistics.median(times), [(float(q["time"]), q["sql"]) for q in queries]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 rows, 100 articles")
    parser.add_argument("--postgres", action="store_true", help="(the only database used)")
    parser.add_argument("--rows", type=int, help="Backlink rows (default 1,000,000)")
    parser.add_argument("--articles", type=int, help="Articles (default 4,000)")
    args = parser.parse_args()
    rows = args.rows or (20_000 if args.quick else 1_000_000)
    articles = args.articles or (100 if args.quick else 4_000)

    reason = postgres_unavailable()
    if reason:
        print(f"scale.py: skipped, PostgreSQL is needed and {reason}")
        sys.exit(0 if args.quick else 1)

    with bench_database("postgres", DATABASE):
        import django
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.template import Context, Template
        from django.test import Client

        from backlinks_django.models import Backlink
        from tests.testapp.models import Article

        started = time.perf_counter()
        populate(rows, articles)
        fill_seconds = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            pg_version = cursor.fetchone()[0]
        pending = Backlink.objects.pending().count()
        hot = Article.objects.order_by("pk").first()
        assert hot is not None
        approved_hot = Backlink.objects.for_object(hot).approved().count()

        admin = Client()
        admin.force_login(
            get_user_model().objects.create_superuser("bench", "bench@example.com", "bench")
        )
        visitor = Client()
        tags = Template(
            "{% load backlinks %}{% get_backlinks article as backlinks %}"
            "{% backlink_count article %} backlinks"
            "{% for b in backlinks %}<a href='{{ b.source_url }}'>{{ b.title }}</a>"
            "{{ b.excerpt }} {{ b.blog_name }} {{ b.received_at|date }}{% endfor %}"
        )

        def get(client: Client, url: str) -> Callable[[], object]:
            def request() -> object:
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
                return response

            return request

        cases = [
            (
                f"admin changelist, pending ({pending:,} rows)",
                get(admin, "/admin/backlinks_django/backlink/?status__exact=pending"),
            ),
            (
                f"admin changelist, all ({rows:,} rows)",
                get(admin, "/admin/backlinks_django/backlink/"),
            ),
            (
                f"article page ({approved_hot} approved backlinks)",
                get(visitor, f"/articles/{hot.slug}/"),
            ),
            (
                "get_backlinks + backlink_count only",
                lambda: tags.render(Context({"article": hot})),
            ),
        ]
        results = [(label, *measure(request)) for label, request in cases]
        body = admin.get("/admin/backlinks_django/backlink/?status__exact=pending").content
        listed = body.count(b'class="action-select"')
        shown = visitor.get(f"/articles/{hot.slug}/").content.count(b'class="backlink"')

    print(
        f"Scale: {rows:,} backlinks ({pending:,} pending) on {articles:,} articles, PostgreSQL "
        f"{pg_version} at {PG_HOST}:{PG_PORT}; Python {sys.version.split()[0]}, "
        f"Django {django.get_version()}"
    )
    print(f"(filled and VACUUM ANALYZEd in {fill_seconds:.1f}s; median of {RUNS} requests)")
    print(f"{'request':<46}{'median':>10}{'queries':>9}{'in SQL':>10}{'slowest':>10}")
    footnotes = []
    for label, seconds, queries in results:
        slowest = sorted(queries, reverse=True)
        total = sum(t for t, _ in queries)
        print(
            f"{label:<46}{seconds * 1000:>8.1f}ms{len(queries):>9}{total * 1000:>8.0f}ms"
            f"{slowest[0][0] * 1000:>8.0f}ms"
        )
        for query_seconds, sql in slowest[:3]:
            if query_seconds >= 0.01:
                short = label.split(" (")[0]
                footnotes.append(f"  {query_seconds * 1000:5.0f}ms  {short}: {sql[:100]}...")
    print(
        f"(the pending changelist lists {listed} rows per page, the article page {shown} "
        f"backlinks; query times from connection.queries, 1 ms resolution)"
    )
    if footnotes:
        print("queries over 10 ms:")
        print("\n".join(footnotes))


if __name__ == "__main__":
    main()
