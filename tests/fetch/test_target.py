"""Which URLs the fetcher takes (fetch.target): schemes, hosts in IDNA form, ports, lengths."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pytest_httpserver import HTTPServer

from backlinks_django.exceptions import AddressNotAllowed, InvalidURL
from backlinks_django.fetch import fetch

# --- Host names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "looked_up"),
    [
        ("http://Пример.example/", "xn--e1afmkfd.example"),
        ("http://straße.example/", "xn--strae-oqa.example"),
        ("http://WWW.Example.COM./", "www.example.com"),
        # UTS #46 refuses these as a whole; label by label, as urllib3 encodes them.
        ("http://a_b.Пример.example/", "a_b.xn--e1afmkfd.example"),
        ("http://i❤.example/", "xn--i-7iq.example"),
    ],
)
def test_unicode_host_names_are_looked_up_in_idna_form(
    resolver: Callable[..., list[tuple[str, int]]], url: str, looked_up: str
) -> None:
    calls = resolver("10.0.0.1")  # refused afterwards: only the looked-up name matters here

    with pytest.raises(AddressNotAllowed):
        fetch(url)

    assert calls == [(looked_up, 80)]


def test_host_name_that_idna_refuses_is_an_invalid_url() -> None:
    with pytest.raises(InvalidURL, match="host name is not valid"):
        fetch("http://\u2488.example/")  # a "1." digit glyph: UTS #46 disallows it


# --- Invalid URLs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/file",
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/",
        "javascript:alert(1)",
        "http://user:pw@127.0.0.1/",
        "http://user@127.0.0.1/",
        "http:///path-only",
        "http://",
        "/relative/path",
        "",
        "http://127.0.0.1:99999/",
        "http://127.0.0.1:port/",
        "http://127.0.0.1:0/",
        "http://[::1/",
        "http://exa mple.com/",
        "http://127.0.0.1/a\r\nX-Injected: 1",
    ],
)
def test_invalid_url_is_refused(url: str) -> None:
    with pytest.raises(InvalidURL):
        fetch(url)


def test_url_longer_than_max_url_length_is_refused(configure: Callable[..., None]) -> None:
    configure(MAX_URL_LENGTH=100)
    url = "http://127.0.0.1/" + "a" * 84
    assert len(url) == 101

    with pytest.raises(InvalidURL):
        fetch(url)


def test_url_of_max_url_length_is_accepted(
    server: HTTPServer, configure: Callable[..., None]
) -> None:
    base = server.url_for("/")
    configure(MAX_URL_LENGTH=len(base) + 10)
    server.expect_request("/" + "a" * 10).respond_with_data("ok")

    assert fetch(base + "a" * 10).content == b"ok"


def test_invalid_url_message_names_no_internals() -> None:
    with pytest.raises(InvalidURL) as excinfo:
        fetch("ftp://example.com/")

    assert excinfo.value.message == str(excinfo.value)
    assert "Error" not in excinfo.value.message
