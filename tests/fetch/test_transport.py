"""Connections (fetch.transport): pinned to the checked address, TLS to the URL's name, failures."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests.adapters
import trustme
import urllib3.connectionpool
from pytest_httpserver import HTTPServer

from backlinks_django import fetch as fetch_module
from backlinks_django.exceptions import ConnectionFailed
from backlinks_django.fetch import fetch
from tests.fetch.rawserver import RawServer, close_after_request, read_request_head, send_raw

# --- Pinning -------------------------------------------------------------------------------------


def test_host_header_is_the_url_host_while_connecting_to_the_checked_ip(
    server: HTTPServer, resolver: Callable[..., list[tuple[str, int]]]
) -> None:
    resolver("127.0.0.1")
    server.expect_request("/").respond_with_data("ok")

    fetch(f"http://localhost:{server.port}/")

    request, _ = server.log[0]
    assert request.headers["Host"] == f"localhost:{server.port}"


def test_connection_uses_the_checked_address_without_another_lookup(
    server: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name only the hook knows: any second (system) lookup would fail or rebind."""
    answers = iter([["127.0.0.1"], ["10.0.0.1"]])
    monkeypatch.setattr(fetch_module, "resolve_host", lambda host, port: next(answers))
    server.expect_request("/").respond_with_data("pinned")

    response = fetch(f"http://rebind.invalid:{server.port}/")

    assert response.content == b"pinned"
    assert server.log[0][0].headers["Host"] == f"rebind.invalid:{server.port}"


def test_ipv6_literal_is_fetched_with_bracketed_host_header(
    httpserver_ipv6: HTTPServer,
) -> None:
    httpserver_ipv6.expect_request("/").respond_with_data("six")

    response = fetch(f"http://[::1]:{httpserver_ipv6.port}/")

    assert response.content == b"six"
    assert httpserver_ipv6.log[0][0].headers["Host"] == f"[::1]:{httpserver_ipv6.port}"


def test_environment_proxies_are_ignored(
    server: HTTPServer, raw_server: Callable[..., RawServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = raw_server()
    monkeypatch.setenv("HTTP_PROXY", proxy.url())
    monkeypatch.setenv("http_proxy", proxy.url())
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    server.expect_request("/").respond_with_data("direct")

    assert fetch(server.url_for("/")).content == b"direct"
    assert proxy.connections_so_far() == 0


# --- Connection failures -------------------------------------------------------------------------


def test_refused_connection_is_connection_failed() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port now.

    with pytest.raises(ConnectionFailed):
        fetch(f"http://127.0.0.1:{port}/")


def test_connection_closed_without_answer_is_connection_failed(
    raw_server: Callable[..., RawServer],
) -> None:
    closing = raw_server(close_after_request)

    with pytest.raises(ConnectionFailed):
        fetch(closing.url())


def test_garbage_instead_of_http_is_connection_failed(
    raw_server: Callable[..., RawServer],
) -> None:
    garbage = raw_server(send_raw(b"SSH-2.0-OpenSSH_9.6\r\n\r\n"))

    with pytest.raises(ConnectionFailed):
        fetch(garbage.url())


def test_body_shorter_than_content_length_is_connection_failed(
    raw_server: Callable[..., RawServer],
) -> None:
    short = raw_server(send_raw(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this"))

    with pytest.raises(ConnectionFailed):
        fetch(short.url())


# --- HTTPS through the pinned address ------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def trust(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make requests' default CA bundle the test CA (fetch always verifies)."""
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setattr(requests.adapters, "DEFAULT_CA_BUNDLE_PATH", str(bundle))


class TLSServer:
    def __init__(self, ca: trustme.CA, *names: str) -> None:
        self.sni: list[str | None] = []
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert(*names).configure_cert(context)
        context.sni_callback = self._record_sni
        self.http = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)

    def _record_sni(self, sock: ssl.SSLObject, name: str | None, context: ssl.SSLContext) -> None:
        self.sni.append(name)


@pytest.fixture
def tls_server(ca: trustme.CA) -> Iterator[Callable[..., TLSServer]]:
    servers: list[TLSServer] = []

    def start(*names: str) -> TLSServer:
        server = TLSServer(ca, *names)
        server.http.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.http.clear()
        server.http.stop()


@pytest.mark.usefixtures("trust")
def test_https_verifies_the_certificate_against_the_url_host_name(
    tls_server: Callable[..., TLSServer], resolver: Callable[..., list[tuple[str, int]]]
) -> None:
    resolver("127.0.0.1")
    server = tls_server("localhost")  # no IP address in the certificate
    server.http.expect_request("/").respond_with_data("secure")

    response = fetch(f"https://localhost:{server.http.port}/")

    assert response.content == b"secure"
    assert server.sni == ["localhost"]
    assert server.http.log[0][0].headers["Host"] == f"localhost:{server.http.port}"


@pytest.mark.usefixtures("trust")
def test_https_certificate_for_another_name_is_refused(
    tls_server: Callable[..., TLSServer], resolver: Callable[..., list[tuple[str, int]]]
) -> None:
    resolver("127.0.0.1")
    server = tls_server("other.example")
    server.http.expect_request("/").respond_with_data("never")

    with pytest.raises(ConnectionFailed):
        fetch(f"https://localhost:{server.http.port}/")

    assert server.http.log == []


def test_https_certificate_from_an_unknown_ca_is_refused(
    tls_server: Callable[..., TLSServer], resolver: Callable[..., list[tuple[str, int]]]
) -> None:
    resolver("127.0.0.1")
    server = tls_server("localhost")
    server.http.expect_request("/").respond_with_data("never")

    with pytest.raises(ConnectionFailed):
        fetch(f"https://localhost:{server.http.port}/")

    assert server.http.log == []


# --- One connection per request, no HTTP client stack above it -----------------------------------


def test_each_request_is_one_connection_without_requests_adapter_or_pool(
    server: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sending task makes two requests per link: requests' adapter, pool manager and pool
    cost more CPU than the exchange itself, and pool nothing (every connection is pinned)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("went through requests' adapter")

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", refuse)
    monkeypatch.setattr(urllib3.connectionpool.HTTPConnectionPool, "urlopen", refuse)
    server.expect_request("/a").respond_with_data("one")
    server.expect_request("/b", method="POST").respond_with_data("two")

    assert fetch(server.url_for("/a")).content == b"one"
    assert fetch(server.url_for("/b"), method="POST", data=b"x").content == b"two"


def test_request_target_is_sent_as_requests_sent_it(
    raw_server: Callable[..., RawServer],
) -> None:
    """Dot segments resolved, characters outside the URL syntax percent-encoded."""
    heads: list[bytes] = []

    def answer(conn: socket.socket, stop: object) -> None:
        heads.append(read_request_head(conn))
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        conn.close()

    peer = raw_server(answer)

    assert fetch(peer.url("/a/../b/./caf\u00e9%20x?q=\u00fc")).content == b"ok"
    assert heads[0].split(b"\r\n")[0] == b"GET /b/caf%C3%A9%20x?q=%C3%BC HTTP/1.1"
