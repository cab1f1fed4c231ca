"""The link scan against a straightforward reference, on pages from the whole HTML grammar.

``linksearch._LinkScanner`` takes shortcuts to stay fast: a page that spells the target's
last path segment nowhere (references decoded, tab/LF/CR dropped) is not scanned at all,
linking tags that cannot spell it are passed over inside the regex engine, and the scan
stops once more hiding elements are open than end tags remain. :func:`reference_find`
takes none: it reads every token with ``htmltokens.TOKEN`` and resolves every href. Both
must find the same link (the same offset) and the same title, whatever the page.
"""

from __future__ import annotations

import html

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backlinks_django import htmltokens, linksearch
from backlinks_django.html import LINKS, title_text
from backlinks_django.linksearch import (
    MEDIA_LINKS,
    SILENT_CODES,
    _LinkScanner,
    _needle,
    _spelled,
    find_link,
)
from backlinks_django.weburl import document_base_url, link_url, same_page_key

BASE = "https://source.example/2026/a-post/"
TARGET = "https://target.example/articles/the-target/"
# A source on the target's host: no needle, every tag is read.
SAME_HOST_BASE = "https://target.example/blog/other/"


def reference_find(
    markup: str, base_url: str, target_url: str, elements: dict[str, str]
) -> tuple[int | None, str]:
    """The offset of the first tag linking to the target, and the title read before it."""
    target = same_page_key(target_url)
    base_seen = False
    hidden = foreign = 0
    title = ""
    position = 0
    while position < len(markup):
        start = position
        match = htmltokens.TOKEN.match(markup, position)
        assert match is not None
        position = match.end()
        if match.lastgroup == "end":
            name = match["end"].lower()
            if name in ("noscript", "template") and hidden:
                hidden -= 1
            elif name in ("svg", "math") and foreign:
                foreign -= 1
            continue
        if match.lastgroup != "attributes":
            continue
        name = match["start"].lower()
        values, self_closing = htmltokens.attributes(match["attributes"])
        if name in ("noscript", "template"):
            hidden += 1
        elif name in ("svg", "math") and not self_closing:
            foreign += 1
        if not hidden:
            if name == "base" and not base_seen and "href" in values:
                base_seen = True
                base_url = document_base_url(base_url, values["href"])
            href = values.get(elements.get(name, ""))
            url = link_url(base_url, href) if href else None
            if url is not None and same_page_key(url) == target:
                return start, title
        if name in htmltokens.RAW_TEXT:
            end = htmltokens.raw_text_end(markup, name, position)
            if name == "title" and not (hidden or foreign or title):
                title = title_text(html.unescape(markup[position:end]))
            position = end
    return None, title


def scan(
    markup: str, base_url: str, target_url: str, elements: dict[str, str]
) -> tuple[int | None, str]:
    scanner = _LinkScanner(base_url, same_page_key(target_url), elements)
    offset = scanner.find(markup)
    return offset, scanner.title


# The target's last segment "the-target" written every way a decoded href may still hold it,
# and near misses; each goes into hrefs, other attributes, text, comments, raw text.
SPELLINGS = [
    TARGET,
    "//target.example/articles/the-target",
    "https://TARGET.example/articles/the-target/#x",
    "http://target.example:443/articles/the-target",
    "/articles/the-target/",
    "the-target/",
    "../articles/the-target/",
    "./",
    "https://target.example/articles/&#116;he-target/",
    "https://target.example/articles/&#x74;&#X68;e-target/",
    "https://target.example/articles/&#0000116he-target/",
    "https://target.example/articles/the-tar\nget/",
    "https://target.example/articles/the-&Tab;target/",
    "https://target.example/articles/th&#1;e-target/",
    "https://target.example/articles/th&#xFDD0;e-target/",
    "https://target.example/articles/th&#13;e-ta&NewLine;rget/",
    "https://target.example/articles/the-t&#97rget/",
    " https://target.example/articles/the-target/ ",
    "https://target.example/articles/THE-TARGET/",
    "https://target.example/articles/the-target/more",
    "https://target.example/articles/the-targe&#116;/",
    "https://target.example/articles/the&amp;-target/",
    "https://target.example/articles/th&#x1F;e-target/",
    "https://other.example/articles/the-target/",
]
BASES = [
    "https://target.example/articles/",
    "https://target.example/",
    "//target.example/articles/x",
    "https://elsewhere.example/articles/",
    "",
]
NAMES = [
    *("a", "A", "img", "video", "base", "p", "b", "div", "svg", "math", "title", "template"),
    *("noscript", "script", "style", "textarea", "xmp", "iframe", "noembed", "noframes", "link"),
]
ATTRIBUTES = ["href", "HREF", "src", "title", "data-x", "x"]


