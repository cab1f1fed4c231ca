"""Hostile or broken peers: every answer ends in a recorded outcome, never a crashed task.

Each peer is a real server on 127.0.0.1 (pytest-httpserver, or a raw socket for malformed HTTP).
What a peer sends may be wrong in every way; what the app records must still be one of the
outcomes, with the other links of the same object delivered and recorded too.
"""

from __future__ import annotations

import socket
import threading
import time
import xmlrpc.client
from collections.abc import Callable, Iterator
from urllib.parse import urlencode

import pytest
from django.contrib.sites.models import Site
from django.db import connection, transaction
from django.test import Client, override_settings
from django.utils import timezone
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from backlinks_django import delivery, fetch, send
from backlinks_django.inbound import accept, process_next
from backlinks_django.models import InboundPing, Kind, OutboundPing, Outcome
from backlinks_django.pipeline import Ping
from backlinks_django.registry import trackback_path
from backlinks_django.verification import reverify
from tests.fetch.rawserver import RawServer, read_request_head
from tests.helpers import DUMMY_TASKS, Peer
from tests.settings import BACKLINKS as BASE
from tests.testapp.models import Article

pytestmark = [pytest.mark.hostile, pytest.mark.django_db]

LOOPBACK = {**BASE, "SEND_HOST_INTERVAL": 0, "FETCH_DEADLINE": 5.0}
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
BROKEN_REDIRECT = (
    b"HTTP/1.1 302 Found\r\nLocation: http://[oops/\r\nContent-Length: 0\r\n"
    b"Connection: close\r\n\r\n"
)


def entry(slug: str, body: str) -> Article:
    with transaction.atomic():  # no on_commit: the tests call send.send_object themselves
        return Article.objects.create(
            slug=slug,
            title=slug.title(),
            body=body,
            published_at=timezone.now() - timezone.timedelta(hours=1),
        )


def links(*urls: str) -> str:
    return "".join(f'<p>See <a href="{url}">this</a>.</p>' for url in urls)


def sent_outcome(*targets: str) -> Outcome:
    send.send_object(entry("mine", links(*targets)))
    return Outcome(OutboundPing.objects.get().outcome)


def rdf(target: str, ping: str) -> str:
    return (
        '<!-- <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:trackback="http://madskills.com/public/xml/rss/module/trackback/">'
        f'<rdf:Description rdf:about="{target}" dc:identifier="{target}" '
        f'trackback:ping="{ping}" /></rdf:RDF> -->'
    )


def raw_answer(routes: dict[str, bytes]) -> Callable[[socket.socket, threading.Event], None]:
    """A RawServer handler answering ``routes[path]`` byte for byte."""

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        path = read_request_head(conn).split(b" ", 2)[1].decode("latin-1")
        conn.sendall(routes.get(path, NOT_FOUND))

    return handler


@pytest.fixture
def raw_peer() -> Iterator[Callable[[dict[str, bytes]], RawServer]]:
    started: list[RawServer] = []

    def start(routes: dict[str, bytes]) -> RawServer:
        server = RawServer(raw_answer(routes))
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def http_ok(body: bytes, *headers: bytes, status: bytes = b"200 OK") -> bytes:
    return (
        b"HTTP/1.1 "
        + status
        + b"\r\n"
        + b"".join(h + b"\r\n" for h in headers)
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\nConnection: close\r\n\r\n"
        + body
    )


