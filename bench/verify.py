"""Verification cost: finding the link in large source pages with ``linksearch.find_link``.

Blog-like pages (head with script and style, navigation, articles of paragraphs with inline
links, footer) of 100 KB, 1 MB and 5 MB; the target link sits in the last paragraph (about
98% into the page), and a negative page has the same markup with that one link pointing
elsewhere. The baseline is a plain ``BeautifulSoup(page, "html.parser")`` of the same page
(find_link builds no tree: it scans for the link and reads the tokens around it). The last
row is what ``verification.verify_source`` reads of a fetched page: the link as find_link
finds it there (a block begun before the window read from the page's start), and the
microformats of its first 256 KB (none here, so mf2.read_entry builds no tree). Time is
the median of several runs without tracing; peak memory is tracemalloc's peak in a separate
traced run (Python allocations only, the page string itself excluded).

Real fetches are capped at FETCH_MAX_BYTES (1 MB by default): the 5 MB row is what
find_link would cost without that cap; with it, a link past the first 1 MB is not found.

    python bench/verify.py            # 100 KB, 1 MB, 5 MB
    python bench/verify.py --quick    # 10 KB, 50 KB, 100 KB
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable

from _setup import ROOT

TARGET = "https://bench.example/articles/the-target/"
ELSEWHERE = "https://elsewhere.example/articles/not-the-target/"
BASE = "https://source.example/2026/11/a-long-post/"

HEAD = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>A long post on a source blog</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/site.css"><link rel="pingback" href="/xmlrpc.php">
<style>body{font:16px/1.5 serif;max-width:40em;margin:auto}nav a{margin-right:1em}</style>
<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}</script>
</head><body><header><h1><a href="/">Source blog</a></h1><nav><a href="/">Home</a>
<a href="/archive/">Archive</a><a href="/about/">About</a><a href="/feed/">Feed</a></nav></header>
<main>
"""
FOOT = """</main><footer><p>&copy; 2026 Source blog. <a href="/privacy/">Privacy</a>
<a href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a></p></footer>
<script src="/static/site.js"></script></body></html>
"""


def paragraph(i: int) -> str:
    return (
        f"<p>Paragraph {i} talks about <em>something</em> worth reading, with a link to "
        f'<a href="https://blog{i % 97}.example.net/posts/{i}/" title="post {i}">another post</a>'
        f" and a bit of <code>code()</code> &amp; an entity, then some more words so that the "
        f"paragraph has the length of real prose in a real article on a real blog.</p>\n"
    )


def page(size: int, link: str) -> str:
    """A page of about ``size`` bytes whose last paragraph links to ``link``."""
    parts = [HEAD]
    length = len(HEAD) + len(FOOT)
    i = 0
    while length < size - 400:
        if i % 12 == 0:
            piece = f"<article><h2>Section {i // 12}</h2>\n"
        elif i % 12 == 11:
            piece = paragraph(i) + "</article>\n"
        else:
            piece = paragraph(i)
        parts.append(piece)
        length += len(piece)
        i += 1
    parts.append(
        f'<p class="last">Finally, as <a href="{link}">the target post</a> explains in detail, '
        f"everything above is worth a second look.</p>\n"
    )
    parts.append(FOOT)
    return "".join(parts)


def timed(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def traced_peak(fn: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()


def human(size: int) -> str:
    return f"{size / 1e6:g} MB" if size >= 1_000_000 else f"{size / 1e3:g} KB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 KB, 50 KB, 100 KB pages")
    args = parser.parse_args()
    sizes = [10_000, 50_000, 100_000] if args.quick else [100_000, 1_000_000, 5_000_000]

    sys.path.insert(0, str(ROOT))
    import bs4

    from backlinks_django import limits
    from backlinks_django.defaults import DEFAULTS
    from backlinks_django.linksearch import find_link
    from backlinks_django.mf2 import read_entry

    def as_verified(markup: str) -> object:
        """What verify_source reads of a fetched page: the link, and microformats."""
        found = find_link(markup, BASE, TARGET, tree_limit=limits.MICROFORMATS)
        return found, read_entry(markup[: limits.MICROFORMATS], BASE, TARGET)

    print(
        f"Verification: find_link on blog-like pages, link in the last paragraph "
        f"(bs4 {bs4.__version__}, html.parser)"
    )
    print(f"{'page':>7}  {'case':<36}{'median':>11}{'x parse':>9}{'peak mem':>11}{'x page':>8}")
    for size in sizes:
        positive = page(size, TARGET)
        negative = page(size, ELSEWHERE)
        runs = 7 if size <= 100_000 else 3
        cases: list[tuple[str, Callable[[], object]]] = [
            (
                "baseline: BeautifulSoup(page)",
                lambda p=positive: bs4.BeautifulSoup(p, "html.parser"),
            ),
            ("find_link, link near the end", lambda p=positive: find_link(p, BASE, TARGET)),
            ("find_link, no link (negative)", lambda p=negative: find_link(p, BASE, TARGET)),
            ("as verify_source: link + microformats", lambda p=positive: as_verified(p)),
        ]
        assert find_link(positive, BASE, TARGET) is not None
        assert find_link(negative, BASE, TARGET) is None
        baseline = 0.0
        for label, fn in cases:
            seconds = timed(fn, runs)
            peak = traced_peak(fn)
            baseline = baseline or seconds
            print(
                f"{human(size):>7}  {label:<36}{seconds * 1000:>9.1f}ms"
                f"{seconds / baseline:>9.2f}{peak / 1e6:>9.1f}MB{peak / len(positive):>8.1f}"
            )
    limit = DEFAULTS["FETCH_MAX_BYTES"]
    print(
        f"note: real fetches read at most FETCH_MAX_BYTES = {limit:,} bytes (default), so pages "
        f"above {human(limit)} are verified on their first {human(limit)}; a link beyond it is "
        f"not found."
    )


if __name__ == "__main__":
    main()
