"""Tests for backlinks_django.linksearch: whether a page links to a target, its title, the excerpt."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backlinks_django import linksearch
from backlinks_django.linksearch import LinkContext, find_link
from tests.test_html import ANY_TEXT

BASE = "http://blog.example/post"
TARGET = "http://blog.example/?p=5"


def page(body: str, title: str = "A post") -> str:
    return f"<html><head><title>{title}</title></head><body>{body}</body></html>"


def excerpt_for(markup: str, target: str = TARGET, context: int = 100) -> str:
    found = find_link(markup, BASE, target, context)
    assert found is not None
    return found.excerpt


def title_of(title_markup: str, where: str) -> str:
    """The title find_link reports when the page's <title> comes before or after the link."""
    link = f'<a href="{TARGET}">x</a>'
    markup = title_markup + link if where == "before" else link + title_markup
    found = find_link(markup, BASE, TARGET)
    assert found is not None
    return found.title


# A page on another host than the target: the scan passes over links that cannot name it
# without leaving the regex engine, so these disguises must still be seen.
OTHER_BASE = "https://source.example/2026/a-post/"
OTHER_TARGET = "https://target.example/articles/the-target/"
DISGUISED = [
    pytest.param('<a href="https://target.example/articles/the-target/">', id="plain"),
    pytest.param(
        '<a title="x>" href="https://target.example/articles/the-target/">',
        id="gt-in-quoted-value",
    ),
    pytest.param(
        "<a title='a\"b' href=https://target.example/articles/the-target/>", id="quote-in-value"
    ),
    pytest.param(
        '<a href="https://target.example/articles/&#116;he-target/">', id="entity-in-needle"
    ),
    pytest.param(
        '<a href="https://target.example/articles/the-tar\nget/">', id="newline-in-needle"
    ),
    pytest.param('<a\thref="https://target.example/articles/the-target/">', id="tab-separator"),
    pytest.param(
        '<a x="<a" href="https://target.example/articles/the-target/">', id="tag-in-value"
    ),
    pytest.param('<IMG SRC="https://target.example/articles/the-target/">', id="media-upper-case"),
    pytest.param(
        '<base href="https://target.example/articles/"><a href="the-target/">',
        id="base-then-relative",
    ),
    pytest.param(
        '<a href=x><a href="//target.example/articles/the-target">', id="after-other-links"
    ),
]


@pytest.mark.parametrize("body", DISGUISED)
def test_link_from_another_host_is_found_however_spelled(body: str) -> None:
    markup = "<p>a " + "<a href=/other/>o</a> " * 3 + body + "t</a> z</p>"

    assert find_link(markup, OTHER_BASE, OTHER_TARGET, media=True) is not None


def test_link_whose_href_only_mentions_the_target_elsewhere_is_not_found() -> None:
    markup = '<a title="https://target.example/articles/the-target/" href="/x">t</a>'

    assert find_link(markup, OTHER_BASE, OTHER_TARGET) is None


# Whether the page links to the target

LINKING = [
    pytest.param(f'<p><a href="{TARGET}">x</a></p>', id="absolute-link"),
    pytest.param('<p><a href="/?p=5">x</a></p>', id="relative-link-with-query"),
    pytest.param('<p><a href="http://BLOG.Example/?p=5">x</a></p>', id="host-case-variant"),
    pytest.param('<p><a href="http://blog.example/?p=5#c">x</a></p>', id="with-fragment"),
    # The target is one of the receiving site's pages: its https twin is the same page.
    pytest.param('<p><a href="https://blog.example/?p=5">x</a></p>', id="https-twin"),
    pytest.param(
        '<base href=""><base href="http://cdn.example/"><a href="/?p=5">x</a>',
        id="first-base-element-counts-even-empty",
    ),
]
NOT_LINKING = [
    pytest.param('<p><a href="/?p=50">x</a></p>', id="different-query-value"),
    pytest.param(
        f"<script>document.write('<a href=\"{TARGET}\">x</a>')</script>", id="link-inside-script"
    ),
    pytest.param(f'<!-- <a href="{TARGET}">x</a> -->', id="link-inside-comment"),
    pytest.param(f"<p>See {TARGET} for more.</p>", id="plain-text-url"),
    pytest.param('<p><a href="https://blog.example:8443/?p=5">x</a></p>', id="other-port"),
    pytest.param('<p><a href="ftp://blog.example/?p=5">x</a></p>', id="not-a-web-scheme"),
]