PAGE = b"<html><head><title>t</title></head><body>hi</body></html>"
RAW_TARGETS = {
    "charset-nul": http_ok(PAGE, b"Content-Type: text/html; charset=utf\x00-8"),
    "charset-high": http_ok(PAGE, b"Content-Type: text/html; charset=\xff\xfe"),
    "link-unterminated": http_ok(PAGE, b'Link: </wm>; rel="webmention, <x>; rel=webmention'),
    "link-many": http_ok(
        PAGE, b"Link: " + b", ".join([b"<http://a.example/%d>; rel=x" % i for i in range(3000)])
    ),
    "link-huge-line": http_ok(PAGE, b"Link: <" + b"a" * 70000 + b">; rel=webmention"),
    "many-headers": http_ok(PAGE, *[b"X-H%d: y" % i for i in range(150)]),
    "x-pingback-odd": http_ok(
        PAGE, b"X-Pingback: javascript:alert(1)", b"Content-Type: text/html"
    ),
    "x-pingback-bad-ipv6": http_ok(PAGE, b"X-Pingback: http://[oops/", b"Content-Type: text/html"),
    "link-bad-ipv6": http_ok(
        PAGE, b'Link: <http://[oops/>; rel="webmention"', b"Content-Type: text/html"
    ),
    "link-control": http_ok(PAGE, b'Link: <http://a.example/\x01x>; rel="webmention"'),
    "header-no-colon": http_ok(PAGE, b"garbage line", b"Content-Type: text/html"),
    "gzip-corrupt": http_ok(
        b"\x1f\x8b\x08\x00garbage", b"Content-Encoding: gzip", b"Content-Type: text/html"
    ),
    "length-mismatch": (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n"
        b"Connection: close\r\n\r\n<html>"
    ),
    "bad-chunk": (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"zz\r\n<html>\r\n0\r\n\r\n"
    ),
    "status-999": http_ok(PAGE, b"Content-Type: text/html", status=b"999 Weird"),
    "status-bad": http_ok(PAGE, b"Content-Type: text/html", status=b"abc Weird"),
    "http-0.9": PAGE,
    "redirect-loop": b"HTTP/1.1 302 F\r\nLocation: /post\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    "redirect-private": b"HTTP/1.1 302 F\r\nLocation: http://10.0.0.1/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    "redirect-scheme": b"HTTP/1.1 302 F\r\nLocation: file:///etc/passwd\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    "redirect-port": b"HTTP/1.1 302 F\r\nLocation: http://127.0.0.1:99999/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    "redirect-empty-host": b"HTTP/1.1 302 F\r\nLocation: http:///x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    "redirect-utf8": b"HTTP/1.1 302 F\r\nLocation: /\xc3\xa9t\xc3\xa9\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    "redirect-latin1": b"HTTP/1.1 302 F\r\nLocation: /\xe9t\xe9\x00\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    "early-hints": (
        b"HTTP/1.1 103 Early Hints\r\nLink: </wm>; rel=webmention\r\n\r\n"
        + http_ok(PAGE, b"Content-Type: text/html")
    ),
    "continue": (b"HTTP/1.1 100 Continue\r\n\r\n" + http_ok(PAGE, b"Content-Type: text/html")),
    "close-mid-headers": b"HTTP/1.1 200 OK\r\nContent-Type: te",
}


@pytest.mark.parametrize("kind", sorted(RAW_TARGETS))
@override_settings(BACKLINKS=LOOPBACK)
def test_malformed_target_pages_end_in_an_outcome(raw_peer, site, kind):
    server = raw_peer({"/post": RAW_TARGETS[kind]})

    assert sent_outcome(server.url("/post")) != Outcome.PENDING


@override_settings(BACKLINKS=LOOPBACK)
def test_redirect_to_a_broken_url_is_no_endpoint(raw_peer, site):
    server = raw_peer({"/post": BROKEN_REDIRECT})

    assert sent_outcome(server.url("/post")) == Outcome.NO_ENDPOINT


@pytest.mark.parametrize("status", [201, 307])
@override_settings(BACKLINKS=LOOPBACK)
def test_webmention_endpoint_answering_a_broken_location(raw_peer, site, status):
    server = raw_peer(
        {
            "/post": http_ok(PAGE, b"Content-Type: text/html", b'Link: </wm>; rel="webmention"'),
            "/wm": f"HTTP/1.1 {status} X\r\nLocation: http://[oops/\r\n"
            "Content-Length: 0\r\nConnection: close\r\n\r\n".encode(),
        }
    )

    expected = Outcome.SUCCESS if status == 201 else Outcome.HTTP_ERROR
    assert sent_outcome(server.url("/post")) == expected


@pytest.mark.parametrize("interim", [b"102 Processing", b"103 Early Hints"])
@override_settings(BACKLINKS=LOOPBACK)
def test_interim_1xx_answers_are_skipped(raw_peer, site, interim):
    server = raw_peer(
        {
            "/post": http_ok(PAGE, b"Content-Type: text/html", b'Link: </wm>; rel="webmention"'),
            "/wm": b"HTTP/1.1 "
            + interim
            + b"\r\n\r\n"
            + http_ok(b"Accepted", b"Content-Type: text/plain", status=b"202 Accepted"),
        }
    )

    send.send_object(entry("mine", links(server.url("/post"))))

    row = OutboundPing.objects.get()
    assert (row.outcome, row.message) == (Outcome.SUCCESS, "202 Accepted")


