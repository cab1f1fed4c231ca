"""Response (fetch.response): media type, and the encoding its text is decoded with."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict

from backlinks_django.fetch import Response


def make_response(content: bytes, content_type: str | None = None) -> Response:
    headers = CaseInsensitiveDict[str]()
    if content_type is not None:
        headers["Content-Type"] = content_type
    return Response(url="http://example.com/", status=200, headers=headers, content=content)


def test_text_uses_the_charset_of_the_content_type_header() -> None:
    response = make_response("café".encode("iso-8859-1"), "text/html; charset=ISO-8859-1")

    assert response.text == "café"


def test_text_uses_a_quoted_charset_parameter() -> None:
    response = make_response("café".encode("iso-8859-1"), 'text/plain; charset="iso-8859-1"')

    assert response.text == "café"


def test_text_uses_meta_charset_in_html() -> None:
    body = '<html><head><meta charset="shift_jis"></head><body>日本語</body></html>'

    response = make_response(body.encode("shift_jis"), "text/html")

    assert "日本語" in response.text


def test_text_uses_meta_http_equiv_content_type_in_html() -> None:
    body = (
        '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251"><p>Привет</p>'
    )

    response = make_response(body.encode("windows-1251"), "text/html")

    assert "Привет" in response.text


def test_meta_charset_after_the_first_2kb_is_ignored() -> None:
    body = b" " * 3000 + b'<meta charset="iso-8859-1">' + "é".encode()

    assert make_response(body, "text/html").text.endswith("é")


def test_header_charset_wins_over_meta_charset() -> None:
    body = '<meta charset="shift_jis">é'.encode("iso-8859-1")

    assert make_response(body, "text/html; charset=iso-8859-1").text.endswith("é")


def test_text_defaults_to_utf8() -> None:
    assert make_response("naïve ✓".encode(), "text/plain").text == "naïve ✓"


def test_byte_order_mark_decides_the_encoding() -> None:
    body = "\ufeffhello".encode("utf-16-le")

    assert make_response(body, "text/html; charset=utf-8").text == "hello"


def test_undecodable_bytes_are_replaced() -> None:
    assert make_response(b"ok \xff\xfe end", "text/plain").text == "ok \ufffd\ufffd end"


def test_unknown_or_non_text_charset_falls_back_to_utf8() -> None:
    assert make_response(b"plain", "text/plain; charset=rot13").text == "plain"
    assert make_response(b"plain", "text/plain; charset=no-such-codec").text == "plain"


@given(st.binary(max_size=300), st.one_of(st.none(), st.text(max_size=60)))
def test_text_never_raises(content: bytes, content_type: str | None) -> None:
    assert isinstance(make_response(content, content_type).text, str)


@pytest.mark.parametrize(
    ("content_type", "media_type", "is_html"),
    [
        ("Text/HTML; charset=utf-8", "text/html", True),
        ("application/xhtml+xml", "application/xhtml+xml", True),
        ("application/json", "application/json", False),
        (None, "", False),
    ],
)
def test_content_type_is_the_bare_media_type_and_xhtml_counts_as_html(
    content_type: str | None, media_type: str, is_html: bool
) -> None:
    response = make_response(b"", content_type)

    assert (response.content_type, response.is_html) == (media_type, is_html)
