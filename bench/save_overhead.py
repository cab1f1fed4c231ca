"""Cost of the app's post_save hook: saving an entry with 100 links, hook connected vs not.

Each save is ``with transaction.atomic(): article.save()`` of a published Article (registered
with the app) whose body links 100 URLs, so the commit runs the hook's on_commit callback: it
enqueues the sending task on the DummyBackend (no network, no worker; the links themselves are
read by the task, not by the hook). Connected and disconnected runs alternate in blocks so
that drift (CPU frequency, caches, the growing SQLite page cache) hits both alike. Medians of
per-save wall times; goal: connected / disconnected <= 1.10. A third run keeps the hook
connected but replaces ``tasks.enqueue_send`` by a no-op, to split the app's own cost (receiver,
registration checks, on_commit) from the task backend's ``enqueue``.

    python bench/save_overhead.py              # 10,000 saves each way, in-memory SQLite
    python bench/save_overhead.py --postgres   # the same on PostgreSQL (a database of its own)
    python bench/save_overhead.py --quick      # 500 saves each way
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

from _setup import bench_database, django_with_database, postgres_unavailable

GOAL = 1.10
DISPATCH_UID = "backlinks_django.queue_pings"


def article_body(links: int) -> str:
    return "\n".join(
        f'<p>Paragraph {i} of the post, with <a href="https://peer{i}.example.org/{i}/">'
        f"a link to peer {i}</a> and a sentence or two of text around it.</p>"
        for i in range(links)
    )


def timed_saves(save: Callable[[], None], count: int) -> list[float]:
    from django.db import transaction

    times = []
    for _ in range(count):
        started = time.perf_counter()
        with transaction.atomic():
            save()
        times.append(time.perf_counter() - started)
    return times


def measure(saves: int, blocks: int) -> tuple[list[float], list[float], list[float], int]:
    from unittest import mock

    from django.conf import settings
    from django.db.models.signals import post_save
    from django.test import override_settings
    from django.utils import timezone

    from backlinks_django.compat import task_backends
    from backlinks_django.receivers import queue_pings_on_save
    from tests.testapp.models import Article

    dummy = {"default": {"BACKEND": f"{settings.TASKS_MODULE}.backends.dummy.DummyBackend"}}
    with override_settings(TASKS=dummy):
        backend = task_backends["default"]
        article = Article.objects.create(
            title="A post with 100 links",
            slug="hundred-links",
            body=article_body(100),
            published_at=timezone.now(),
        )
        per_block = max(1, saves // blocks)
        connected: list[float] = []
        disconnected: list[float] = []
        no_enqueue: list[float] = []
        enqueued = 0
        timed_saves(article.save, per_block)  # warm-up, whatever the state
        for _block in range(blocks):
            backend.clear()
            post_save.connect(queue_pings_on_save, dispatch_uid=DISPATCH_UID)
            connected += timed_saves(article.save, per_block)
            enqueued += len(backend.results)
            backend.clear()
            post_save.disconnect(dispatch_uid=DISPATCH_UID)
            disconnected += timed_saves(article.save, per_block)
            post_save.connect(queue_pings_on_save, dispatch_uid=DISPATCH_UID)
            with mock.patch("backlinks_django.tasks.enqueue_send", lambda *a, **k: None):
                no_enqueue += timed_saves(article.save, per_block)
            if backend.results:
                raise RuntimeError(f"{len(backend.results)} tasks enqueued by the wrong runs")
    return connected, disconnected, no_enqueue, enqueued


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 saves each way")
    parser.add_argument("--saves", type=int, help="saves each way (default 10,000)")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()
    saves = args.saves or (500 if args.quick else 10_000)
    blocks = 10 if args.quick else 40

    if args.postgres:
        reason = postgres_unavailable()
        if reason:
            print(f"save_overhead.py --postgres: skipped, {reason}")
            sys.exit(0 if args.quick else 1)
        with bench_database("postgres", "backlinks_bench_save"):
            connected, disconnected, no_enqueue, enqueued = measure(saves, blocks)
        database = "PostgreSQL (127.0.0.1, a database of its own)"
    else:
        django_with_database()
        connected, disconnected, no_enqueue, enqueued = measure(saves, blocks)
        database = "in-memory SQLite (tests.settings)"

    import django

    off = statistics.median(disconnected)
    print(
        f"Save overhead: Article with 100 links saved in atomic(), {len(connected)} saves each "
        f"way, {database}, Django {django.get_version()}, tasks on the DummyBackend"
    )
    print(f"{'post_save hook':<40}{'median':>11}{'p90':>11}{'vs off':>8}{'queued':>8}")
    rows = (
        ("disconnected", disconnected, 0),
        ("connected, enqueue_send a no-op", no_enqueue, 0),
        ("connected (app default)", connected, enqueued),
    )
    for label, times, queued in rows:
        median = statistics.median(times)
        p90 = statistics.quantiles(times, n=10)[-1]
        print(
            f"{label:<40}{median * 1e6:>9.1f}us{p90 * 1e6:>9.1f}us{median / off:>8.3f}{queued:>8}"
        )
    on = statistics.median(connected)
    own = statistics.median(no_enqueue)
    ratio = on / off
    verdict = "within" if ratio <= GOAL else "MISSES"
    print(
        f"hook cost {(on - off) * 1e6:+.1f}us per save ({(own - off) * 1e6:+.1f}us receiver and "
        f"on_commit, {(on - own) * 1e6:+.1f}us the backend's enqueue); "
        f"ratio {ratio:.3f}: {verdict} the goal of <= {GOAL:.2f}"
    )


if __name__ == "__main__":
    main()