# What may come before an attribute (nothing: after a quoted value) and around its "=".
SEPARATORS = [" ", " ", "\n", "/", " / ", "", "\f"]
EQUALS = ["=", "=", " = ", "\n=", "= "]


@st.composite
def attribute(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(ATTRIBUTES))
    value = draw(st.sampled_from([*SPELLINGS, "", "x", "a>b", "&amp;", "'", '"', "é/日本", "/"]))
    quote = draw(st.sampled_from(['"', "'", "", None]))
    separator = draw(st.sampled_from(SEPARATORS))
    if quote is None:
        return f"{separator}{name}"
    if quote and quote in value:
        value = value.replace(quote, "")
    return f"{separator}{name}{draw(st.sampled_from(EQUALS))}{quote}{value}{quote}"


@st.composite
def start_tag(draw: st.DrawFn) -> str:
    drawn = draw(st.lists(attribute(), max_size=4))
    # A separator first: an attribute name right after the tag's would lengthen the name.
    attributes = " " + "".join(drawn) if drawn else ""
    end = draw(st.sampled_from([">", "/>", " >", "\n>", "", " />"]))
    return f"<{draw(st.sampled_from(NAMES))}{attributes}{end}"


@st.composite
def base_tag(draw: st.DrawFn) -> str:
    return f'<base href="{draw(st.sampled_from(BASES))}">'


PIECES = st.one_of(
    start_tag(),
    start_tag(),
    base_tag(),
    st.sampled_from(NAMES).map(lambda name: f"</{name}>"),
    st.sampled_from(NAMES).map(lambda name: f"</{name}"),
    st.sampled_from(SPELLINGS),
    st.sampled_from(SPELLINGS).map(lambda spelling: f"<!-- <a href={spelling}> -->"),
    st.sampled_from(["<!-- c -->", "<!--", "<!-->", "--!>", "-->", "<![CDATA[", "]]>", "<![x]>"]),
    st.sampled_from(["<?php x ?>", "<?", "<!DOCTYPE html>", "<!", "</ x>", "</>", "</", "<<"]),
    st.sampled_from(["<", ">", "&", "&amp", "&#x41;", "&#116;", "&Tab;", "\n", "\t", '"', "'"]),
    st.text(alphabet="ab <>&#;='\"/-!?\nté日\U0001f600", max_size=8),
)
PAGES = st.lists(PIECES, min_size=1, max_size=30).map("".join)


@settings(max_examples=600)
@given(
    PAGES,
    st.sampled_from([BASE, SAME_HOST_BASE]),
    st.sampled_from([LINKS, MEDIA_LINKS]),
)
def test_scan_finds_what_reading_every_token_finds(
    markup: str, base_url: str, elements: dict[str, str]
) -> None:
    expected, title = reference_find(markup, base_url, TARGET, elements)

    offset, scanned_title = scan(markup, base_url, TARGET, elements)

    assert offset == expected
    if expected is not None:
        assert scanned_title == title


@settings(max_examples=300)
@given(st.lists(st.sampled_from(SPELLINGS), min_size=1, max_size=4), st.sampled_from(["a", "img"]))
def test_a_link_spelled_any_way_is_found_after_hostile_markup(
    spellings: list[str], name: str
) -> None:
    links = "".join(f'<{name} src="{s}" href="{s}">x</a>' for s in spellings)
    markup = "<b><p>" * 50 + "<template></template>" * 5 + "<a href=x>" * 20 + links

    expected, _title = reference_find(markup, BASE, TARGET, MEDIA_LINKS)

    assert scan(markup, BASE, TARGET, MEDIA_LINKS)[0] == expected
    assert (find_link(markup, BASE, TARGET, media=True) is None) == (expected is None)


def test_silent_codes_are_every_code_point_a_reference_decodes_to_nothing_or_noise() -> None:
    # One unescape of every numeric reference, each followed by a mark that no reference
    # decodes to (U+0001 decodes to nothing).
    codes = range(0x110000 + 16)
    decoded = html.unescape("".join(f"&#{code};\x01" for code in codes)).split("\x01")[:-1]

    silent = {code for code, text in zip(codes, decoded, strict=True) if text in "\t\n\r"}

    assert silent == set(SILENT_CODES)