@override_settings(BACKLINKS=LOOPBACK)
def test_endless_interim_answers_are_a_fetch_error(raw_peer):
    server = raw_peer({"/post": b"HTTP/1.1 103 Early Hints\r\n\r\n" * 50 + http_ok(PAGE)})

    with pytest.raises(fetch.FetchError):
        fetch.fetch(server.url("/post"))


# --- Charsets that cannot decode -----------------------------------------------------------------


@pytest.mark.parametrize("where", ["header", "meta"])
@override_settings(BACKLINKS=LOOPBACK)
def test_target_page_in_a_charset_that_cannot_replace_bad_bytes(
    httpserver: HTTPServer, site, where
):
    if where == "header":
        httpserver.expect_request("/post").respond_with_data(
            "<html><body>no endpoint</body></html>", content_type="text/html; charset=idna"
        )
    else:
        httpserver.expect_request("/post").respond_with_data(
            '<html><head><meta charset="idna"></head><body>x</body></html>',
            content_type="text/html",
        )

    assert sent_outcome(httpserver.url_for("/post")) == Outcome.NO_ENDPOINT


@override_settings(BACKLINKS=LOOPBACK)
def test_webmention_refusal_in_charset_undefined(httpserver: HTTPServer, site):
    endpoint = httpserver.url_for("/wm")
    httpserver.expect_request("/post").respond_with_data(
        "<html></html>",
        content_type="text/html",
        headers={"Link": f'<{endpoint}>; rel="webmention"'},
    )
    httpserver.expect_request("/wm", method="POST").respond_with_data(
        "source does not link", status=400, content_type="text/plain; charset=undefined"
    )

    assert sent_outcome(httpserver.url_for("/post")) == Outcome.HTTP_ERROR


# --- Chunked encoding: negative sizes --------------------------------------------------------------


def negative_chunk(size_line: bytes, total: int, sent: list[int]):
    def handler(conn: socket.socket, stop: threading.Event) -> None:
        read_request_head(conn)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + size_line + b"\r\n"
        )
        block = b"x" * 65536
        while sent[0] < total and not stop.is_set():
            conn.sendall(block)
            sent[0] += len(block)

    return handler


@override_settings(BACKLINKS=LOOPBACK)
def test_negative_chunk_size_is_unreachable(site):
    sent = [0]
    server = RawServer(negative_chunk(b"-10", 1 << 20, sent))
    try:
        assert sent_outcome(server.url("/post")) == Outcome.UNREACHABLE
    finally:
        server.close()


@override_settings(BACKLINKS=LOOPBACK)
def test_chunk_size_minus_one_does_not_read_past_the_byte_limit():
    """http.client reads the whole rest of the stream for "-1"; the fetcher refuses it."""
    sent = [0]
    server = RawServer(negative_chunk(b"-1", 200 << 20, sent))
    try:
        with pytest.raises(fetch.FetchError):
            fetch.fetch(server.url("/post"), max_bytes=256 * 1024, truncate=True)
    finally:
        server.close()

    assert sent[0] < 16 << 20, f"the peer pushed {sent[0] >> 20} MiB into one fetch"


# --- Pingback and TrackBack answers --------------------------------------------------------------


def pingback_target(httpserver: HTTPServer, body: str) -> str:
    httpserver.expect_request("/post").respond_with_data(
        "<html></html>",
        content_type="text/html",
        headers={"X-Pingback": httpserver.url_for("/xmlrpc")},
    )
    httpserver.expect_request("/xmlrpc", method="POST").respond_with_data(
        body, content_type="text/xml"
    )
    return httpserver.url_for("/post")


def mr(value: str) -> str:
    return (
        "<?xml version='1.0'?><methodResponse><params><param><value>"
        + value
        + "</value></param></params></methodResponse>"
    )


def fault(code: str, string: str = "<string>no</string>") -> str:
    return (
        "<?xml version='1.0'?><methodResponse><fault><value><struct>"
        f"<member><name>faultCode</name><value>{code}</value></member>"
        f"<member><name>faultString</name><value>{string}</value></member>"
        "</struct></value></fault></methodResponse>"
    )


