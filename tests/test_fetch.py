"""Tests of backlinks_django.fetch against real servers on loopback (never the internet)."""

from __future__ import annotations

import gzip
import ipaddress
import socket
import ssl
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests.adapters
import trustme
import urllib3.util.connection
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from requests.structures import CaseInsensitiveDict
from werkzeug import Response as WerkzeugResponse

import backlinks_django
from backlinks_django import fetch as fetch_module
from backlinks_django.fetch import (
    AddressNotAllowed,
    ConnectionFailed,
    FetchTimeout,
    InvalidURL,
    Response,
    ResponseTooLarge,
    TooManyRedirects,
    check_address,
    fetch,
    resolve_host,
)

# --- Helpers -----------------------------------------------------------------------------------

Handler = Callable[[socket.socket, threading.Event], None]


class RawServer:
    """A TCP server on loopback that counts connections and hands each to ``handler``."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1") -> None:
        self.handler = handler
        self.host = host
        self.accepted = 0
        self.stop = threading.Event()
        self.sock = socket.create_server((host, 0))
        self.sock.settimeout(0.05)
        self.port: int = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                self.handler(conn, self.stop)
            except OSError:
                pass

    def connections_so_far(self) -> int:
        """Connections accepted before now (waits for a probe so none is still queued)."""
        before = self.accepted
        with socket.create_connection((self.host, self.port), timeout=2):
            deadline = time.monotonic() + 2
            while self.accepted == before and time.monotonic() < deadline:
                time.sleep(0.01)
        return self.accepted - 1

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=2)
        self.sock.close()


def read_request_head(conn: socket.socket) -> bytes:
    conn.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def close_at_once(conn: socket.socket, stop: threading.Event) -> None:
    pass


def close_after_request(conn: socket.socket, stop: threading.Event) -> None:
    read_request_head(conn)


def drip(prefix: bytes) -> Handler:
    """A handler that sends ``prefix`` and then one byte every 0.2 s.

    It gives up after 5 s (closing the connection) so that a client without a deadline fails
    the test instead of hanging it.
    """

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        read_request_head(conn)
        conn.sendall(prefix)
        for _ in range(25):
            if stop.wait(0.2):
                return
            conn.sendall(b"a")

    return handler


def send_raw(response: bytes) -> Handler:
    def handler(conn: socket.socket, stop: threading.Event) -> None:
        read_request_head(conn)
        conn.sendall(response)

    return handler


def stream_forever(conn: socket.socket, stop: threading.Event) -> None:
    """A close-delimited body (no Content-Length, not chunked) that never ends."""
    read_request_head(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n")
    block = b"x" * 65536
    while not stop.is_set():
        conn.sendall(block)


@pytest.fixture(autouse=True)
def stay_on_loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any test that tries to connect beyond loopback (if the address guard broke)."""
    outside: list[str] = []
    real_create_connection = urllib3.util.connection.create_connection

    def guarded(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        if not ipaddress.ip_address(address[0].strip("[]")).is_loopback:
            outside.append(address[0])
            raise OSError("test refused to leave loopback")
        return real_create_connection(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", guarded)
    yield
    assert outside == [], f"tried to connect to {outside}"


@pytest.fixture
def raw_server() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def start(handler: Handler = close_at_once, host: str = "127.0.0.1") -> RawServer:
        server = RawServer(handler, host)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def configure(settings: Any) -> Callable[..., None]:
    """Override single BACKLINKS keys, keeping the test settings' others."""

    def apply(**values: Any) -> None:
        settings.BACKLINKS = {**settings.BACKLINKS, **values}

    return apply


@pytest.fixture
def server(httpserver_ipv4: HTTPServer) -> Iterator[HTTPServer]:
    yield httpserver_ipv4
    httpserver_ipv4.check_assertions()


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[tuple[str, int]]]:
    """Replace the resolver hook: every name resolves to ``addresses``; returns the call log."""

    def install(*addresses: str) -> list[tuple[str, int]]:
        calls: list[tuple[str, int]] = []

        def fake(host: str, port: int) -> list[str]:
            calls.append((host, port))
            return list(addresses)

        monkeypatch.setattr(fetch_module, "resolve_host", fake)
        return calls

    return install


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


def test_host_name_idna_refuses_is_invalid() -> None:
    with pytest.raises(InvalidURL, match="host name is not valid"):
        fetch("http://\u2488.example/")  # a "1." digit glyph: UTS #46 disallows it


def localhost_url(server: HTTPServer, path: str = "/") -> str:
    return f"http://localhost:{server.port}{path}"


# --- Plain GET -----------------------------------------------------------------------------------


def test_get_returns_status_headers_body_and_final_url(server: HTTPServer) -> None:
    server.expect_request("/page").respond_with_data(
        b"hello", status=203, headers={"X-Custom": "yes"}, content_type="text/plain"
    )
    url = server.url_for("/page")

    response = fetch(url)

    assert response.status == 203
    assert response.content == b"hello"
    assert response.url == url
    assert response.headers["x-custom"] == "yes"
    assert response.content_type == "text/plain"
    assert response.truncated is False


def test_default_user_agent_and_accept_are_sent(server: HTTPServer) -> None:
    server.expect_request("/").respond_with_data("ok")

    fetch(server.url_for("/"))

    request, _ = server.log[0]
    assert request.headers["User-Agent"] == f"backlinks_django/{backlinks_django.__version__}"
    assert request.headers["Accept"] == "*/*"


def test_caller_headers_override_defaults_and_add_new_ones(server: HTTPServer) -> None:
    server.expect_request("/").respond_with_data("ok")

    fetch(
        server.url_for("/"),
        headers={"user-agent": "Site/1.0 (verifying pingback from 192.0.2.7)", "X-Extra": "1"},
    )

    request, _ = server.log[0]
    assert request.headers["User-Agent"] == "Site/1.0 (verifying pingback from 192.0.2.7)"
    assert request.headers["X-Extra"] == "1"


def test_non_2xx_status_is_returned_not_raised(server: HTTPServer) -> None:
    server.expect_request("/gone").respond_with_data("gone", status=410)

    response = fetch(server.url_for("/gone"))

    assert (response.status, response.content) == (410, b"gone")


def test_query_string_reaches_the_server(server: HTTPServer) -> None:
    server.expect_request("/search", query_string="q=a+b&x=1").respond_with_data("found")

    assert fetch(server.url_for("/search?q=a+b&x=1")).content == b"found"


# --- Pinning -------------------------------------------------------------------------------------


def test_host_header_is_the_url_host_while_connecting_to_the_checked_ip(
    server: HTTPServer, resolver: Callable[..., list[tuple[str, int]]]
) -> None:
    resolver("127.0.0.1")
    server.expect_request("/").respond_with_data("ok")

    fetch(localhost_url(server))

    request, _ = server.log[0]
    assert request.headers["Host"] == f"localhost:{server.port}"


def test_host_is_resolved_exactly_once_per_hop(
    server: HTTPServer, resolver: Callable[..., list[tuple[str, int]]]
) -> None:
    calls = resolver("127.0.0.1")
    server.expect_request("/a").respond_with_data("", status=302, headers={"Location": "/b"})
    server.expect_request("/b").respond_with_data("ok")

    fetch(localhost_url(server, "/a"))

    assert calls == [("localhost", server.port), ("localhost", server.port)]


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


# --- Address guard ---------------------------------------------------------------------------


def test_default_settings_refuse_loopback_without_connecting(
    configure: Callable[..., None], raw_server: Callable[..., RawServer]
) -> None:
    configure(ALLOWED_NETWORKS=[])
    listener = raw_server()

    with pytest.raises(AddressNotAllowed):
        fetch(listener.url())

    assert listener.connections_so_far() == 0


def test_default_settings_refuse_localhost_by_name(
    configure: Callable[..., None], raw_server: Callable[..., RawServer]
) -> None:
    configure(ALLOWED_NETWORKS=[])
    listener = raw_server()

    with pytest.raises(AddressNotAllowed):
        fetch(f"http://localhost:{listener.port}/")

    assert listener.connections_so_far() == 0


def test_default_settings_refuse_ipv6_loopback_literal(configure: Callable[..., None]) -> None:
    configure(ALLOWED_NETWORKS=[])

    with pytest.raises(AddressNotAllowed):
        fetch("http://[::1]:9/")


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "127.0.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "240.0.0.1",
        "192.0.2.1",
        "198.18.0.1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "fec0::1",
        "ff02::1",
        "2001:db8::1",
        "64:ff9b::a00:1",
        "2002:7f00:1::1",
        "::127.0.0.1",
    ],
)
def test_name_resolving_to_refused_address_is_refused(
    address: str,
    configure: Callable[..., None],
    resolver: Callable[..., list[tuple[str, int]]],
) -> None:
    configure(ALLOWED_NETWORKS=[])
    resolver(address)

    with pytest.raises(AddressNotAllowed) as excinfo:
        fetch("http://internal.invalid/")

    assert "internal.invalid" in excinfo.value.message
    assert address not in excinfo.value.message


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses_are_allowed(address: str, configure: Callable[..., None]) -> None:
    configure(ALLOWED_NETWORKS=[])

    check_address(address)


