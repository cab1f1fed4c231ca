"""Tests for backlinks_django.weburl: comparable URLs, href resolution, host keys."""

from __future__ import annotations

import string
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backlinks_django import limits
from backlinks_django.weburl import (
    document_base_url,
    host_forms,
    host_key,
    link_url,
    normalize_url,
    web_url,
)

BASE = "http://blog.example/dir/post"


# normalize_url


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        pytest.param(
            "HTTP://Blog.EXAMPLE/Path", "http://blog.example/Path", id="scheme-and-host-lowercased"
        ),
        pytest.param("http://blog.example:80/a", "http://blog.example/a", id="http-default-port"),
        pytest.param(
            "https://blog.example:443/a", "https://blog.example/a", id="https-default-port"
        ),
        pytest.param(
            "http://blog.example:443/a", "http://blog.example:443/a", id="https-port-on-http-kept"
        ),
        pytest.param(
            "http://blog.example:8080/a", "http://blog.example:8080/a", id="other-port-kept"
        ),
        pytest.param("http://blog.example/a/b/", "http://blog.example/a/b", id="trailing-slash"),
        pytest.param("http://blog.example/", "http://blog.example/", id="root-slash-kept"),
        pytest.param("http://blog.example", "http://blog.example/", id="empty-path-gets-slash"),
        pytest.param("http://blog.example/a#comments", "http://blog.example/a", id="fragment"),
        pytest.param(
            "http://blog.example/?p=5&b=2&a=1",
            "http://blog.example/?p=5&b=2&a=1",
            id="query-order-kept",
        ),
        pytest.param(
            "http://blog.example/a%3ab%2f",
            "http://blog.example/a%3Ab%2F",
            id="percent-escapes-uppercased",
        ),
        pytest.param("http://me@[::1]:80/x", "http://me@[::1]/x", id="userinfo-and-ipv6-kept"),
        pytest.param(
            "  http://blog.example:http/a  ",
            "http://blog.example:http/a",
            id="invalid-port-gives-stripped-input",
        ),
        pytest.param("http://[::1/a", "http://[::1/a", id="unclosed-ipv6-bracket-does-not-raise"),
    ],
)
def test_normalized_url(url: str, normalized: str) -> None:
    assert normalize_url(url) == normalized


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


# web_url and link_url: the one href resolution


@pytest.mark.parametrize(
    ("href", "url"),
    [
        pytest.param("other", "http://blog.example/dir/other", id="relative"),
        pytest.param(" \n/top#x\t", "http://blog.example/top", id="whitespace-and-fragment"),
        pytest.param("/a\nb", "http://blog.example/ab", id="newline-inside-dropped"),
        pytest.param("", BASE, id="empty-is-the-base"),
        pytest.param("HTTPS://other.example/", "HTTPS://other.example/", id="absolute"),
        pytest.param("mailto:me@blog.example", None, id="not-http"),
        pytest.param("https:///x", None, id="no-host"),
        pytest.param("/a\x00b", None, id="control-character"),
        pytest.param("/" + "a" * limits.URL, None, id="longer-than-stored"),
        pytest.param("http://[::1/a", None, id="unparseable"),
    ],
)
def test_web_url_resolves_href_to_a_storable_web_url_or_none(href: str, url: str | None) -> None:
    assert web_url(BASE, href) == url


@pytest.mark.parametrize("href", ["", "  ", "#top", " #top"])
def test_link_url_of_an_in_page_link_is_none(href: str) -> None:
    assert link_url(BASE, href) is None


def test_link_url_ignores_unicode_whitespace_around_the_href() -> None:
    assert link_url(BASE, "\xa0/a\u3000") == "http://blog.example/a"


@pytest.mark.parametrize(
    ("base_href", "base"),
    [
        pytest.param(None, BASE, id="no-base-element"),
        pytest.param(" ", BASE, id="blank"),
        pytest.param("/sub/", "http://blog.example/sub/", id="relative"),
        pytest.param("ftp://files.example/", "ftp://files.example/", id="any-scheme"),
        pytest.param("http://[::1/", BASE, id="unparseable"),
    ],
)
def test_document_base_url(base_href: str | None, base: str) -> None:
    assert document_base_url(BASE, base_href) == base


# host_key and host_forms


@pytest.mark.parametrize(
    ("host", "key"),
    [
        pytest.param("Blog.Example.", "blog.example", id="case-and-trailing-dot"),
        pytest.param("Пример.com", "xn--e1afmkfd.com", id="unicode"),
        pytest.param("xn--e1afmkfd.com", "xn--e1afmkfd.com", id="already-ascii"),
        pytest.param("a_b.пример.com", "a_b.xn--e1afmkfd.com", id="underscore-label"),
    ],
)
def test_host_key_is_one_form_per_host(host: str, key: str) -> None:
    assert host_key(host) == key


@given(
    st.one_of(
        st.text(st.characters(max_codepoint=127)),
        st.lists(
            st.sampled_from(
                ["xn--", "xn--e1afmkfd", "xn--zz", "Ab", "a-", "-a", "ab--c", "_", ""]
            ),
            max_size=5,
        ).map(".".join),
    )
)
def test_an_ascii_host_is_keyed_as_the_idna_codec_keys_it(host: str) -> None:
    """host_key skips the codec for ASCII names: what the codec would give is the same."""
    from backlinks_django.weburl import _idna_key

    assert host_key(host) == _idna_key(host.strip().rstrip(".").lower())


def test_host_forms_hold_the_key_and_the_unicode_spelling() -> None:
    assert host_forms("xn--e1afmkfd.com") == {"xn--e1afmkfd.com", "пример.com"}


def test_importing_weburl_loads_no_html_parser() -> None:
    # The models and the template tags import this module; bs4 must stay out of their way.
    code = "import sys, backlinks_django.weburl; print('bs4' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
