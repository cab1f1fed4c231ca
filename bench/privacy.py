"""Privacy: retention, export and erasure of one person's data with 1,000,000 backlinks.

PostgreSQL only, on a database of its own (``backlinks_bench_privacy``), filled as scale.py fills
its own (received over about two years, 250 sender addresses, 20,000 source blogs, 4,000
articles), plus: an author URL on every Webmention, 100,000 inbound queue rows (one in ten still
waiting, one every 10 minutes), and 1% of the articles deleted by raw SQL (their backlinks
orphaned). Each case runs once, in this order, with ``CaptureQueriesContext``:

- export of one source blog (``--domain``: 50 rows), one address (``--ip``: 4,000 rows) and
  one author URL;
- erasure of one source blog, then of one address;
- ``backlinks_privacy retention`` on the two years of data (first run: nearly every address to
  clear), then again (the daily cron run, nothing to do).

    python bench/privacy.py --postgres            # 1,000,000 rows, 4,000 articles
    python bench/privacy.py --postgres --quick    # 20,000 rows, 100 articles

(Without a PostgreSQL server it says so; in --quick mode it exits 0.)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

from _setup import PG_HOST, PG_PORT, bench_database, postgres_unavailable
from scale import populate

DATABASE = "backlinks_bench_privacy"


def add_personal_data(rows: int, articles: int) -> None:
    """Author URLs on Webmentions, inbound queue rows, and orphaned backlinks."""
    from django.db import connection

    from backlinks_django.models import Backlink, InboundPing
    from tests.testapp.models import Article

    backlinks = connection.ops.quote_name(Backlink._meta.db_table)
    queue = connection.ops.quote_name(InboundPing._meta.db_table)
    article_table = connection.ops.quote_name(Article._meta.db_table)
    # Two years whatever the number of rows, so that retention has old rows to clear.
    stretch = 1_000_000 / rows
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {backlinks} SET "  # noqa: S608 -- table names from the models
            "author_url = CASE WHEN kind = 'webmention' "
            "THEN 'https://' || split_part(source_url, '/', 3) || '/about/' ELSE '' END, "
            "received_at = now() - (now() - received_at) * %s",
            [stretch],
        )
        cursor.execute(
            f"""
            INSERT INTO {queue} (
                id, kind, site_id, source_url, target_url, target_object_id, title, excerpt,
                blog_name, remote_ip, user_agent, sender, source_domain, state, message,
                detail, attempts, turn, received_at, updated_at)
            SELECT gen_random_uuid(), 'webmention', 1,
                'https://blog' || (i %% 20000) || '.example.com/' || i || '/queued/',
                'http://bench.example/articles/article-' || (1 + i %% 100) || '/',
                '', '', '', '', ('203.0.113.' || (1 + i %% 250))::inet, 'Peer/1.0',
                '203.0.113.' || (1 + i %% 250), 'example.com',
                CASE WHEN i %% 10 = 0 THEN 'queued' ELSE 'accepted' END, '', '', 1, 0,
                now() - i * %(step)s * interval '10 minutes',
                now() - i * %(step)s * interval '10 minutes'
            FROM generate_series(1, %(rows)s) AS i
            """,  # noqa: S608
            {"rows": rows // 10, "step": stretch},
        )
        # Deleted behind Django's back: no signal, so their backlinks are orphans.
        cursor.execute(
            f"DELETE FROM {article_table} WHERE id IN "  # noqa: S608
            f"(SELECT id FROM {article_table} ORDER BY id DESC LIMIT %s)",
            [max(1, articles // 100)],
        )
        cursor.execute(f"VACUUM ANALYZE {backlinks}")
        cursor.execute(f"VACUUM ANALYZE {queue}")


def run(job: Callable[[], Any]) -> tuple[float, int, Any]:
    """Seconds, queries and result of one call."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = job()
        seconds = time.perf_counter() - started
    return seconds, len(queries), result


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
        print(f"privacy.py: skipped, PostgreSQL is needed and {reason}")
        sys.exit(0 if args.quick else 1)

    with bench_database("postgres", DATABASE):
        import django
        from django.db import connection

        from backlinks_django import privacy, retention
        from backlinks_django.models import Backlink, InboundPing

        started = time.perf_counter()
        populate(rows, articles)
        add_personal_data(rows, articles)
        fill_seconds = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            pg_version = cursor.fetchone()[0]
        queue_rows = InboundPing.objects.count()

        blog = privacy.Selector(domains=("blog7.example.com",))
        address = privacy.Selector(ips=("203.0.113.10",))
        author = privacy.Selector(author_urls=("https://blog8.example.com/about",))

        def exported(selector: privacy.Selector) -> Callable[[], str]:
            def job() -> str:
                data = privacy.export(selector)
                text = privacy.export_json(data)
                return (
                    f"{len(data['backlinks']):,} backlinks, {len(data['inbound_pings']):,} "
                    f"queue rows, {len(text) / 1e6:.1f} MB of JSON"
                )

            return job

        def erased(selector: privacy.Selector) -> Callable[[], str]:
            def job() -> str:
                done = privacy.erase(selector)
                return ", ".join(f"{n:,} {label}" for label, n in done.deleted.items())

            return job

        def retain() -> str:
            done = retention.apply_retention()
            return (
                f"{done.backlinks_cleared:,} backlinks and {done.inbound_cleared:,} queue rows "
                f"cleared, {done.inbound_deleted:,} queue rows and {done.orphans_deleted:,} "
                "orphans deleted"
            )

        cases = [
            ("export --domain (one blog)", exported(blog)),
            ("export --ip (one of 250 senders)", exported(address)),
            ("export --author-url", exported(author)),
            ("erase --domain (one blog)", erased(blog)),
            ("erase --ip (one of 250 senders)", erased(address)),
            ("retention, first run", retain),
            ("retention, again (daily cron)", retain),
        ]
        results = [(label, *run(job)) for label, job in cases]
        left = Backlink.objects.count()

    print(
        f"Privacy: {rows:,} backlinks, {queue_rows:,} queue rows, {articles:,} articles, "
        f"PostgreSQL {pg_version} at {PG_HOST}:{PG_PORT}; Python {sys.version.split()[0]}, "
        f"Django {django.get_version()}"
    )
    print(f"(filled and VACUUM ANALYZEd in {fill_seconds:.1f}s; each case run once, in order)")
    print(f"{'case':<36}{'time':>10}{'queries':>9}  result")
    for label, seconds, queries, result in results:
        print(f"{label:<36}{seconds:>9.2f}s{queries:>9}  {result}")
    print(f"({left:,} backlinks left)")


if __name__ == "__main__":
    main()