@pytest.mark.parametrize("body", LINKING)
def test_page_links_to_target(body: str) -> None:
    assert find_link(page(body), BASE, TARGET) is not None


@pytest.mark.parametrize("body", NOT_LINKING)
def test_page_does_not_link_to_target(body: str) -> None:
    assert find_link(page(body), BASE, TARGET) is None


def test_trailing_slash_variant_links_to_target() -> None:
    markup = page('<p><a href="http://blog.example/2024/post/">x</a></p>')
    assert find_link(markup, BASE, "http://blog.example/2024/post") is not None


def test_link_after_unfinished_markup_is_still_found() -> None:
    markup = "<a " * 2000 + "<!--" * 2000 + '<p>See <a href="http://t.example/p">it</a>.</p>'

    found = find_link(markup, "http://s.example/", "http://t.example/p")

    assert found is not None
    assert "it" in found.excerpt


# The title


def test_title_is_returned_with_whitespace_collapsed() -> None:
    found = find_link(page(f'<a href="{TARGET}">x</a>', title=" My\n  post "), BASE, TARGET)
    assert found == LinkContext(title="My post", excerpt="x")


def test_title_entities_are_decoded() -> None:
    found = find_link(
        page(f'<a href="{TARGET}">x</a>', title="Tom &amp; Jerry&#8217;s"), BASE, TARGET
    )
    assert found is not None
    assert found.title == "Tom & Jerry\u2019s"


# The title before the link is read by the streaming scan, one after it from the parsed tree.
@pytest.mark.parametrize("where", ["before", "after"])
def test_title_tabs_and_newlines_collapse(where: str) -> None:
    assert title_of("<title>\n  Hello\t world </title>", where) == "Hello world"


@pytest.mark.parametrize("where", ["before", "after"])
def test_title_is_cropped_to_255(where: str) -> None:
    title = title_of(f"<title>{'word ' * 200}</title>", where)
    assert len(title) <= 255
    assert title.endswith("…")


@pytest.mark.parametrize("where", ["before", "after"])
def test_svg_title_is_not_the_page_title(where: str) -> None:
    assert title_of("<svg><title>icon</title></svg>", where) == ""


def test_page_without_title_has_empty_title() -> None:
    assert title_of("<p>no title</p>", "before") == ""


@given(ANY_TEXT)
def test_title_is_never_longer_than_255(markup: str) -> None:
    found = find_link(f'{markup}<p><a href="{TARGET}">x</a></p>{markup}', BASE, TARGET)
    assert found is None or len(found.title) <= 255


# The excerpt


def test_excerpt_has_text_around_link() -> None:
    markup = page(f'<p>I liked <a href="{TARGET}">this post</a> a lot.</p>')
    assert excerpt_for(markup) == "I liked this post a lot."


def test_excerpt_marks_cuts_with_ellipses() -> None:
    before = "alpha beta gamma delta epsilon " * 5
    after = " zeta eta theta iota kappa" * 5
    markup = page(f'<p>{before}<a href="{TARGET}">the link</a>{after}</p>')
    excerpt = excerpt_for(markup, context=20)
    assert excerpt.startswith("…")
    assert excerpt.endswith("…")
    assert "the link" in excerpt


def test_excerpt_has_the_context_asked_for_on_markup_heavy_pages() -> None:
    words = '<span class="a-long-class-name-for-each-word">w</span> ' * 2000
    markup = page(f'<p>{words}<a href="{TARGET}">link</a></p>')

    excerpt = excerpt_for(markup, context=1000)

    assert len(excerpt.partition("link")[0]) > 900


def test_excerpt_cuts_on_word_boundaries() -> None:
    markup = page(f'<p>{"wordy " * 40}<a href="{TARGET}">L</a>{" wordy" * 40}</p>')
    excerpt = excerpt_for(markup, context=20)
    assert excerpt == "…wordy wordy wordy L wordy wordy wordy…"