VARIANTS = {
    "struct": mr("<struct><member><name>a</name><value><int>1</int></value></member></struct>"),
    "array": mr("<array><data><value><i4>48</i4></value></data></array>"),
    "bool": mr("<boolean>1</boolean>"),
    "base64": mr("<base64>AAEC/w==</base64>"),
    "bad-base64": mr("<base64>!!!</base64>"),
    "nil": mr("<nil/>"),
    "datetime": mr("<dateTime.iso8601>99999999T99:99:99</dateTime.iso8601>"),
    "double-nan": mr("<double>nan</double>"),
    "double-inf": mr("<double>1e999</double>"),
    "big-int": mr("<int>" + "9" * 5000 + "</int>"),
    "int-48": mr("<int>48</int>"),
    "bigint-ext": mr("<i8>99999999999999999999</i8>"),
    "string-nul": mr("<string>a&#0;b</string>"),
    "string-ctrl": mr("<string>a\x01\x1b[31mb\ud7ff</string>"),
    "two-params": "<?xml version='1.0'?><methodResponse><params><param><value>a</value></param><param><value>b</value></param></params></methodResponse>",
    "no-params": "<?xml version='1.0'?><methodResponse><params></params></methodResponse>",
    "dtd": "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaa'>]>"
    + mr("<string>&a;</string>")[21:],
    "fault-48": fault("<int>48</int>"),
    "fault-string-code": fault("<string> 17 </string>"),
    "fault-huge": fault("<int>99999999999</int>"),
    "fault-missing": "<?xml version='1.0'?><methodResponse><fault><value><struct></struct></value></fault></methodResponse>",
    "fault-array-string": fault(
        "<int>1</int>",
        "<array><data>"
        + "<value><array><data>" * 3000
        + "</data></array></value>" * 3000
        + "</data></array>",
    ),
    "fault-deep-code": fault(
        "<array><data>"
        + "<value><array><data>" * 3000
        + "</data></array></value>" * 3000
        + "</data></array>"
    ),
    "methodcall": "<?xml version='1.0'?><methodCall><methodName>x</methodName><params><param><value>hi</value></param></params></methodCall>",
    "utf16": mr("<string>ok</string>").replace("version='1.0'", "version='1.0' encoding='utf-16'"),
    "empty": "",
}


@pytest.mark.parametrize("kind", sorted(VARIANTS))
@override_settings(BACKLINKS=LOOPBACK)
def test_odd_pingback_answers_end_in_an_outcome(httpserver: HTTPServer, site, kind):
    assert sent_outcome(pingback_target(httpserver, VARIANTS[kind])) != Outcome.PENDING


DEEP = 20000
PINGBACK_ANSWERS = {
    "deep-array": "<?xml version='1.0'?><methodResponse><params><param><value>"
    + "<array><data><value>" * DEEP
    + "<string>x</string>"
    + "</value></data></array>" * DEEP
    + "</value></param></params></methodResponse>",
    "deep-struct": "<?xml version='1.0'?><methodResponse><params><param><value>"
    + "<struct><member><name>a</name><value>" * DEEP
    + "<string>x</string>"
    + "</value></member></struct>" * DEEP
    + "</value></param></params></methodResponse>",
}


@pytest.mark.parametrize("kind", sorted(PINGBACK_ANSWERS))
@override_settings(BACKLINKS=LOOPBACK)
def test_deeply_nested_pingback_answer_is_not_shown(httpserver: HTTPServer, site, kind):
    send.send_object(entry("mine", links(pingback_target(httpserver, PINGBACK_ANSWERS[kind]))))

    row = OutboundPing.objects.get()
    # xmlrpc.client reads the nested array (its text is not shown) but not the nested struct.
    expected = {"deep-array": Outcome.SUCCESS, "deep-struct": Outcome.UNREACHABLE}[kind]
    assert row.outcome == expected
    assert len(row.message) < 100


@override_settings(BACKLINKS=LOOPBACK)
def test_deeply_nested_fault_string_is_not_shown(httpserver: HTTPServer, site):
    nested = "<value><array><data>" * DEEP + "</data></array></value>" * DEEP
    body = fault("<int>17</int>", f"<array><data>{nested}</data></array>")

    send.send_object(entry("mine", links(pingback_target(httpserver, body))))

    row = OutboundPing.objects.get()
    assert (row.outcome, row.fault_code) == (Outcome.FAULT, 17)
    assert "not shown" in row.message