@pytest.mark.parametrize(
    ("markup", "spelled"),
    [
        pytest.param("<a href=the-target>", True, id="plain"),
        pytest.param("th&#101;-tar&#x0a;g&#X65t", True, id="references-and-newline"),
        pytest.param("t&#1;he-tar&#xfffe;ge&#x10FFFF;t", True, id="silent-references"),
        pytest.param("the-&Tab;target", True, id="named-tab"),
        pytest.param("th&#101;-tar&#x0a;g&#X66t", False, id="other-character"),
        pytest.param("the-targe&#1160;", False, id="longer-number"),
        pytest.param("the&amp;-target", False, id="ampersand"),
        pytest.param("the-targ et", False, id="space"),
    ],
)
def test_spelled_reads_references_and_noise(markup: str, spelled: bool) -> None:
    assert _needle(BASE, same_page_key(TARGET)) == "the-target"

    assert _spelled(markup, "the-target") is spelled


# Tags whose quoted values hold ">": read as one tag (up to the ">" after the closing quote,
# or to the page's end when the quote is never closed), whatever the characters after it.
@pytest.mark.parametrize(
    "markup",
    [
        f'<a title="x><a href="{TARGET}">',
        f"<a title='x><a href='{TARGET}'>",
        f'<a title="x><a href={TARGET}>',
        f'<b title="x><a href={TARGET}>',
        f'<a title = "x><a href={TARGET}>',
        f'<a title=x"><a href={TARGET}>',
        f'<a <a <a href="x"/><a href={TARGET}>',
        f'<svg <svg x="/"/><title>T</title><a href={TARGET}>',
        f"<svg <svg x=/><title>T</title><a href={TARGET}>",
        f'<base x="a><base href=https://elsewhere.example/"><a href={TARGET}>',
        f'<script>"</script x="></script>"><a href={TARGET}>',
    ],
)
def test_quoted_angle_brackets_do_not_end_a_tag(markup: str) -> None:
    for elements in (LINKS, MEDIA_LINKS):
        assert scan(markup, BASE, TARGET, elements) == reference_find(
            markup, BASE, TARGET, elements
        )


@pytest.mark.parametrize(
    ("decoys", "base_url", "found"),
    [
        (linksearch._CANDIDATES, BASE, True),
        (linksearch._CANDIDATES + 1, BASE, False),
        # A page of the target's own host is not bounded: its author is the site.
        (linksearch._CANDIDATES + 1, SAME_HOST_BASE, True),
    ],
)
def test_a_page_of_decoy_links_is_read_up_to_a_budget(
    decoys: int, base_url: str, found: bool
) -> None:
    # Hrefs that hold the target's last segment and resolve elsewhere: each costs a URL
    # resolution, so a page of them cost seconds per MB (2.4 s with distinct hrefs).
    links = "".join(f'<a href="https://target.example/{i}/the-target/">' for i in range(decoys))
    markup = f'{links}<a href="{TARGET}">'

    offset, _title = scan(markup, base_url, TARGET, LINKS)

    assert (offset == len(links)) is found
    assert offset is None or offset == len(links)


@pytest.mark.parametrize(
    ("unit", "tags"),
    [
        ("<base>", 1),
        ("<template></template>", 2),
        ("<svg></svg>", 2),
        ('<a href="/the-targe">', 1),
    ],
)
@pytest.mark.parametrize(
    ("short", "base_url", "found"),
    [(1, BASE, True), (0, BASE, False), (0, SAME_HOST_BASE, True)],
)
def test_a_page_of_tags_the_scan_stops_at_is_read_up_to_a_budget(
    unit: str, tags: int, short: int, base_url: str, found: bool
) -> None:
    # Tags the scan reads in Python cost 10-30 µs each: a page of nothing else cost 1-3 s per
    # MB. With the link the budget's last tag, it is found; one tag more, not (on a page of
    # another host than the target's).
    filler = unit * ((linksearch._STEPS - short) // tags)
    markup = f'{filler}<a href="{TARGET}">'

    offset, _title = scan(markup, base_url, TARGET, LINKS)

    assert (offset == len(filler)) is found