def test_excerpt_length_is_bounded() -> None:
    markup = page(f'<p>{"x" * 5000} <a href="{TARGET}">{"y " * 5000}</a> {"z" * 5000}</p>')
    assert len(excerpt_for(markup, context=50)) <= 4 * 50 + 4


@pytest.mark.parametrize(
    ("body", "excerpt"),
    [
        pytest.param(
            f'<p>Before.</p><p>Inside <a href="{TARGET}">link</a>.</p><p>After.</p>',
            "Inside link.",
            id="stays-inside-the-links-paragraph",
        ),
        pytest.param(
            f'<p>Caf&eacute; &amp; <a href="{TARGET}">it&#8217;s</a> &#8230;</p>',
            "Café & it\u2019s …",
            id="entities-decoded",
        ),
        pytest.param(
            f'<p>A<script>var s;</script> <style>p{{}}</style><a href="{TARGET}">B</a></p>',
            "A B",
            id="script-and-style-text-left-out",
        ),
        pytest.param(
            f'<p>first <a href="/?p=5">one</a></p><p>second <a href="{TARGET}">two</a></p>',
            "first one",
            id="first-matching-link-wins",
        ),
        pytest.param(
            f'<p>Look: <a href="{TARGET}"><img src="/i.png"></a> nice</p>',
            "Look: nice",
            id="link-wrapping-only-an-image",
        ),
    ],
)
def test_excerpt(body: str, excerpt: str) -> None:
    assert excerpt_for(page(body)) == excerpt


@pytest.mark.parametrize(
    ("markup", "found"),
    [
        pytest.param(
            f'<title>T</title>text <a href="{TARGET}">link</a> more',
            LinkContext(title="T", excerpt="text link more"),
            id="without-html-and-body-tags",
        ),
        pytest.param(
            f'<head><title>T</title><p>Body <a href="{TARGET}">link</a></p>',
            LinkContext(title="T", excerpt="Body link"),
            id="head-never-closed",
        ),
    ],
)
def test_fragmentary_page(markup: str, found: LinkContext) -> None:
    assert find_link(markup, BASE, TARGET) == found


@given(ANY_TEXT, st.integers(min_value=-1, max_value=200))
def test_find_link_never_raises(markup: str, context: int) -> None:
    found = find_link(markup, BASE, TARGET, context)
    assert found is None or isinstance(found, LinkContext)


# JSON sources (Webmention): a string value equal to the target -----------------------------

JSON_TARGET = "https://blog.example/posts/hello/"


@pytest.mark.parametrize(
    ("document", "mentions"),
    [
        ('{"in-reply-to": "https://blog.example/posts/hello/"}', True),
        ('{"in-reply-to": "https:\\/\\/blog.example\\/posts\\/hello\\/"}', True),
        ('{"in-reply-to": "https://blog.example/posts/\\u0068ello/"}', True),
        ('{"in-reply-to": "https://blog.example/posts/hello/x"}', False),
        ('{"text": "see https://blog.example/posts/hello/ there"}', False),
    ],
)
def test_a_json_source_mentions_the_target_by_a_string_equal_to_it(
    document: str, mentions: bool
) -> None:
    found = linksearch.find_mention(document, "application/json", JSON_TARGET, JSON_TARGET)

    assert (found is not None) is mentions


def test_a_json_source_without_the_target_written_is_not_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_parse(document: str) -> None:
        raise AssertionError("parsed")

    monkeypatch.setattr(linksearch.json, "loads", no_parse)
    document = "[" + ",".join(['{"a": [1, 2]}'] * 1000) + "]"

    assert linksearch.find_mention(document, "application/json", JSON_TARGET, JSON_TARGET) is None


def test_a_json_source_is_read_up_to_a_budget_of_values() -> None:
    # A megabyte of small values took 170 ms to parse and walk; the walk now stops.
    padding = ",".join(["1"] * linksearch._JSON_VALUES)
    document = f'["{JSON_TARGET}", {padding}]'

    assert linksearch.find_mention(document, "application/json", JSON_TARGET, JSON_TARGET) is None
    short = f'["{JSON_TARGET}", {",".join(["1"] * 1000)}]'
    assert linksearch.find_mention(short, "application/json", JSON_TARGET, JSON_TARGET)
