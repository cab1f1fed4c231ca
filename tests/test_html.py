"""Tests for backlinks_django.html: parsing remote markup, the links of a page, its plain text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backlinks_django.html import MAX_DEPTH, extract_links, parse_html, to_plain_text

BASE = "http://blog.example/post"

# Pieces of markup that hostile or broken pages are made of.
MARKUP = st.lists(
    st.one_of(
        st.text(max_size=20),
        st.sampled_from(
            [
                "<a href='",
                '<a href="/?p=5">',
                "</a>",
                "<p>",
                "</p>",
                "<script>",
                "</script>",
                "<!--",
                "-->",
                "<base href='",
                "&amp;",
                "&#8217;",
                "&lt;script&gt;",
                "<![CDATA[",
                "<",
                ">",
                '"',
            ]
        ),
    ),
    max_size=30,
).map("".join)
# Peers can send anything, lone surrogates included (hypothesis leaves those out by default).
ANY_TEXT = st.one_of(st.text(), st.text(st.characters(exclude_categories=())), MARKUP)


# extract_links


@pytest.mark.parametrize(
    ("markup", "links"),
    [
        pytest.param(
            '<p><a href="http://other.example/x">x</a></p>',
            ["http://other.example/x"],
            id="absolute-href",
        ),
        pytest.param(
            '<head><base href="http://cdn.example/b/"></head><a href="x">x</a>',
            ["http://cdn.example/b/x"],
            id="resolved-against-base-element",
        ),
        pytest.param(
            '<a href="http://blog.example/a#comment-3">x</a>',
            ["http://blog.example/a"],
            id="fragment-stripped",
        ),
        pytest.param(
            '<a href="mailto:me@blog.example">m</a><a href="javascript:alert(1)">j</a>'
            '<a href="data:text/html,x">d</a><a href="tel:+100">t</a><a href="ftp://f.example/">f</a>',
            [],
            id="non-web-schemes-skipped",
        ),
        pytest.param(
            '<a href="">e</a><a href="  ">s</a><a href="#top">t</a><a>no href</a>',
            [],
            id="empty-and-fragment-only-hrefs-skipped",
        ),
        pytest.param(
            '<a href="http://Blog.example/a/">1</a><a href="http://blog.example:80/a">2</a>'
            '<a href="/a#x">3</a>',
            ["http://Blog.example/a/"],
            id="equivalent-urls-once-in-first-form",
        ),
        pytest.param(
            '<a href="/?p=5">5</a><a href="/?p=50">50</a>',
            ["http://blog.example/?p=5", "http://blog.example/?p=50"],
            id="query-strings-kept",
        ),
        pytest.param(
            '<a href="/?p=5&amp;replytocom=2">x</a>',
            ["http://blog.example/?p=5&replytocom=2"],
            id="ampersand-entity-decoded",
        ),
        pytest.param(
            '<a href="/c">c</a><div><a href="/a">a</a></div><a href="/b">b</a>',
            ["http://blog.example/c", "http://blog.example/a", "http://blog.example/b"],
            id="document-order",
        ),
        pytest.param(
            '<a href="  http://other.example/x\n ">x</a>',
            ["http://other.example/x"],
            id="whitespace-around-href-stripped",
        ),
        pytest.param(
            '<?xml version="1.0"?><HTML><BODY><A HREF="/x"/><br/></BODY></HTML>',
            ["http://blog.example/x"],
            id="uppercase-xhtml",
        ),
        pytest.param(
            '<!-- <a href="/c">c</a> --><script>"<a href=/s>s</a>"</script><a href="/r">r</a>',
            ["http://blog.example/r"],
            id="comments-and-scripts-ignored",
        ),
        pytest.param(
            '<template><a href="/t">t</a></template><noscript><a href="/n">n</a></noscript>',
            [],
            id="template-and-noscript-ignored",
        ),
        pytest.param(
            '<a href="https:///x">x</a><a href="https:x">y</a>', [], id="urls-without-host-skipped"
        ),
        pytest.param(
            '<base href=""><base href="http://cdn.example/"><a href="x">x</a>',
            ["http://blog.example/x"],
            id="first-base-element-counts-even-empty",
        ),
    ],
)
def test_extract_links(markup: str, links: list[str]) -> None:
    assert extract_links(markup, BASE) == links


@pytest.mark.parametrize(
    ("markup", "links"),
    [
        pytest.param(
            '<a href="other">x</a><a href="/top">y</a>',
            ["http://blog.example/dir/other", "http://blog.example/top"],
            id="relative-href",
        ),
        pytest.param(
            '<base href="/sub/"><a href="x">x</a>',
            ["http://blog.example/sub/x"],
            id="relative-base-element",
        ),
    ],
)
def test_extract_links_resolves_against_the_page_url(markup: str, links: list[str]) -> None:
    assert extract_links(markup, "http://blog.example/dir/post") == links


@given(ANY_TEXT, st.text(max_size=40))
def test_extract_links_never_raises(markup: str, base_url: str) -> None:
    assert isinstance(extract_links(markup, base_url), list)


# to_plain_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param("It&#8217;s A &#038; B&#8230;", "It\u2019s A & B…", id="wordpress-entities"),
        pytest.param(
            "Caf&eacute; <b>bold</b>\n\n&#8217;s",
            "Café bold \u2019s",
            id="tags-stripped-whitespace-collapsed",
        ),
        pytest.param("<script>alert(1)</script>", "", id="script-content-dropped"),
        pytest.param(
            "&lt;script&gt;alert(1)&lt;/script&gt;hi", "hi", id="double-escaped-markup-dropped"
        ),
        pytest.param("1 < 2", "1 < 2", id="lone-less-than-kept"),
        pytest.param("a\x00b\x07c\x7f\x9fd\ud800", "abcd", id="control-characters-dropped"),
    ],
)
def test_to_plain_text(value: str, text: str) -> None:
    assert to_plain_text(value) == text


@pytest.mark.filterwarnings("error")
def test_to_plain_text_of_bare_url_does_not_warn() -> None:
    assert to_plain_text("http://blog.example/?p=5") == "http://blog.example/?p=5"


def test_to_plain_text_crops_to_max_length() -> None:
    text = to_plain_text("<p>" + "lorem ipsum " * 50 + "</p>", max_length=30)
    assert len(text) <= 30
    assert text.endswith("…")


@given(ANY_TEXT, st.one_of(st.none(), st.integers(0, 100)))
def test_to_plain_text_never_leaves_markup(value: str, max_length: int | None) -> None:
    text = to_plain_text(value, max_length)
    assert "<script" not in text.lower()
    assert "<a " not in text.lower()


# The tokenizer: HTML5's rules, so a link is what a browser would follow.


@pytest.mark.parametrize(
    ("markup", "links"),
    [
        pytest.param(
            "<![if x]><a href='/in'>x</a><![endif]>",
            ["http://blog.example/in"],
            id="marked-section",
        ),
        pytest.param("<![CDATA[<a href='/no'>]]>", [], id="cdata-is-a-comment-to-the-first-gt"),
        pytest.param("<?x <a href='/no'>y", [], id="pi-is-a-comment-to-the-first-gt"),
        pytest.param("<!-- x <a href='/no'>", [], id="unclosed-comment-runs-to-the-end"),
        pytest.param("<!--><a href='/yes'>", ["http://blog.example/yes"], id="empty-comment"),
        pytest.param(
            "<p title='a>b'><a href='/yes'>", ["http://blog.example/yes"], id="gt-in-quotes"
        ),
        pytest.param("<a href='/x' <a href='/no'>", ["http://blog.example/x"], id="lt-in-a-tag"),
        pytest.param("<textarea><a href='/no'></textarea>", [], id="rcdata"),
        pytest.param("<a href='/a&amp;b'>", ["http://blog.example/a&b"], id="entity-in-value"),
    ],
)
def test_markup_is_tokenized_as_html5_does(markup: str, links: list[str]) -> None:
    assert extract_links(markup, BASE) == links


def test_nesting_deeper_than_the_cap_keeps_every_element() -> None:
    markup = "<div>" * (MAX_DEPTH * 3) + "<p>x <a href='/deep'>deep</a> y</p>"

    soup = parse_html(markup)

    assert soup is not None
    anchor = soup.find("a")
    assert anchor is not None and anchor.get("href") == "/deep"
    assert len(list(anchor.parents)) <= MAX_DEPTH + 2
