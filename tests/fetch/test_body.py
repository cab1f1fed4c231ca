"""Reading bodies (fetch.body): the byte cap, truncation, gzip/deflate and compression bombs."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import Callable

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response as WerkzeugResponse

from backlinks_django.exceptions import ConnectionFailed, ResponseTooLarge
from backlinks_django.fetch import fetch
from tests.fetch.rawserver import RawServer, send_raw, stream_forever

# --- Size limits ---------------------------------------------------------------------------------


def chunked(body: bytes, piece: int = 1000) -> WerkzeugResponse:
    """A response without Content-Length (werkzeug sends it chunked)."""
    return WerkzeugResponse(
        (body[i : i + piece] for i in range(0, len(body), piece)), content_type="text/plain"
    )


def test_chunked_body_over_the_limit_raises(server: HTTPServer) -> None:
    server.expect_request("/").respond_with_response(chunked(b"x" * 50_000))

    with pytest.raises(ResponseTooLarge):
        fetch(server.url_for("/"), max_bytes=10_000)


def test_body_with_content_length_over_the_limit_raises(server: HTTPServer) -> None:
    server.expect_request("/").respond_with_data(b"x" * 50_000)

    with pytest.raises(ResponseTooLarge):
        fetch(server.url_for("/"), max_bytes=10_000)


def test_endless_close_delimited_body_raises(raw_server: Callable[..., RawServer]) -> None:
    endless = raw_server(stream_forever)

    with pytest.raises(ResponseTooLarge):
        fetch(endless.url(), max_bytes=100_000)


def test_limit_defaults_to_fetch_max_bytes(
    server: HTTPServer, configure: Callable[..., None]
) -> None:
    configure(FETCH_MAX_BYTES=1000)
    server.expect_request("/").respond_with_data(b"x" * 1001)

    with pytest.raises(ResponseTooLarge):
        fetch(server.url_for("/"))


def test_body_of_exactly_the_limit_is_whole(server: HTTPServer) -> None:
    server.expect_request("/").respond_with_data(b"x" * 1000)

    response = fetch(server.url_for("/"), max_bytes=1000)

    assert (len(response.content), response.truncated) == (1000, False)


def test_truncate_returns_exactly_max_bytes(server: HTTPServer) -> None:
    body = bytes(range(256)) * 100
    server.expect_request("/").respond_with_response(chunked(body))

    response = fetch(server.url_for("/"), max_bytes=5000, truncate=True)

    assert response.content == body[:5000]
    assert response.truncated is True


# --- Compression ---------------------------------------------------------------------------------


def test_gzip_body_is_decoded(server: HTTPServer) -> None:
    body = b"<p>hello</p>" * 100
    server.expect_request("/").respond_with_data(
        gzip.compress(body), headers={"Content-Encoding": "gzip"}
    )

    assert fetch(server.url_for("/")).content == body


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw"])
def test_deflate_body_is_decoded(server: HTTPServer, wbits: int) -> None:
    body = b"deflated " * 100
    compressor = zlib.compressobj(wbits=wbits)
    encoded = compressor.compress(body) + compressor.flush()
    server.expect_request("/").respond_with_data(encoded, headers={"Content-Encoding": "deflate"})

    assert fetch(server.url_for("/")).content == body


def test_gzip_bomb_is_refused_by_decoded_size(server: HTTPServer) -> None:
    bomb = gzip.compress(b"\0" * 20_000_000)
    assert len(bomb) < 100_000
    server.expect_request("/").respond_with_data(bomb, headers={"Content-Encoding": "gzip"})

    with pytest.raises(ResponseTooLarge):
        fetch(server.url_for("/"), max_bytes=100_000)


def test_gzip_bomb_is_never_inflated_in_memory(raw_server: Callable[..., RawServer]) -> None:
    bomb = gzip.compress(b"\0" * 20_000_000)
    head = f"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {len(bomb)}\r\n\r\n"
    # A raw server allocates next to nothing, so the traced peak is the client's.
    bomber = raw_server(send_raw(head.encode() + bomb))

    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLarge):
            fetch(bomber.url(), max_bytes=100_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 2_000_000


def test_gzip_bomb_truncates_to_max_decoded_bytes(server: HTTPServer) -> None:
    bomb = gzip.compress(b"\0" * 20_000_000)
    server.expect_request("/").respond_with_data(bomb, headers={"Content-Encoding": "gzip"})

    response = fetch(server.url_for("/"), max_bytes=100_000, truncate=True)

    assert (len(response.content), response.truncated) == (100_000, True)


def test_corrupt_gzip_body_is_connection_failed(server: HTTPServer) -> None:
    server.expect_request("/").respond_with_data(
        b"definitely not gzip", headers={"Content-Encoding": "gzip"}
    )

    with pytest.raises(ConnectionFailed):
        fetch(server.url_for("/"))


def test_unsupported_content_encoding_is_connection_failed(server: HTTPServer) -> None:
    server.expect_request("/").respond_with_data(b"...", headers={"Content-Encoding": "br"})

    with pytest.raises(ConnectionFailed):
        fetch(server.url_for("/"))
