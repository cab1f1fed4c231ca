"""Tests for backlinks_django.html: URL normalization, links, title, excerpt, plain text."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backlinks_django.html import (
    LinkContext,
    crop,
    extract_links,
    find_link,
    normalize_url,
    page_title,
    to_plain_text,
)

BASE = "http://blog.example/post"
TARGET = "http://blog.example/?p=5"


def page(body: str, title: str = "A post") -> str:
    return f"<html><head><title>{title}</title></head><body>{body}</body></html>"


def excerpt_for(html: str, target: str = TARGET, context: int = 100) -> str:
    found = find_link(html, BASE, target, context)
    assert found is not None
    return found.excerpt


# normalize_url


def test_normalize_url_lowercases_scheme_and_host() -> None:
    assert normalize_url("HTTP://Blog.EXAMPLE/Path") == "http://blog.example/Path"


def test_normalize_url_drops_http_default_port() -> None:
    assert normalize_url("http://blog.example:80/a") == "http://blog.example/a"


def test_normalize_url_drops_https_default_port() -> None:
    assert normalize_url("https://blog.example:443/a") == "https://blog.example/a"


def test_normalize_url_keeps_https_port_on_http() -> None:
    assert normalize_url("http://blog.example:443/a") == "http://blog.example:443/a"


def test_normalize_url_keeps_non_default_port() -> None:
    assert normalize_url("http://blog.example:8080/a") == "http://blog.example:8080/a"


def test_normalize_url_removes_trailing_slash_from_path() -> None:
    assert normalize_url("http://blog.example/a/b/") == "http://blog.example/a/b"


def test_normalize_url_keeps_root_slash() -> None:
    assert normalize_url("http://blog.example/") == "http://blog.example/"


def test_normalize_url_gives_empty_path_a_slash() -> None:
    assert normalize_url("http://blog.example") == "http://blog.example/"


def test_normalize_url_drops_fragment() -> None:
    assert normalize_url("http://blog.example/a#comments") == "http://blog.example/a"


def test_normalize_url_keeps_query_in_order() -> None:
    assert normalize_url("http://blog.example/?p=5&b=2&a=1") == "http://blog.example/?p=5&b=2&a=1"


def test_normalize_url_uppercases_percent_escapes() -> None:
    assert normalize_url("http://blog.example/a%3ab%2f") == "http://blog.example/a%3Ab%2F"


def test_normalize_url_keeps_userinfo_and_ipv6_host() -> None:
    assert normalize_url("http://me@[::1]:80/x") == "http://me@[::1]/x"


def test_normalize_url_returns_stripped_input_for_invalid_port() -> None:
    assert normalize_url("  http://blog.example:http/a  ") == "http://blog.example:http/a"


def test_normalize_url_does_not_raise_on_unclosed_ipv6_bracket() -> None:
    assert normalize_url("http://[::1/a") == "http://[::1/a"


_hosts = st.from_regex(r"\A[A-Za-z0-9]{1,10}(\.[A-Za-z]{2,5}){0,2}\Z")
_path_segments = st.text(alphabet=string.ascii_letters + string.digits + "-._~%/", max_size=12)
_generated_urls = st.builds(
    lambda scheme, host, port, path, query, fragment: (
        f"{scheme}://{host}{port}{path}{query}{fragment}"
    ),
    st.sampled_from(["http", "https", "HTTP", "Https"]),
    _hosts,
    st.sampled_from(["", ":80", ":443", ":8080", ":0080", ":"]),
    st.one_of(st.just(""), _path_segments.map(lambda p: "/" + p)),
    st.one_of(st.just(""), st.text(string.ascii_letters + "=&%/?", max_size=10).map("?".__add__)),
    st.one_of(st.just(""), st.text(string.ascii_letters + "#", max_size=5).map("#".__add__)),
)


@given(_generated_urls)
def test_normalize_url_is_idempotent_on_generated_urls(url: str) -> None:
    once = normalize_url(url)
    assert normalize_url(once) == once


@given(st.text())
def test_normalize_url_is_idempotent_on_any_text(text: str) -> None:
    once = normalize_url(text)
    assert normalize_url(once) == once


# extract_links


def test_extract_links_returns_absolute_href() -> None:
    html = '<p><a href="http://other.example/x">x</a></p>'
    assert extract_links(html, BASE) == ["http://other.example/x"]


def test_extract_links_resolves_relative_href_against_base_url() -> None:
    html = '<a href="other">x</a><a href="/top">y</a>'
    assert extract_links(html, "http://blog.example/dir/post") == [
        "http://blog.example/dir/other",
        "http://blog.example/top",
    ]


def test_extract_links_resolves_against_base_element() -> None:
    html = '<head><base href="http://cdn.example/b/"></head><a href="x">x</a>'
    assert extract_links(html, BASE) == ["http://cdn.example/b/x"]


def test_extract_links_resolves_relative_base_element_against_base_url() -> None:
    html = '<base href="/sub/"><a href="x">x</a>'
    assert extract_links(html, "http://blog.example/dir/post") == ["http://blog.example/sub/x"]


def test_extract_links_strips_fragments() -> None:
    html = '<a href="http://blog.example/a#comment-3">x</a>'
    assert extract_links(html, BASE) == ["http://blog.example/a"]


def test_extract_links_skips_non_web_schemes() -> None:
    html = (
        '<a href="mailto:me@blog.example">m</a><a href="javascript:alert(1)">j</a>'
        '<a href="data:text/html,x">d</a><a href="tel:+100">t</a><a href="ftp://f.example/">f</a>'
    )
    assert extract_links(html, BASE) == []


def test_extract_links_skips_empty_and_fragment_only_hrefs() -> None:
    html = '<a href="">e</a><a href="  ">s</a><a href="#top">t</a><a>no href</a>'
    assert extract_links(html, BASE) == []


def test_extract_links_deduplicates_equivalent_urls_keeping_first_form() -> None:
    html = (
        '<a href="http://Blog.example/a/">1</a><a href="http://blog.example:80/a">2</a>'
        '<a href="/a#x">3</a>'
    )
    assert extract_links(html, BASE) == ["http://Blog.example/a/"]


def test_extract_links_keeps_query_strings() -> None:
    html = '<a href="/?p=5">5</a><a href="/?p=50">50</a>'
    assert extract_links(html, BASE) == ["http://blog.example/?p=5", "http://blog.example/?p=50"]


def test_extract_links_decodes_ampersand_entities_in_href() -> None:
    html = '<a href="/?p=5&amp;replytocom=2">x</a>'
    assert extract_links(html, BASE) == ["http://blog.example/?p=5&replytocom=2"]


def test_extract_links_keeps_document_order() -> None:
    html = '<a href="/c">c</a><div><a href="/a">a</a></div><a href="/b">b</a>'
    assert extract_links(html, BASE) == [
        "http://blog.example/c",
        "http://blog.example/a",
        "http://blog.example/b",
    ]


def test_extract_links_strips_whitespace_around_href() -> None:
    html = '<a href="  http://other.example/x\n ">x</a>'
    assert extract_links(html, BASE) == ["http://other.example/x"]


def test_extract_links_reads_uppercase_xhtml() -> None:
    html = '<?xml version="1.0"?><HTML><BODY><A HREF="/x"/><br/></BODY></HTML>'
    assert extract_links(html, BASE) == ["http://blog.example/x"]


def test_extract_links_ignores_links_in_comments_and_scripts() -> None:
    html = '<!-- <a href="/c">c</a> --><script>"<a href=/s>s</a>"</script><a href="/r">r</a>'
    assert extract_links(html, BASE) == ["http://blog.example/r"]


def test_extract_links_ignores_links_in_template_and_noscript() -> None:
    html = '<template><a href="/t">t</a></template><noscript><a href="/n">n</a></noscript>'
    assert extract_links(html, BASE) == []


# find_link


def test_find_link_finds_absolute_link() -> None:
    assert find_link(page(f'<p><a href="{TARGET}">x</a></p>'), BASE, TARGET) is not None


def test_find_link_matches_relative_link_with_query() -> None:
    assert find_link(page('<p><a href="/?p=5">x</a></p>'), BASE, TARGET) is not None


def test_find_link_matches_trailing_slash_variant() -> None:
    html = page('<p><a href="http://blog.example/2024/post/">x</a></p>')
    assert find_link(html, BASE, "http://blog.example/2024/post") is not None


def test_find_link_matches_host_case_variant() -> None:
    assert find_link(page('<p><a href="http://BLOG.Example/?p=5">x</a></p>'), BASE, TARGET)


def test_find_link_rejects_different_query_value() -> None:
    assert find_link(page('<p><a href="/?p=50">x</a></p>'), BASE, TARGET) is None


def test_find_link_ignores_link_inside_script() -> None:
    html = page(f"<script>document.write('<a href=\"{TARGET}\">x</a>')</script>")
    assert find_link(html, BASE, TARGET) is None


def test_find_link_ignores_link_inside_comment() -> None:
    assert find_link(page(f'<!-- <a href="{TARGET}">x</a> -->'), BASE, TARGET) is None


def test_find_link_ignores_plain_text_url() -> None:
    assert find_link(page(f"<p>See {TARGET} for more.</p>"), BASE, TARGET) is None


def test_find_link_returns_title() -> None:
    found = find_link(page(f'<a href="{TARGET}">x</a>', title=" My\n  post "), BASE, TARGET)
    assert found == LinkContext(title="My post", excerpt="x")


def test_find_link_decodes_entities_in_title() -> None:
    found = find_link(
        page(f'<a href="{TARGET}">x</a>', title="Tom &amp; Jerry&#8217;s"), BASE, TARGET
    )
    assert found is not None
    assert found.title == "Tom & Jerry\u2019s"


def test_find_link_excerpt_has_text_around_link() -> None:
    html = page(f'<p>I liked <a href="{TARGET}">this post</a> a lot.</p>')
    assert excerpt_for(html) == "I liked this post a lot."


def test_find_link_excerpt_marks_cuts_with_ellipses() -> None:
    before = "alpha beta gamma delta epsilon " * 5
    after = " zeta eta theta iota kappa" * 5
    html = page(f'<p>{before}<a href="{TARGET}">the link</a>{after}</p>')
    excerpt = excerpt_for(html, context=20)
    assert excerpt.startswith("…")
    assert excerpt.endswith("…")
    assert "the link" in excerpt


def test_find_link_excerpt_cuts_on_word_boundaries() -> None:
    html = page(f'<p>{"wordy " * 40}<a href="{TARGET}">L</a>{" wordy" * 40}</p>')
    excerpt = excerpt_for(html, context=20)
    assert excerpt == "…wordy wordy wordy L wordy wordy wordy…"


def test_find_link_excerpt_length_is_bounded() -> None:
    html = page(f'<p>{"x" * 5000} <a href="{TARGET}">{"y " * 5000}</a> {"z" * 5000}</p>')
    assert len(excerpt_for(html, context=50)) <= 4 * 50 + 4


def test_find_link_excerpt_stays_inside_the_links_paragraph() -> None:
    html = page(f'<p>Before.</p><p>Inside <a href="{TARGET}">link</a>.</p><p>After.</p>')
    assert excerpt_for(html) == "Inside link."


def test_find_link_excerpt_decodes_entities() -> None:
    html = page(f'<p>Caf&eacute; &amp; <a href="{TARGET}">it&#8217;s</a> &#8230;</p>')
    assert excerpt_for(html) == "Café & it\u2019s …"


def test_find_link_excerpt_leaves_out_script_and_style_text() -> None:
    html = page(f'<p>A<script>var s;</script> <style>p{{}}</style><a href="{TARGET}">B</a></p>')
    assert excerpt_for(html) == "A B"


def test_find_link_first_matching_link_wins() -> None:
    html = page(f'<p>first <a href="/?p=5">one</a></p><p>second <a href="{TARGET}">two</a></p>')
    assert excerpt_for(html) == "first one"


def test_find_link_counts_link_wrapping_only_an_image() -> None:
    html = page(f'<p>Look: <a href="{TARGET}"><img src="/i.png"></a> nice</p>')
    assert excerpt_for(html) == "Look: nice"


def test_find_link_works_without_html_and_body_tags() -> None:
    html = f'<title>T</title>text <a href="{TARGET}">link</a> more'
    assert find_link(html, BASE, TARGET) == LinkContext(title="T", excerpt="text link more")


def test_find_link_works_when_head_is_never_closed() -> None:
    html = f'<head><title>T</title><p>Body <a href="{TARGET}">link</a></p>'
    assert find_link(html, BASE, TARGET) == LinkContext(title="T", excerpt="Body link")


def test_find_link_ignores_svg_title() -> None:
    html = f'<body><svg><title>icon</title></svg><a href="{TARGET}">x</a></body>'
    found = find_link(html, BASE, TARGET)
    assert found is not None
    assert found.title == ""


# page_title


def test_page_title_collapses_whitespace() -> None:
    assert page_title("<title>\n  Hello\t world </title>") == "Hello world"


def test_page_title_is_empty_without_title() -> None:
    assert page_title("<p>no title</p>") == ""


def test_page_title_is_cropped_to_255() -> None:
    title = page_title(f"<title>{'word ' * 200}</title>")
    assert len(title) <= 255
    assert title.endswith("…")


# to_plain_text and crop


def test_to_plain_text_decodes_wordpress_entities() -> None:
    assert to_plain_text("It&#8217;s A &#038; B&#8230;") == "It\u2019s A & B…"


def test_to_plain_text_strips_tags_and_collapses_whitespace() -> None:
    assert to_plain_text("Caf&eacute; <b>bold</b>\n\n&#8217;s") == "Café bold \u2019s"


def test_to_plain_text_drops_script_content() -> None:
    assert to_plain_text("<script>alert(1)</script>") == ""


def test_to_plain_text_drops_double_escaped_markup() -> None:
    assert to_plain_text("&lt;script&gt;alert(1)&lt;/script&gt;hi") == "hi"


def test_to_plain_text_keeps_a_lone_less_than_sign() -> None:
    assert to_plain_text("1 < 2") == "1 < 2"


def test_to_plain_text_drops_control_characters() -> None:
    assert to_plain_text("a\x00b\x07c\x7f\x9fd\ud800") == "abcd"


@pytest.mark.filterwarnings("error")
def test_to_plain_text_of_bare_url_does_not_warn() -> None:
    assert to_plain_text("http://blog.example/?p=5") == "http://blog.example/?p=5"


def test_to_plain_text_crops_to_max_length() -> None:
    text = to_plain_text("<p>" + "lorem ipsum " * 50 + "</p>", max_length=30)
    assert len(text) <= 30
    assert text.endswith("…")


def test_crop_returns_short_text_unchanged() -> None:
    assert crop("short  text ", 12) == "short  text "


def test_crop_cuts_at_word_boundary() -> None:
    assert crop("hello wonderful world", 18) == "hello wonderful…"


def test_crop_cuts_inside_a_word_without_spaces() -> None:
    assert crop("abcdefghijkl", 5) == "abcd…"


@given(st.text(), st.integers(min_value=-5, max_value=300))
def test_crop_never_exceeds_max_length(text: str, max_length: int) -> None:
    assert len(crop(text, max_length)) <= max(max_length, 0)


# robustness

_markup = st.lists(
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
_any_text = st.one_of(st.text(), st.text(st.characters(exclude_categories=())), _markup)


@given(_any_text, st.text(max_size=40))
def test_extract_links_never_raises(html: str, base_url: str) -> None:
    assert isinstance(extract_links(html, base_url), list)


@given(_any_text, st.integers(min_value=-1, max_value=200))
def test_find_link_never_raises(html: str, context: int) -> None:
    found = find_link(html, BASE, TARGET, context)
    assert found is None or isinstance(found, LinkContext)


@given(_any_text, st.one_of(st.none(), st.integers(0, 100)))
def test_to_plain_text_never_leaves_markup(value: str, max_length: int | None) -> None:
    text = to_plain_text(value, max_length)
    assert "<script" not in text.lower()
    assert "<a " not in text.lower()


@given(_any_text)
def test_page_title_never_raises(html: str) -> None:
    assert len(page_title(html)) <= 255


# --- defuse: linear-time protection of html.parser --------------------------------------------


def test_defuse_keeps_tags_comments_and_text():
    from backlinks_django.html import defuse

    page = '<p title="a>b">x <a href="/y">y</a> <!-- <a href="/decoy"> --> 1 &lt; 2</p>'

    assert defuse(page) == page


def test_defuse_escapes_what_can_start_nothing():
    from backlinks_django.html import defuse

    assert defuse("a <b <c> d") == "a &lt;b <c> d"
    assert defuse("<!-- never closed <p>x</p>") == "&lt;!-- never closed <p>x</p>"
    assert defuse("tail <") == "tail &lt;"


def test_link_after_unfinished_markup_is_still_found():
    page = "<a " * 2000 + "<!--" * 2000 + '<p>See <a href="http://t.example/p">it</a>.</p>'

    found = find_link(page, "http://s.example/", "http://t.example/p")

    assert found is not None
    assert "it" in found.excerpt


@given(st.text(alphabet="<>!-/a ", max_size=200))
def test_defuse_output_parses_the_same_links_as_browsers_would_find(markup):
    from backlinks_django.html import defuse

    result = defuse(markup)
    # Every remaining "<" is a complete tag or comment: a ">" comes before the next "<".
    for index, char in enumerate(result):
        if char == "<":
            rest = result[index + 1 :]
            assert ">" in rest
            if not result.startswith("<!--", index):
                assert rest.index(">") < (rest.index("<") if "<" in rest else len(rest))
