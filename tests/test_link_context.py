"""The link's excerpt and the page title come from tokens, no tree: the same as the tree gave.

``find_link`` used to build a tree of the page (bs4, ``html.parse_rendered``) and read the
excerpt from the link's block in it. It now walks the tokens of the markup around the link
(``linksearch._TextWalk``). The reference below is that former tree reading, kept here: over
many generated pages, both read the same excerpt for the link the scan finds. The title is
the first one the scan meets, before or after the link; the reference reads it from every
token (:func:`title_by_tokens`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from bs4 import Tag
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from backlinks_django import html, htmltokens, linksearch
from backlinks_django.linksearch import LinkContext, find_link
from backlinks_django.text import ELLIPSIS, crop, cut_end, cut_start, to_single_line
from backlinks_django.weburl import same_page_key

BASE = "http://blog.example/post"
TARGET = "http://blog.example/?p=5"
LINK = f'<a href="{TARGET}">'
# Far more than the generated pages: the page is read whole, as verification reads its first
# 256 KB.
WHOLE = 1 << 20


# The former tree reading ---------------------------------------------------------------------

_MARK = "data-reference-mark"
_TAG_NAME = re.compile(r"<[A-Za-z][^\t\n\f\r />]*")


def reference(markup: str, context: int) -> LinkContext | None:
    """The title and excerpt of the link the scan finds, read from the page's tree.

    The link is marked in the markup by an attribute, so it is the scan's whatever the tree
    makes of the links before it. None when the tree hides it (the scan and the tree disagree
    on a misnested <noscript> or <template>): nothing to compare then.
    """
    scanner = linksearch._LinkScanner(BASE, same_page_key(TARGET), html.LINKS)
    offset = scanner.find(markup)
    if offset is None:
        return None
    name = _TAG_NAME.match(markup, offset)
    assert name is not None
    marked = f"{markup[: name.end()]} {_MARK}{markup[name.end() :]}"
    soup = html.parse_rendered(marked)
    assert soup is not None
    anchor = soup.find(attrs={_MARK: True})
    if not isinstance(anchor, Tag):
        return None
    title = scanner.title if scanner.title_seen else title_by_tokens(markup)
    html.drop(soup, "title")
    return LinkContext(title=title, excerpt=_tree_excerpt(anchor, max(context, 0)))


def title_by_tokens(markup: str) -> str:
    """The page's title as the scan defines it, reading every token: the first ``<title>``
    outside ``<noscript>``, ``<template>``, ``<svg>`` and ``<math>`` (counted by their start
    and end tags), empty when written ``<title/>``.

    The tree differs where an end tag closes a hiding element (``<p><noscript></p>``): the
    scan does not keep the stack of open elements, which would cost a step per tag.
    """
    hidden = foreign = 0
    tokens = htmltokens.tokens(markup)
    for token in tokens:
        if token.kind == "end":
            if token.data in ("noscript", "template") and hidden:
                hidden -= 1
            elif token.data in ("svg", "math") and foreign:
                foreign -= 1
        elif token.kind == "start":
            if token.data in ("noscript", "template"):
                hidden += 1
            elif token.data in ("svg", "math") and not token.self_closing:
                foreign += 1
            elif token.data == "title" and not (hidden or foreign):
                if token.self_closing:
                    return ""
                text = next(tokens, None)
                return html.title_text(text.data) if text and text.kind == "text" else ""
    return ""


def _tree_excerpt(anchor: Tag, context: int) -> str:
    block = next((p for p in anchor.parents if p.name in html.TEXT_BLOCKS), None)
    root = block if block is not None else list(anchor.parents)[-1]
    inside = {id(node) for node in anchor.descendants}
    before: list[str] = []
    link: list[str] = []
    after: list[str] = []
    part = before
    for node, text in html.text_nodes(root):
        if node is anchor or id(node) in inside:
            part = link
        elif part is link:
            part = after
        part.append(text)
    _lead_b, text_b, trail_b = linksearch._edges("".join(before))
    lead_l, text_l, trail_l = linksearch._edges("".join(link))
    lead_a, text_a, _trail_a = linksearch._edges("".join(after))
    if len(text_b) > context:
        text_b = ELLIPSIS + cut_start(text_b, context)
    if len(text_a) > context:
        text_a = cut_end(text_a, context) + ELLIPSIS
    text_l = crop(text_l, max(2 * context, 1))
    return to_single_line("".join((text_b, trail_b, lead_l, text_l, trail_l, lead_a, text_a)))


# Generated pages -----------------------------------------------------------------------------

_SHOWN = [
    *("p", "div", "span", "em", "a", "li", "ul", "td", "tr", "table", "h1", "pre", "body"),
    *("br", "hr", "img", "input", "wbr", "nav", "address", "section", "b", "i", "svg", "math"),
]
# Hidden, or raw text: one of these left open hides the rest of the page (a test case lost).
_UNSEEN = ["script", "style", "noscript", "template", "title", "textarea"]
_NAMES = _SHOWN * 4 + _UNSEEN
_PIECES = st.one_of(
    st.sampled_from(
        [
            LINK,
            LINK,
            f'<a href="{TARGET}"/>',
            f'<img src="{TARGET}">',
            '<a href="/elsewhere">',
            "</a>",
            "<!-- a comment -->",
            "<!--",
            "-->",
            "<!DOCTYPE html>",
            "<![CDATA[x]]>",
            "<?pi x?>",
            "<!x>",
            "</ x>",
            "</>",
            "<",
            ">",
            "&amp;",
            "&lt;p&gt;",
            "&#8217;",
            " ",
            "\n\t ",
            "\xa0",
            "\x0b",
            "word",
            "two words",
            "a longer run of words to cross the context",
        ]
    ),
    st.builds(lambda name: f"<{name}>", st.sampled_from(_NAMES)),
    st.builds(lambda name: f"</{name}>", st.sampled_from(_NAMES)),
    st.builds(lambda name: f"<{name}/>", st.sampled_from(_NAMES)),
    st.builds(lambda name: f"<{name.upper()} x='y'>", st.sampled_from(_NAMES)),
    st.text(max_size=8),
)
# Elements holding content, closed or not ("x" stands for its content).
_ELEMENT = st.sampled_from(
    ["<{0}>x</{0}>", "<{0}>x</{0}>", "<{0} class='c'>x</{0}>", "<{0}>x", "<{0}/>x", "x</{0}>"]
)
_TREES = st.recursive(
    _PIECES,
    lambda content: st.builds(
        lambda shape, name, inner: shape.format(name).replace("x", "".join(inner), 1),
        _ELEMENT,
        st.sampled_from(_NAMES),
        st.lists(content, max_size=4),
    ),
    max_leaves=20,
)
PAGES = st.lists(_TREES, max_size=8).map("".join)
# Elements left open around the link: its block, inline elements, hidden ones.
OPEN = st.lists(st.sampled_from(_SHOWN), max_size=6).map(
    lambda names: "".join(f"<{name}>" for name in names)
)


@settings(max_examples=300)
@given(PAGES, OPEN, PAGES, PAGES, st.sampled_from([0, 1, 5, 20, 100]))
# Text after an element that separates words starts with a space; after a comment, not.
@example("<p><div>a</div>b", "", "x", "", 100)
@example("<p><div>a</div><!--c-->b", "", "x", "", 100)
@example("<p><br><script>s</script>b", "", "x", "", 100)
@example("<p>a</br>b", "<span>", "<div>x</div>y", "</p>z", 100)
@example("<ul><li>a<li>b", "<p>", "x</p>y", "</ul><p>z", 100)
def test_the_excerpt_and_title_are_the_trees(
    head: str, around: str, text: str, tail: str, context: int
) -> None:
    markup = f"{head}{around}{LINK}{text}</a>{tail}"
    expected = reference(markup, context)
    assume(expected is not None)

    assert find_link(markup, BASE, TARGET, context, tree_limit=WHOLE) == expected


@settings(max_examples=100)
@given(PAGES, PAGES)
def test_deep_nesting_is_cut_as_the_tree_cuts_it(head: str, tail: str) -> None:
    # Past html.MAX_DEPTH open elements, the innermost closes before the next opens.
    markup = f"<p>{head}{'<div><span>' * (html.MAX_DEPTH // 2 + 3)}{head}{LINK}{tail}"
    expected = reference(markup, 20)
    assume(expected is not None)

    assert find_link(markup, BASE, TARGET, 20, tree_limit=WHOLE) == expected


# Pages larger than the window read around the link ------------------------------------------


def test_a_block_begun_before_the_window_is_read_from_further_back() -> None:
    # An old-style post: text and <br>s straight in a <div>, no paragraphs, then a sidebar.
    post = "<div>" + "words of the post<br>" * 2000 + f"{LINK}the link</a> ends the post.</div>"
    markup = f"<html><body>{post}<div>Sidebar text</div></body></html>"

    found = find_link(markup, BASE, TARGET, 100, tree_limit=WHOLE)

    assert found is not None
    assert found.excerpt.endswith("the link ends the post.")
    assert found == reference(markup, 100)


def test_reading_further_back_stops_after_a_bounded_number_of_tags(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A block begun 100,000 tags before the link: the page from its start was read (~0.2 s
    # per ping with a quarter of a megabyte of <b>); now at most _BLOCK_TAGS tags before the
    # window are.
    read = []
    tokens = htmltokens.tokens

    def counted(markup: str) -> Iterator[htmltokens.Token]:
        for token in tokens(markup):
            read.append(token)
            yield token

    monkeypatch.setattr(htmltokens, "tokens", counted)
    markup = "<p>" + "<b>" * 100_000 + f"{LINK}the link</a> ends the post."

    found = find_link(markup, BASE, TARGET, 100, tree_limit=WHOLE)

    assert found is not None
    assert found.excerpt == "the link ends the post."
    # The window is read, then again with the tags before it.
    window = linksearch._WINDOW // len("<b>")
    assert 1000 < len(read) < linksearch._BLOCK_TAGS + 2 * window + 10


def test_a_title_after_the_link_is_read_without_a_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    # A title after a quarter of a megabyte of markup cost a tree of it (1.5-1.9 s per ping).
    def no_tree(markup: str) -> None:
        raise AssertionError("a tree was built")

    monkeypatch.setattr(html, "parse_rendered", no_tree)
    markup = f"<body>{LINK}x</a>" + "<i><b><u><s>" * 20_000 + "<svg><title>Tip</title></svg>"
    markup += "<template><title>Hidden</title></template><title>The &amp; title</title>"

    assert find_link(markup, BASE, TARGET, tree_limit=WHOLE) == LinkContext("The & title", "x")


def test_without_the_page_the_window_reads_on_to_its_end() -> None:
    post = "<div>" + "words of the post<br>" * 2000 + f"{LINK}the link</a> ends the post.</div>"
    markup = f"<html><body>{post}<div>Sidebar text</div></body></html>"

    found = find_link(markup, BASE, TARGET, 100)

    assert found is not None
    assert found.excerpt.endswith("the link ends the post. Sidebar text")


def test_a_window_starting_inside_a_script_excerpts_the_link_found() -> None:
    # The window's first "<" is inside the script: the window's tokens see a link to the
    # target in it, and a <template> left open; the scan knows better.
    script = f"<script>var s = '{LINK}decoy</a><template>';" + "x" * 6000 + "</script>"
    markup = f"<html><body>{script}<p>Before {LINK}the real link</a> after.</p></body></html>"

    found = find_link(markup, BASE, TARGET, 100)

    assert found is not None
    assert found.excerpt == "Before the real link after."


@pytest.mark.parametrize(
    ("markup", "title"),
    [
        pytest.param(f"<p>{LINK}x</a></p><title>After</title>", "After", id="title-after-link"),
        pytest.param(
            f"<svg><title>icon</title></svg><p>{LINK}x</a></p><title>Late</title>",
            "Late",
            id="tooltip-before-title-after",
        ),
        pytest.param(f"<p>{LINK}x</a></p>", "", id="no-title"),
        pytest.param(
            f"<p>{LINK}x</a></p><template><title>T</title></template>", "", id="hidden-title"
        ),
    ],
)
def test_a_title_after_the_link_is_read_from_the_page(markup: str, title: str) -> None:
    found = find_link(markup, BASE, TARGET, tree_limit=WHOLE)

    assert found is not None and found.title == title
    assert found == reference(markup, 100)


def test_a_title_far_after_the_link_is_read_within_the_tree_limit_only() -> None:
    markup = f"<p>{LINK}x</a></p>{'<p>filler</p>' * 5000}<title>Far</title>"

    assert find_link(markup, BASE, TARGET, tree_limit=WHOLE) == LinkContext("Far", "x")
    assert find_link(markup, BASE, TARGET, tree_limit=1000) == LinkContext("", "x")
