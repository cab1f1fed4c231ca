"""Hostile source pages met while verifying a pingback: a fault in bounded time and memory.

The sources are raw TCP servers on loopback (tests.fetch.rawserver.RawServer), so they can misbehave
in ways a well-behaved HTTP server library would not allow.
"""

from __future__ import annotations

import socket
import threading
import time
import xmlrpc.client
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from django.test import override_settings

from backlinks_django.models import Backlink, InboundPing
from tests.fetch.rawserver import RawServer, drip, read_request_head, send_raw
from tests.helpers import ended_fault, post_webmention, verify_queued
from tests.hostile.conftest import ConnectionCounter, SimulatedNetwork, redirecting
from tests.hostile.measure import measured
from tests.settings import BACKLINKS as BASE

pytestmark = [pytest.mark.hostile, pytest.mark.django_db]

Call = Callable[..., Any]
Start = Callable[..., RawServer]


def ping_fault(call: Call, source: str, target: str) -> int:
    """The fault a ping ends in: answered in the request, or, for a source too slow or too
    large to verify there, by the verification of the queued ping that follows."""
    try:
        answer = call("pingback.ping", source, target)
    except xmlrpc.client.Fault as fault:
        return int(fault.faultCode)
    assert "queued for verification" in answer
    (row,) = verify_queued()
    return ended_fault(row)