TB_ANSWERS = {
    "error-2": b'<?xml version="1.0"?><response><error>2</error><message>x</message></response>',
    "error-neg": b'<?xml version="1.0"?><response><error>-1</error></response>',
    "no-error": b'<?xml version="1.0"?><response><message>hm</message></response>',
    "latin1-undeclared": b'<?xml version="1.0"?><response><error>1</error><message>caf\xe9</message></response>',
    "latin1-declared": b'<?xml version="1.0" encoding="iso-8859-1"?><response><error>1</error><message>caf\xe9</message></response>',
    "dtd-bomb": b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><response><error>&b;</error></response>',
    "html": b"<html><body>Thanks!</body></html>",
    "huge-error": b"<response><error>" + b"9" * 5000 + b"</error></response>",
    "arabic-digit": "<response><error>\u0661</error></response>".encode(),
    # Declared in encodings expat cannot read: unparsed, so delivered (WordPress reads none).
    **{
        f"declared-{encoding}": f'<?xml version="1.0" encoding="{encoding}"?>'
        "<response><error>0</error></response>".encode()
        for encoding in ("x-bogus", "shift_jis", "utf-32", "idna", "base64")
    },
}


@pytest.mark.parametrize("kind", sorted(TB_ANSWERS))
@override_settings(BACKLINKS=LOOPBACK)
def test_odd_trackback_answers_end_in_an_outcome(httpserver: HTTPServer, site, kind):
    ping, target = httpserver.url_for("/tb"), httpserver.url_for("/post")
    httpserver.expect_request("/post").respond_with_data(
        f"<html><body>{rdf(target, ping)}</body></html>", content_type="text/html"
    )
    httpserver.expect_request("/tb", method="POST").respond_with_data(
        TB_ANSWERS[kind], content_type="text/xml"
    )

    outcome = sent_outcome(target)

    assert outcome != Outcome.PENDING
    if kind.startswith("declared-"):
        assert outcome == Outcome.SUCCESS


# --- Verifying a hostile source (receiving) ------------------------------------------------------


def source_answer(kind: str, target: str) -> bytes:
    if kind == "redirect-bad-ipv6":
        return BROKEN_REDIRECT
    body = f'<html><body><p><a href="{target}">x</a></p></body></html>'.encode()
    return http_ok(body, b"Content-Type: text/html; charset=idna")


SOURCE_KINDS = ["redirect-bad-ipv6", "charset-idna"]


@pytest.mark.parametrize("kind", SOURCE_KINDS)
@override_settings(BACKLINKS=LOOPBACK)
def test_pingback_from_a_hostile_source_is_a_fault(raw_peer, article, article_url, kind):
    server = raw_peer({"/src": source_answer(kind, article_url)})
    body = xmlrpc.client.dumps((server.url("/src"), article_url), "pingback.ping")

    response = Client().post("/backlinks/xmlrpc/", body, content_type="text/xml")

    assert response.status_code == 200
    if kind == "charset-idna":  # decoded as UTF-8 instead: the link is there
        assert b"faultCode" not in response.content
    else:
        assert b"<int>16</int>" in response.content


