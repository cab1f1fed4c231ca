"""protocols.discovery.rel_link: the answer of html.rel_link, without a tree when none can match."""

from __future__ import annotations

import random

import pytest

from backlinks_django import html
from backlinks_django.protocols import discovery

PAGE = "http://target.example/post"
# Markup that does, does not, or only seems to advertise an endpoint.
FRAGMENTS = [
    '<link rel="webmention" href="/wm">',
    '<link rel="WebMention" href="/upper">',
    '<a rel="nofollow webmention" href="http://other.example/wm">x</a>',
    '<link rel="&#119;ebmention" href="/entity">',
    '<link rel="web&#x6D;ention" href="/hex-entity">',
    '<link rel="pingback" href="/xmlrpc">',
    '<link rel="PINGBACK" href="/upper-xmlrpc">',
    '<link rel="&#x70;ingback" href="/entity-xmlrpc">',
    '<a rel="pingback" href="/a-xmlrpc">not a link element</a>',
    "<!-- <link rel=webmention href=/in-comment> -->",
    "<template><link rel=webmention href=/in-template></template>",
    "<script>var s = '<link rel=webmention href=/in-script>';</script>",
    "&lt;link rel=webmention href=/escaped&gt;",
    '<link rel="webmention">',
    '<link rel="webmention" href="mailto:a@b.example">',
    '<base href="http://base.example/dir/">',
    "<p>webmention pingback &amp; more</p>",
    '<link rel="web\ud800mention" href="/surrogate">',
    '<link rel="pingbac\u212a" href="/kelvin">',
    '<link rel="stylesheet" href="/s.css">',
    "<div><span>plain text</span></div>",
    "<title>webmention</title>",
    "<a href=/x rel=webmention>unquoted</a>",
    "<link rel=webmention href=/unclosed",
    "",
]
CASES = [("webmention", ("link", "a")), ("pingback", ("link",))]


@pytest.mark.parametrize(("token", "elements"), CASES)
@pytest.mark.parametrize("fragment", FRAGMENTS)
def test_same_answer_as_the_tree_for_each_fragment(
    fragment: str, token: str, elements: tuple[str, ...]
) -> None:
    markup = f"<html><head><title>T</title>{fragment}</head><body>x</body></html>"
    expected = html.rel_link(markup, PAGE, token, elements)
    assert discovery.rel_link(markup, PAGE, token, elements) == expected
    assert discovery.rel_link(fragment, PAGE, token, elements) == html.rel_link(
        fragment, PAGE, token, elements
    )


@pytest.mark.parametrize(("token", "elements"), CASES)
def test_same_answer_as_the_tree_for_mixed_pages(token: str, elements: tuple[str, ...]) -> None:
    rng = random.Random(12)
    for _ in range(300):
        markup = "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 6)))
        expected = html.rel_link(markup, PAGE, token, elements)
        assert discovery.rel_link(markup, PAGE, token, elements) == expected, markup


@pytest.mark.parametrize(
    "markup",
    [
        "<html><head><title>Peer</title></head><body>Peer post</body></html>",
        '<p>Fish &amp; chips <a href="/x" rel="nofollow">x</a></p>',
        "<!-- webmention --><p>about webmention</p>",
        "no markup at all",
    ],
)
def test_no_tree_is_built_for_a_page_that_cannot_advertise(
    markup: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_tree(markup: str) -> None:
        raise AssertionError("parsed into a tree")

    monkeypatch.setattr(html, "parse_html", no_tree)

    assert discovery.rel_link(markup, PAGE, "webmention", ("link", "a")) is None