def test_allowed_networks_admit_a_private_range(configure: Callable[..., None]) -> None:
    configure(ALLOWED_NETWORKS=["10.0.0.0/8"])

    check_address("10.1.2.3")
    with pytest.raises(AddressNotAllowed):
        check_address("192.168.1.1")


def test_allowed_networks_admit_the_mapped_form_of_an_allowed_ipv4(
    configure: Callable[..., None],
) -> None:
    configure(ALLOWED_NETWORKS=["127.0.0.0/8"])

    check_address("::ffff:127.0.0.1")


def test_invalid_address_string_is_not_allowed() -> None:
    with pytest.raises(AddressNotAllowed):
        check_address("not-an-ip")


def test_name_with_one_allowed_and_one_refused_address_is_refused(
    configure: Callable[..., None],
    raw_server: Callable[..., RawServer],
    resolver: Callable[..., list[tuple[str, int]]],
) -> None:
    configure(ALLOWED_NETWORKS=["127.0.0.1/32"])
    listener = raw_server()
    resolver("127.0.0.1", "10.0.0.1")

    with pytest.raises(AddressNotAllowed):
        fetch(f"http://mixed.invalid:{listener.port}/")

    assert listener.connections_so_far() == 0


@given(st.ip_addresses(v=4))
def test_embedded_ipv4_forms_are_judged_like_the_ipv4_address(
    address: ipaddress.IPv4Address,
) -> None:
    def refused(ip: str) -> bool:
        try:
            check_address(ip)
        except AddressNotAllowed:
            return True
        return False

    packed = int(address)
    forms = [
        f"::ffff:{address}",
        str(ipaddress.IPv6Address((0x0064FF9B << 96) | packed)),  # NAT64
        str(ipaddress.IPv6Address((0x2002 << 112) | (packed << 80) | 1)),  # 6to4
    ]
    with override_settings(BACKLINKS={"ALLOWED_PORTS": None}):
        expected = refused(str(address))
        assert [refused(form) for form in forms] == [expected] * len(forms)