@pytest.mark.parametrize("kind", SOURCE_KINDS)
@override_settings(BACKLINKS=LOOPBACK)
def test_trackback_from_a_hostile_source_is_answered(raw_peer, article, article_url, kind):
    server = raw_peer({"/src": source_answer(kind, article_url)})

    response = Client().post(
        trackback_path(article),
        urlencode({"url": server.url("/src"), "title": "t"}),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code in (200, 400)


def mention_and_verify(source: str, target: str) -> InboundPing:
    """Receive a Webmention and do the verification task's work on it; the row as it ended."""
    accepted = accept(
        Ping(Kind.WEBMENTION, source, target, remote_ip="127.0.0.1", user_agent="ua"),
        Site.objects.get_current(),
    )
    request = process_next()
    assert accepted.queued is not None and request is not None
    assert request.pk == accepted.queued.pk
    return request


@pytest.mark.parametrize("kind", SOURCE_KINDS)
@override_settings(BACKLINKS=LOOPBACK)
def test_webmention_from_a_hostile_source_is_decided(raw_peer, article, article_url, kind):
    server = raw_peer({"/src": source_answer(kind, article_url)})
    request = mention_and_verify(server.url("/src"), article_url)

    assert request.state != InboundPing.State.QUEUED


@pytest.mark.parametrize("kind", SOURCE_KINDS)
@override_settings(BACKLINKS=LOOPBACK)
def test_reverifying_a_hostile_source(raw_peer, make_backlink, article_url, kind):
    server = raw_peer({"/src": source_answer(kind, article_url)})
    backlink = make_backlink(status="approved", source_url=server.url("/src"))

    assert reverify(backlink) == ("unreachable" if kind == "redirect-bad-ipv6" else "ok")


@pytest.mark.parametrize(
    "page_end",
    ["<div>" * 1000, '<base href="http://[oops/">'],
    ids=["nested-1000", "broken-base-href"],
)
@override_settings(BACKLINKS=LOOPBACK)
def test_webmention_source_mf2py_cannot_read_is_still_accepted(
    httpserver: HTTPServer, article, article_url, page_end
):
    """mf2py recurses per nesting level and trusts <base href>; the mention itself counts."""
    page = f'<html><body><p><a href="{article_url}">x</a></p>{page_end}</body></html>'
    httpserver.expect_request("/src").respond_with_data(page, content_type="text/html")
    request = mention_and_verify(httpserver.url_for("/src"), article_url)

    assert request.state == InboundPing.State.ACCEPTED


# --- Deadlines, concurrency, and a bug met halfway -------------------------------------------------


@override_settings(BACKLINKS={**LOOPBACK, "SEND_DEADLINE": 1.0})
def test_a_request_in_flight_is_cut_off_at_the_sending_deadline(httpserver: HTTPServer, site):
    ping, target = httpserver.url_for("/tb"), httpserver.url_for("/post")
    httpserver.expect_request("/post").respond_with_data(
        f"<html><body>{rdf(target, ping)}</body></html>", content_type="text/html"
    )

    release = threading.Event()

    def slow_trackback(request: Request) -> Response:
        # Far past SEND_DEADLINE (1 s), inside FETCH_DEADLINE (5 s); released when the test
        # ends, so that the shared test server is free again for the next test.
        release.wait(5)
        return Response('<?xml version="1.0"?><response><error>0</error></response>')

    httpserver.expect_request("/tb", method="POST").respond_with_handler(slow_trackback)
    started = time.monotonic()
    try:
        outcome = sent_outcome(target)
        elapsed = time.monotonic() - started
    finally:
        release.set()

    assert outcome == Outcome.TIMEOUT
    assert elapsed < 4.5  # the deadline and its grace, not the peer's 5 s


@pytest.mark.django_db(transaction=True)
@override_settings(BACKLINKS=LOOPBACK)
def test_two_send_tasks_at_once_ping_each_link_once(httpserver: HTTPServer, site):
    peer = Peer(httpserver, delay=0.5)
    with override_settings(TASKS=DUMMY_TASKS):
        article = entry("mine", links(peer.page("/post")))
    errors: list[Exception] = []
    barrier = threading.Barrier(2)
    # PostgreSQL takes both claims at the same instant (one waits for the other's UPDATE).
    # SQLite's shared in-memory test database reports overlapping writes as "table is locked"
    # instead of waiting, so there the second task starts while the first one is sending.
    stagger = 0.0 if connection.vendor == "postgresql" else 0.1

    def task() -> None:
        try:
            if barrier.wait() == 1:
                time.sleep(stagger)
            send.send_object(Article.objects.get(pk=article.pk))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=task) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    row = OutboundPing.objects.get()
    assert errors == []
    assert (len(peer.calls), row.outcome, row.attempts) == (1, Outcome.SUCCESS, 1)


@override_settings(BACKLINKS=LOOPBACK)
def test_an_unexpected_error_for_one_link_leaves_the_others_recorded(
    httpserver: HTTPServer, site, monkeypatch
):
    peer = Peer(httpserver)
    good, bad = peer.page("/good"), peer.page("/bad")
    deliver = delivery.deliver_remote

    def failing(job, source, gate):
        if job.target_url == bad:
            raise RuntimeError("a bug met by this peer's answer")
        return deliver(job, source, gate)

    monkeypatch.setattr(delivery, "deliver_remote", failing)

    send.send_object(entry("mine", links(bad, good)))

    outcomes = dict(OutboundPing.objects.values_list("target_url", "outcome"))
    assert outcomes == {good: Outcome.SUCCESS, bad: Outcome.UNREACHABLE}
    assert len(peer.calls) == 1
