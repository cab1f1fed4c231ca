"""C HTML parsers on bench/linksearch.py's hostile constructs: whole-page parse, ms per MB.

The measurement behind issue #11's choice of parser. Each candidate that is installed
(selectolax's Lexbor backend, lxml's libxml2 HTML parser, markupever's html5ever) parses
the page as UTF-8 bytes and selects the ``<a>`` elements whose href holds the target's
last path segment, in C; "found" tells whether the link appended to the page was seen.
``libxml2-sax`` is lxml's parser in target mode: no tree, a Python call per start and end
tag, stopping at the first link (a candidate tokenizer for ``linksearch``'s scan).
A size whose run would take over ``--budget`` seconds, judged from the previous size
as if the cost were quadratic, is skipped ("skip"); growing ms/MB is superlinear time.

    pip install selectolax lxml markupever    # none is a dependency of the app
    python bench/parsers.py                   # 20 KB, 100 KB, 1 MB, 5 MB
    python bench/parsers.py --quick --only nested_div,article
"""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Callable

from linksearch import CONSTRUCTS, TARGET, cpu_ms, human, page

NEEDLE = "the-target"


def lexbor(markup: bytes) -> bool:
    from selectolax.lexbor import LexborHTMLParser

    return bool(LexborHTMLParser(markup).css(f'a[href*="{NEEDLE}"]'))


def libxml2(markup: bytes) -> bool:
    from lxml import etree

    parser = etree.HTMLParser(encoding="utf-8", recover=True, no_network=True)
    root = etree.fromstring(markup, parser)
    return root is not None and bool(root.xpath(f'//a[contains(@href, "{NEEDLE}")]'))


class _Seen(Exception):
    pass


class _LinkTarget:
    """lxml parser target: no tree, Python sees start and end tags only (no text)."""

    def __init__(self) -> None:
        self.hidden = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if tag in ("noscript", "template"):
            self.hidden += 1
        elif tag == "a" and not self.hidden and NEEDLE in (attrib.get("href") or ""):
            raise _Seen

    def end(self, tag: str) -> None:
        if tag in ("noscript", "template") and self.hidden:
            self.hidden -= 1

    def close(self) -> None:
        pass


def libxml2_sax(markup: bytes) -> bool:
    """libxml2's HTML tokenizer (2.14: HTML5's rules) in lxml's target mode, as a link scan."""
    from lxml import etree

    parser = etree.HTMLParser(
        target=_LinkTarget(), encoding="utf-8", recover=True, no_network=True, huge_tree=True
    )
    try:
        parser.feed(markup)
        parser.close()
    except _Seen:
        return True
    except etree.XMLSyntaxError:
        pass
    return False


def html5ever(markup: bytes) -> bool:
    import markupever

    tree = markupever.parse(markup, markupever.HtmlOptions())
    return any(NEEDLE in (node.attrs.get("href") or "") for node in tree.select("a"))


CANDIDATES: dict[str, tuple[str, Callable[[bytes], bool]]] = {
    "lexbor": ("selectolax", lexbor),
    "libxml2": ("lxml", libxml2),
    "libxml2-sax": ("lxml", libxml2_sax),
    "html5ever": ("markupever", html5ever),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 KB and 50 KB pages")
    parser.add_argument("--only", help="comma-separated construct names")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per run at most")
    args = parser.parse_args()
    sizes = [10_000, 50_000] if args.quick else [20_000, 100_000, 1_000_000, 5_000_000]
    names = args.only.split(",") if args.only else list(CONSTRUCTS)
    installed = {
        name: read
        for name, (package, read) in CANDIDATES.items()
        if importlib.util.find_spec(package) is not None
    }
    if not installed:
        print(f"No candidate installed ({', '.join(p for p, _ in CANDIDATES.values())})")
        return
    print("Whole-page parse of hostile markup: CPU ms per MB (found: the appended link seen)")
    print(f"{'construct':<18}{'parser':<11}" + "".join(f"{human(s):>16}" for s in sizes))
    for name in names:
        for candidate, read in installed.items():
            row = f"{name:<18}{candidate:<11}"
            previous: tuple[int, float] | None = None
            for size in sizes:
                if previous and previous[1] * (size / previous[0]) ** 2 > args.budget * 1000:
                    row += f"{'skip':>16}"
                    continue
                markup = (page(name, size) + f'<a href="{TARGET}">t</a>').encode()
                found = read(markup)
                ms = cpu_ms(lambda m=markup, r=read: r(m), 1)
                previous = (size, ms)
                row += f"{ms / (len(markup) / 1e6):>12.1f} {'yes' if found else 'no':>3}"
            print(row, flush=True)


if __name__ == "__main__":
    main()