@given(st.text(max_size=60))
def test_check_address_raises_nothing_but_address_not_allowed(text: str) -> None:
    try:
        check_address(text)
    except AddressNotAllowed:
        pass


def test_resolve_host_returns_addresses_as_strings() -> None:
    assert resolve_host("127.0.0.1", 80) == ["127.0.0.1"]


def test_resolve_host_failure_is_connection_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)

    with pytest.raises(ConnectionFailed):
        resolve_host("nothing.invalid", 80)


# --- Redirects ---------------------------------------------------------------------------------


def test_redirect_is_followed_to_the_final_url(server: HTTPServer) -> None:
    target = server.url_for("/new")
    server.expect_request("/old").respond_with_data("", status=302, headers={"Location": target})
    server.expect_request("/new").respond_with_data("moved here")

    response = fetch(server.url_for("/old"))

    assert (response.status, response.content, response.url) == (200, b"moved here", target)


def test_relative_location_is_resolved_against_the_current_url(server: HTTPServer) -> None:
    server.expect_request("/a/b/c").respond_with_data(
        "", status=301, headers={"Location": "../d?x=1"}
    )
    server.expect_request("/a/d", query_string="x=1").respond_with_data("relative")

    response = fetch(server.url_for("/a/b/c"))

    assert response.content == b"relative"
    assert response.url == server.url_for("/a/d?x=1")