def http_head(content_type: str = "text/html; charset=utf-8", **headers: str) -> bytes:
    lines = ["HTTP/1.1 200 OK", f"Content-Type: {content_type}", "Connection: close"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def page(body: bytes, content_type: str = "text/html; charset=utf-8") -> Callable[..., None]:
    return send_raw(http_head(content_type, Content_Length=str(len(body))) + body)


# --- Time ----------------------------------------------------------------------------------------


@override_settings(BACKLINKS={**BASE, "FETCH_DEADLINE": 1.0})
def test_slow_drip_source_is_fault_16_within_the_deadline(
    xmlrpc_call: Call, article_url: str, raw_servers: Start
) -> None:
    dripping = raw_servers(drip(http_head(Content_Length="100000") + b"<html><body>"))

    started = time.monotonic()
    code = ping_fault(xmlrpc_call, dripping.url("/post"), article_url)

    assert code == 16
    assert time.monotonic() - started < 2.5
    assert not Backlink.objects.exists()


@override_settings(BACKLINKS={**BASE, "FETCH_DEADLINE": 1.0})
def test_silent_source_is_fault_16_within_the_deadline(
    xmlrpc_call: Call, article_url: str, raw_servers: Start
) -> None:
    silent = raw_servers(lambda conn, stop: stop.wait(10))

    started = time.monotonic()
    code = ping_fault(xmlrpc_call, silent.url("/post"), article_url)

    assert code == 16
    assert time.monotonic() - started < 2.5
    assert not Backlink.objects.exists()


@override_settings(BACKLINKS={**BASE, "FETCH_DEADLINE": 10.0, "RECEIVE_BUDGET": 0.5})
def test_a_slow_source_holds_the_web_request_for_the_budget_only(
    xmlrpc_call: Call, client: Any, article: Any, article_url: str, raw_servers: Start
) -> None:
    """24 slow-drip pings a minute once kept every web worker busy for the 10 s deadline."""
    from django.contrib.contenttypes.models import ContentType

    dripping = raw_servers(drip(http_head(Content_Length="100000") + b"<html><body>"))
    ct = ContentType.objects.get_for_model(article)

    started = time.monotonic()
    answer = xmlrpc_call("pingback.ping", dripping.url("/post"), article_url)
    pingback_took = time.monotonic() - started
    started = time.monotonic()
    trackback = client.post(
        f"/backlinks/trackback/{ct.pk}/{article.pk}/",
        f"url={dripping.url('/other')}",
        content_type="application/x-www-form-urlencoded",
    )
    trackback_took = time.monotonic() - started

    assert "queued for verification" in answer
    assert b"<error>0</error>" in trackback.content
    assert pingback_took < 2.0 and trackback_took < 2.0
    assert InboundPing.objects.filter(state=InboundPing.State.QUEUED).count() == 2


# --- Size ----------------------------------------------------------------------------------------

# A peer that never ends gives up after this many bytes, so that a client without a size
# limit finishes (and fails on its memory) instead of hanging the suite.
GIVE_UP_AFTER = 64 * 1024 * 1024


def endless_chunked(conn: socket.socket, stop: threading.Event) -> None:
    read_request_head(conn)
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    conn.sendall(b"f\r\n<html><body><p>\r\n")
    words = b"endless words without any link " * 2048
    chunk = f"{len(words):x}\r\n".encode() + words + b"\r\n"
    sent = 0
    while not stop.is_set() and sent < GIVE_UP_AFTER:
        conn.sendall(chunk)
        sent += len(chunk)


@override_settings(BACKLINKS={**BASE, "FETCH_MAX_BYTES": 200_000})
def test_endless_source_is_read_up_to_the_limit_then_fault_17(
    xmlrpc_call: Call, article_url: str, raw_servers: Start
) -> None:
    endless = raw_servers(endless_chunked)

    with measured() as cost:
        code = ping_fault(xmlrpc_call, endless.url("/post"), article_url)

    assert code == 17  # verification read the first 200 KB, which has no link
    assert cost.seconds < 3.0
    assert cost.peak_bytes < 5_000_000
    assert not Backlink.objects.exists()


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """100 MB of zeros gzipped (about 100 KB): a 1 GB bomb, scaled down to build quickly."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    parts = [compressor.compress(b"<html><body><p>")]
    parts += [compressor.compress(block) for _ in range(100)]
    parts.append(compressor.flush())
    return b"".join(parts)


@override_settings(BACKLINKS={**BASE, "FETCH_MAX_BYTES": 200_000})
def test_gzip_bomb_source_is_fault_17_without_inflating_it(
    xmlrpc_call: Call, article_url: str, raw_servers: Start, gzip_bomb: bytes
) -> None:
    assert len(gzip_bomb) < 200_000
    head = http_head(Content_Encoding="gzip", Content_Length=str(len(gzip_bomb)))
    bomber = raw_servers(send_raw(head + gzip_bomb))

    with measured() as cost:
        code = ping_fault(xmlrpc_call, bomber.url("/post"), article_url)

    assert code == 17
    assert cost.seconds < 3.0
    assert cost.peak_bytes < 5_000_000
    assert not Backlink.objects.exists()


def endless_headers(line: bytes) -> Callable[..., None]:
    def handler(conn: socket.socket, stop: threading.Event) -> None:
        read_request_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        sent = 0
        while not stop.is_set() and sent < GIVE_UP_AFTER:
            conn.sendall(line)
            sent += len(line)

    return handler


@pytest.mark.parametrize(
    "line",
    [b"X-Header: value\r\n", b"X-Endless: " + b"a" * 65536],
    ids=["endless-header-lines", "endless-header-line"],
)
def test_source_with_endless_headers_is_fault_16(
    xmlrpc_call: Call, article_url: str, raw_servers: Start, line: bytes
) -> None:
    source = raw_servers(endless_headers(line))

    with measured() as cost:
        code = ping_fault(xmlrpc_call, source.url("/post"), article_url)

    assert code == 16
    assert cost.seconds < 3.0
    assert cost.peak_bytes < 5_000_000
    assert not Backlink.objects.exists()


# --- Content -------------------------------------------------------------------------------------


def test_binary_source_containing_the_link_is_fault_17(
    xmlrpc_call: Call, article_url: str, raw_servers: Start
) -> None:
    link = f'<a href="{article_url}">the target</a>'.encode()
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) + link + b"\x00IEND"
    source = raw_servers(page(png, content_type="image/png"))

    assert ping_fault(xmlrpc_call, source.url("/image.png"), article_url) == 17
    assert not Backlink.objects.exists()


def test_source_without_content_type_is_fault_17(
    xmlrpc_call: Call, article_url: str, raw_servers: Start
) -> None:
    body = f'<a href="{article_url}">the target</a>'.encode()
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    source = raw_servers(send_raw(head.encode() + body))

    assert ping_fault(xmlrpc_call, source.url("/post"), article_url) == 17
    assert not Backlink.objects.exists()


def linking_page(article_url: str, title: bytes = b"Source", filler: bytes = b"") -> bytes:
    return (
        b"<html><head><title>"
        + title
        + b"</title></head><body><p>"
        + filler
        + f' <a href="{article_url}">the target</a></p></body></html>'.encode()
    )


def test_source_declaring_utf8_with_invalid_bytes_is_read_with_replacements(
    xmlrpc_call: Call, article_url: str, raw_servers: Start
) -> None:
    body = linking_page(article_url, title=b"Caf\xe9 \xff\xfe", filler=b"\xc3\x28 \xed\xa0\x80")
    source = raw_servers(page(body, content_type="text/html; charset=utf-8"))

    answer = xmlrpc_call("pingback.ping", source.url("/post"), article_url)

    assert "registered" in answer
    assert Backlink.objects.get().title == "Caf\ufffd \ufffd\ufffd"


def test_source_of_invalid_utf8_without_the_link_is_fault_17(
    xmlrpc_call: Call, article_url: str, raw_servers: Start
) -> None:
    body = b"<html><body>" + bytes(range(128, 256)) * 64 + b"</body></html>"
    source = raw_servers(page(body, content_type="text/html; charset=utf-8"))

    assert ping_fault(xmlrpc_call, source.url("/post"), article_url) == 17
    assert not Backlink.objects.exists()


@pytest.mark.parametrize(
    ("content_type", "meta"),
    [
        ("text/html; charset=x-no-such-charset", b""),
        ("text/html; charset=base64", b""),
        ("text/html; charset=rot13", b""),
        ('text/html; charset="utf-8', b""),
        ("text/html; charset=", b""),
        ("text/html", b'<meta charset="zlib_codec">'),
        ("text/html", b'<meta charset="x-no-such-charset">'),
        ("text/html", b'<meta http-equiv="Content-Type" content="text/html; charset=hex">'),
    ],
    ids=[
        "header-unknown",
        "header-base64",
        "header-rot13",
        "header-unbalanced-quote",
        "header-empty",
        "meta-zlib",
        "meta-unknown",
        "meta-hex",
    ],
)
def test_source_with_a_bogus_charset_falls_back_to_utf8(
    xmlrpc_call: Call, article_url: str, raw_servers: Start, content_type: str, meta: bytes
) -> None:
    body = meta + linking_page(article_url, title="Crème".encode())
    source = raw_servers(page(body, content_type=content_type))

    answer = xmlrpc_call("pingback.ping", source.url("/post"), article_url)

    assert "registered" in answer
    assert Backlink.objects.get().title == "Crème"


def test_source_declaring_utf16_but_sending_ascii_is_fault_17(
    xmlrpc_call: Call, article_url: str, raw_servers: Start
) -> None:
    source = raw_servers(page(linking_page(article_url), content_type="text/html; charset=utf-16"))

    assert ping_fault(xmlrpc_call, source.url("/post"), article_url) == 17
    assert not Backlink.objects.exists()


# Markup on which a parser that backtracks over the rest of the document at every "<" takes
# quadratic time or worse. Each page is far below FETCH_MAX_BYTES (1 MB); a linear parser
# reads it in milliseconds.
PATHOLOGICAL_MARKUP = [
    pytest.param("<a ", 30_000, id="unclosed-start-tags"),
    pytest.param("<!--", 100_000, id="comment-openers"),
    pytest.param("</", 300_000, id="end-tag-openers"),
    pytest.param("<![", 300_000, id="marked-sections"),
    pytest.param("<b>", 100_000, id="nested-elements"),
    pytest.param("<b><p>", 100_000, id="misnested-elements"),
]


@pytest.mark.parametrize(("unit", "size"), PATHOLOGICAL_MARKUP)
def test_source_of_pathological_markup_is_fault_17_quickly(
    xmlrpc_call: Call, article_url: str, raw_servers: Start, unit: str, size: int
) -> None:
    source = raw_servers(page((unit * (size // len(unit))).encode()))

    started = time.monotonic()
    code = ping_fault(xmlrpc_call, source.url("/post"), article_url)
    elapsed = time.monotonic() - started

    assert code == 17
    assert elapsed < 1.0, f"verifying a {size // 1000} KB page took {elapsed:.1f} s"
    assert not Backlink.objects.exists()


# --- Redirects and ports -------------------------------------------------------------------------


def test_redirect_loop_is_fault_16(
    xmlrpc_call: Call, article_url: str, raw_servers: Start
) -> None:
    looping = raw_servers(redirecting({"/post": (302, "/post")}))

    started = time.monotonic()
    code = ping_fault(xmlrpc_call, looping.url("/post"), article_url)

    assert code == 16
    assert time.monotonic() - started < 2.0
    assert looping.connections_so_far() == 6  # the first request and 5 redirects
    assert not Backlink.objects.exists()


def test_thirty_redirects_are_fault_16_after_the_fifth(
    xmlrpc_call: Call, article_url: str, raw_servers: Start
) -> None:
    routes = {f"/r{n}": (301 + n % 2, f"/r{n + 1}") for n in range(30)}
    chain = raw_servers(redirecting(routes))

    code = ping_fault(xmlrpc_call, chain.url("/r0"), article_url)

    assert code == 16
    assert chain.connections_so_far() == 6
    assert not Backlink.objects.exists()


@override_settings(BACKLINKS={k: v for k, v in BASE.items() if k != "ALLOWED_PORTS"})
@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:22/", "http://localhost:22/", "https://127.0.0.1:22/"]
)
def test_source_on_port_22_is_fault_16_without_connecting(
    xmlrpc_call: Call,
    article_url: str,
    url: str,
    counter: ConnectionCounter,
    network: SimulatedNetwork,
    dns: Any,
) -> None:
    assert ping_fault(xmlrpc_call, url, article_url) == 16
    assert network.attempts == []
    assert counter.connections() == 0
    assert not Backlink.objects.exists()


@override_settings(BACKLINKS={k: v for k, v in BASE.items() if k != "ALLOWED_PORTS"})
def test_redirect_to_port_22_is_fault_16_without_connecting(
    xmlrpc_call: Call,
    article_url: str,
    counter: ConnectionCounter,
    network: SimulatedNetwork,
    dns: Any,
    raw_servers: Start,
) -> None:
    # The first hop is on port 80, which the defaults allow: in the simulated network,
    # 127.0.0.3:80 is a real server listening on a random port.
    first = raw_servers(redirecting({"/post": (302, "http://127.0.0.1:22/")}))
    dns.answer("public.test", ("127.0.0.3",))
    network.add_server("127.0.0.3", 80, real=("127.0.0.1", first.port))

    code = ping_fault(xmlrpc_call, "http://public.test/post", article_url)

    assert code == 16
    assert network.attempts == ["127.0.0.3"]
    assert first.connections_so_far() == 1
    assert counter.connections() == 0
    assert not Backlink.objects.exists()


def test_webmention_source_of_unfinished_tags_is_verified_quickly(
    client, httpserver, article_url, django_capture_on_commit_callbacks
):
    """The microformats of a Webmention source are read from the same linear-time tree."""
    import time

    page = f'<p class="h-entry">See <a href="{article_url}">this</a>.</p>' + "<a " * 30_000
    httpserver.expect_request("/wm").respond_with_data(page, content_type="text/html")
    started = time.monotonic()

    with django_capture_on_commit_callbacks(execute=True):
        response = post_webmention(
            client, {"source": httpserver.url_for("/wm"), "target": article_url}
        )

    assert time.monotonic() - started < 3
    assert client.get(response["Location"]).json()["state"] == "accepted"


@override_settings(BACKLINKS={**BASE, "RECEIVE_BUDGET": 0.5})
def test_a_name_server_that_never_answers_holds_the_request_for_the_budget_only(
    xmlrpc_call: Call, article_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An attacker's name server can stall a lookup for the resolver's timeouts (tens of s)."""
    from backlinks_django import fetch

    released = threading.Event()

    def stalled(host: str, port: int) -> list[str]:
        released.wait(10)
        return ["127.0.0.1"]

    monkeypatch.setattr(fetch, "resolve_host", stalled)
    try:
        started = time.monotonic()
        answer = xmlrpc_call("pingback.ping", "http://slow-dns.example/post", article_url)
        took = time.monotonic() - started
    finally:
        released.set()

    assert "queued for verification" in answer
    assert took < 2.0
