"""Cost of reading hostile markup: ``find_link`` (link present, absent) and ``mf2.read_entry``.

Each page is one construct repeated to the page size (unfinished tags, comments, marked
sections, deep and misnested nesting, ...), after ``<html><body>``; the "hit" page has a
link to the target appended, which a construct left open may swallow (then "found" says
no, as a browser would not see that link either). Time is CPU time, best of several runs,
so other processes on the machine count less. The goal is a cost per MB that stays flat as
pages grow (linear time) and small.

``read_entry`` builds the whole tree in Python (bs4): it is run up to 1 MB, the default
FETCH_MAX_BYTES, unless ``--mf2-all`` asks for every size. The "verify" column is
``find_link`` with the link present as verification calls it (``tree_limit`` at
MICROFORMATS: a link in the page's first 256 KB whose text block began before the excerpt's
window has the tags before the window read too), the other columns as a bare call.

    python bench/linksearch.py            # 100 KB, 1 MB, 5 MB
    python bench/linksearch.py --quick    # 10 KB, 50 KB
    python bench/linksearch.py --only nested_b,article
    python bench/linksearch.py --no-mf2   # find_link only
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable

from _setup import ROOT

TARGET = "https://bench.example/articles/the-target/"
BASE = "https://source.example/2026/11/a-post/"
ARTICLE = (
    '<p>Some text with <a href="https://example.org/post/{i}">a link {i}</a> and '
    "<em>emphasis</em>, <code>code</code> &amp; entities &eacute;.</p>\n"
)
# Each construct, repeated; "article" is an ordinary page.
CONSTRUCTS = {
    "article": "",
    "unfinished_tags": "<a ",
    "comments_open": "<!--",
    "comments_closed": "<!-- x -->",
    "marked_sections": "<![",
    "cdata": "<![CDATA[",
    "processing_instr": "<?x",
    "doctype": "<!DOCTYPE html>",
    "bogus_end_tags": "</ x",
    "stray_end_tags": "</b>",
    "lt_chars": "<<<<",
    "unclosed_attr": '<a href="',
    "attribute_flood": "<p a=1 b c='",
    "entities": "&amp&lt&#x41&#65&nosuch;",
    "nested_div": "<div>",
    "nested_b": "<b>",
    "nested_a": "<a href=x>",
    "distinct_links": "<a href=/p/{i}>",
    "nested_table": "<table>",
    "table_text": "<table>x",
    "misnested_bp": "<b><p>",
    "formatting_mix": "<i><b><u><s>",
    "nested_font": "<font>",
    "nested_li": "<ul><li>",
    "select_opt": "<select><option>",
    "nested_svg": "<svg><g>",
    "nested_template": "<template>",
    "script_open": "<script>x<!--<script>",
    "title_open": "<title>&amp;",
    # Against the scan's first step, which passes over a page that spells the target's last
    # path segment nowhere: the segment in text, and references to its characters.
    "target_mentions": "<b>the-target ",
    "target_refs": "<b>&#116;",
    # Decoys: hrefs that hold the target's last segment and resolve elsewhere (one URL
    # resolution each; the scan compares at most linksearch._CANDIDATES of them).
    "decoy_links": '<a href="/{i}/the-target/">',
    # Tags the scan must read in Python (at most linksearch._STEPS of them on a page of
    # another host): <base>, hiding elements, links with a newline, links holding every
    # character of the target's last segment but not the segment.
    "base_flood": "<base>",
    "template_pairs": "<template></template>",
    "multiline_links": '<a\nhref="/x">',
    "near_misses": '<a href="/the-targe">',
}


def page(name: str, size: int) -> str:
    """``<html><body>`` and the construct repeated up to about ``size`` characters."""
    unit = CONSTRUCTS[name]
    if name == "article" or "{i}" in unit:
        template = ARTICLE if name == "article" else unit
        parts, length, i = [], 0, 0
        while length < size:
            parts.append(template.format(i=i))
            length += len(parts[-1])
            i += 1
        body = "".join(parts)
    else:
        body = (unit * (size // len(unit) + 1))[:size]
    return "<html><head><title>T</title></head><body>" + body


def cpu_ms(fn: Callable[[], object], runs: int) -> float:
    """Best CPU time of ``runs`` calls, in milliseconds."""
    best = float("inf")
    for _ in range(runs):
        gc.collect()
        started = time.process_time()
        fn()
        best = min(best, time.process_time() - started)
    return best * 1000


def human(size: int) -> str:
    return f"{size / 1e6:g} MB" if size >= 1_000_000 else f"{size / 1e3:g} KB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 KB and 50 KB pages")
    parser.add_argument("--only", help="comma-separated construct names")
    parser.add_argument("--mf2-all", action="store_true", help="read_entry at every size")
    parser.add_argument("--no-mf2", action="store_true", help="find_link only, no read_entry")
    args = parser.parse_args()
    sizes = [10_000, 50_000] if args.quick else [100_000, 1_000_000, 5_000_000]
    names = args.only.split(",") if args.only else list(CONSTRUCTS)
    unknown = sorted(set(names) - set(CONSTRUCTS))
    if unknown:
        parser.error(f"unknown constructs: {', '.join(unknown)} (known: {', '.join(CONSTRUCTS)})")

    sys.path.insert(0, str(ROOT))
    from backlinks_django.limits import MICROFORMATS
    from backlinks_django.linksearch import find_link
    from backlinks_django.mf2 import read_entry

    print("Hostile markup: CPU ms (best of runs) and ms per MB")
    header = f"{'construct':<18}{'page':>7}{'found':>6}"
    for label in ("hit", "verify", "miss", "mf2"):
        header += f"{label + ' ms':>11}{'ms/MB':>8}"
    print(header)
    for name in names:
        for size in sizes:
            miss = page(name, size)
            hit = miss + f'<a href="{TARGET}">the target</a>'
            runs = 1 if args.quick or size > 1_000_000 else 3
            found = find_link(hit, BASE, TARGET) is not None
            timings = [
                cpu_ms(lambda p=hit: find_link(p, BASE, TARGET), runs),
                cpu_ms(lambda p=hit: find_link(p, BASE, TARGET, tree_limit=MICROFORMATS), runs),
                cpu_ms(lambda p=miss: find_link(p, BASE, TARGET), runs),
            ]
            if not args.no_mf2 and (size <= 1_000_000 or args.mf2_all):
                timings.append(cpu_ms(lambda p=hit: read_entry(p, BASE, TARGET), runs))
            row = f"{name:<18}{human(size):>7}{'yes' if found else 'no':>6}"
            for ms in timings:
                row += f"{ms:>11.1f}{ms / (len(hit) / 1e6):>8.0f}"
            print(row, flush=True)


if __name__ == "__main__":
    main()