def test_redirects_up_to_the_limit_are_followed(
    server: HTTPServer, configure: Callable[..., None]
) -> None:
    configure(FETCH_MAX_REDIRECTS=2)
    server.expect_request("/0").respond_with_data("", status=302, headers={"Location": "/1"})
    server.expect_request("/1").respond_with_data("", status=302, headers={"Location": "/2"})
    server.expect_request("/2").respond_with_data("end")

    assert fetch(server.url_for("/0")).content == b"end"


def test_more_redirects_than_the_limit_raise(
    server: HTTPServer, configure: Callable[..., None]
) -> None:
    configure(FETCH_MAX_REDIRECTS=2)
    for hop in range(3):
        server.expect_request(f"/{hop}").respond_with_data(
            "", status=302, headers={"Location": f"/{hop + 1}"}
        )
    server.expect_request("/3").respond_with_data("never")

    with pytest.raises(TooManyRedirects):
        fetch(server.url_for("/0"))

    assert [request.path for request, _ in server.log] == ["/0", "/1", "/2"]


def test_redirect_to_a_refused_address_is_refused_without_connecting(
    server: HTTPServer, configure: Callable[..., None], raw_server: Callable[..., RawServer]
) -> None:
    configure(ALLOWED_NETWORKS=["127.0.0.1/32"])
    other = raw_server(host="127.0.0.2")
    server.expect_request("/").respond_with_data("", status=302, headers={"Location": other.url()})

    with pytest.raises(AddressNotAllowed):
        fetch(server.url_for("/"))

    assert other.connections_so_far() == 0


def test_redirect_to_an_invalid_url_is_invalid(server: HTTPServer) -> None:
    server.expect_request("/").respond_with_data(
        "", status=302, headers={"Location": "file:///etc/passwd"}
    )

    with pytest.raises(InvalidURL):
        fetch(server.url_for("/"))


def test_follow_redirects_false_returns_the_redirect(server: HTTPServer) -> None:
    server.expect_request("/old").respond_with_data(
        "see elsewhere", status=302, headers={"Location": "/new"}
    )

    response = fetch(server.url_for("/old"), follow_redirects=False)

    assert response.status == 302
    assert response.headers["Location"] == "/new"
    assert response.content == b"see elsewhere"
    assert [request.path for request, _ in server.log] == ["/old"]


def test_redirect_without_location_is_returned(server: HTTPServer) -> None:
    server.expect_request("/").respond_with_data("nowhere", status=302)

    assert fetch(server.url_for("/")).status == 302


def test_authorization_is_not_sent_to_another_origin(
    server: HTTPServer, httpserver_ipv6: HTTPServer
) -> None:
    elsewhere = f"http://[::1]:{httpserver_ipv6.port}/"
    server.expect_request("/").respond_with_data("", status=302, headers={"Location": elsewhere})
    httpserver_ipv6.expect_request("/").respond_with_data("ok")

    fetch(server.url_for("/"), headers={"Authorization": "Bearer secret"})

    assert "Authorization" in server.log[0][0].headers
    assert "Authorization" not in httpserver_ipv6.log[0][0].headers


# --- POST ------------------------------------------------------------------------------------


def test_post_sends_method_body_and_content_type(server: HTTPServer) -> None:
    server.expect_request("/rpc", method="POST").respond_with_data("<ok/>")

    response = fetch(
        server.url_for("/rpc"),
        method="POST",
        data=b"<methodCall/>",
        headers={"Content-Type": "text/xml"},
    )

    request, _ = server.log[0]
    assert response.content == b"<ok/>"
    assert request.get_data() == b"<methodCall/>"
    assert request.headers["Content-Type"] == "text/xml"


def test_303_after_post_becomes_get_without_body(server: HTTPServer) -> None:
    server.expect_request("/form", method="POST").respond_with_data(
        "", status=303, headers={"Location": "/done"}
    )
    server.expect_request("/done", method="GET").respond_with_data("done")

    response = fetch(
        server.url_for("/form"),
        method="POST",
        data=b"a=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    second, _ = server.log[1]
    assert response.content == b"done"
    assert second.method == "GET"
    assert second.get_data() == b""
    assert "Content-Type" not in second.headers


def test_302_after_post_becomes_get(server: HTTPServer) -> None:
    server.expect_request("/form", method="POST").respond_with_data(
        "", status=302, headers={"Location": "/done"}
    )
    server.expect_request("/done", method="GET").respond_with_data("done")

    assert fetch(server.url_for("/form"), method="POST", data=b"a=1").content == b"done"


@pytest.mark.parametrize("status", [307, 308])
def test_307_and_308_keep_method_and_body(server: HTTPServer, status: int) -> None:
    server.expect_request("/rpc", method="POST").respond_with_data(
        "", status=status, headers={"Location": "/rpc2"}
    )
    server.expect_request("/rpc2", method="POST").respond_with_data("again")

    response = fetch(server.url_for("/rpc"), method="POST", data=b"<call/>")

    second, _ = server.log[1]
    assert response.content == b"again"
    assert second.get_data() == b"<call/>"


# --- Size limits -----------------------------------------------------------------------------


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


# --- Time limits and connection failures ---------------------------------------------------------


def test_body_dripping_a_byte_at_a_time_is_cut_off_at_the_deadline(
    configure: Callable[..., None], raw_server: Callable[..., RawServer]
) -> None:
    configure(FETCH_DEADLINE=1.0)
    dripping = raw_server(drip(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"))

    started = time.monotonic()
    with pytest.raises(FetchTimeout):
        fetch(dripping.url())

    assert time.monotonic() - started < 2.5


def test_headers_dripping_a_byte_at_a_time_are_cut_off_at_the_deadline(
    configure: Callable[..., None], raw_server: Callable[..., RawServer]
) -> None:
    configure(FETCH_DEADLINE=1.0)
    dripping = raw_server(drip(b"HTTP/1.1 200 OK\r\nX-Slow: "))

    started = time.monotonic()
    with pytest.raises(FetchTimeout):
        fetch(dripping.url())

    assert time.monotonic() - started < 2.5


def test_silent_server_times_out_at_the_deadline(
    configure: Callable[..., None], raw_server: Callable[..., RawServer]
) -> None:
    configure(FETCH_DEADLINE=0.5)
    silent = raw_server(lambda conn, stop: stop.wait(5))

    started = time.monotonic()
    with pytest.raises(FetchTimeout):
        fetch(silent.url())

    assert time.monotonic() - started < 2.0


def test_deadline_covers_all_redirect_hops(
    configure: Callable[..., None], raw_server: Callable[..., RawServer]
) -> None:
    configure(FETCH_DEADLINE=1.0, FETCH_MAX_REDIRECTS=50)

    def slow_redirect(conn: socket.socket, stop: threading.Event) -> None:
        read_request_head(conn)
        stop.wait(0.3)
        conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /\r\nContent-Length: 0\r\n\r\n")

    looping = raw_server(slow_redirect)

    started = time.monotonic()
    with pytest.raises(FetchTimeout):
        fetch(looping.url())

    assert time.monotonic() - started < 2.0


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


# --- Invalid URLs ------------------------------------------------------------------------------


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


# --- Response decoding ---------------------------------------------------------------------------


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
def test_content_type_and_is_html(
    content_type: str | None, media_type: str, is_html: bool
) -> None:
    response = make_response(b"", content_type)

    assert (response.content_type, response.is_html) == (media_type, is_html)


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


# --- Process-wide state --------------------------------------------------------------------------


def test_fetch_leaves_the_default_socket_timeout_alone(server: HTTPServer) -> None:
    server.expect_request("/").respond_with_data("ok")
    before = socket.getdefaulttimeout()

    fetch(server.url_for("/"))

    assert socket.getdefaulttimeout() == before


def test_the_suite_resolves_no_name_beyond_this_machine() -> None:
    """tests/conftest.py: no test sends a DNS query; loopback names and numbers still work."""
    with pytest.raises(socket.gaierror, match="tests do not resolve"):
        socket.getaddrinfo("example.com", 80)

    assert resolve_host("sub.localhost", 80) and resolve_host("127.1", 80) == ["127.0.0.1"]
