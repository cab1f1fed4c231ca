"""The sending side of Pingback and TrackBack, against real peers on 127.0.0.1."""

from __future__ import annotations

import threading
import time
import xmlrpc.client
from collections.abc import Iterator
from urllib.parse import parse_qsl

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request
from werkzeug import Response as WerkzeugResponse

from backlinks_django import limits
from backlinks_django.exceptions import (
    DeliveryError,
    NoEndpoint,
    PeerFault,
    PeerHTTPError,
    PeerRejected,
    PeerTimeout,
    PeerUnreachable,
)
from backlinks_django.protocols import fetch_from_peer, trackback
from backlinks_django.protocols.pingback import discover_server_in, send_ping
from backlinks_django.protocols.trackback import discover_ping_url
from backlinks_django.protocols.webmention import DISCOVERY_BYTES
from tests.settings import BACKLINKS as BASE

UA = "backlinks-tests/1.0 (+http://blog.example/)"
SOURCE = "http://blog.example/?p=6"
TB_SUCCESS = '<?xml version="1.0" encoding="utf-8"?>\n<response>\n<error>0</error>\n</response>'
WORDPRESS_FLOOD_BODY = (
    "<error>\n    <code>wp_die</code>\n"
    "    <title><![CDATA[WordPress &amp;rsaquo; Error]]></title>\n"
    "    <message><![CDATA[You are posting comments too quickly. Slow down.]]></message>\n"
    "    <data>\n        <status>429</status>\n    </data>\n</error>\n"
)


def fetch_and_discover(target_url: str) -> str | None:
    """Discovery as the sender runs it: one GET of the target's first bytes, then the answer."""
    response = fetch_from_peer(
        target_url, headers={"User-Agent": UA}, max_bytes=DISCOVERY_BYTES, truncate=True
    )
    return discover_server_in(response)


@pytest.fixture
def peer(httpserver_ipv4: HTTPServer) -> Iterator[HTTPServer]:
    """A peer on 127.0.0.1 (never "localhost", which may also resolve to ::1)."""
    yield httpserver_ipv4
    httpserver_ipv4.check_assertions()


def serve_page(peer: HTTPServer, html: str, path: str = "/post", **kwargs: object) -> str:
    peer.expect_request(path).respond_with_data(
        html, content_type="text/html; charset=utf-8", **kwargs
    )
    return peer.url_for(path)


def head(*tags: str) -> str:
    return f"<!DOCTYPE html><html><head><title>Post</title>{''.join(tags)}</head><body>Hi</body></html>"


def xmlrpc_answer(value: object) -> str:
    if isinstance(value, xmlrpc.client.Fault):
        return xmlrpc.client.dumps(value, methodresponse=True)
    return xmlrpc.client.dumps((value,), methodresponse=True)


def serve_xmlrpc(peer: HTTPServer, body: str | bytes, status: int = 200) -> str:
    peer.expect_request("/xmlrpc", method="POST").respond_with_data(
        body, status=status, content_type="text/xml"
    )
    return peer.url_for("/xmlrpc")


def only_request(peer: HTTPServer) -> Request:
    assert len(peer.log) == 1
    return peer.log[0][0]


# --- Pingback discovery ------------------------------------------------------------------------


def test_x_pingback_header_wins_over_a_different_link(peer: HTTPServer) -> None:
    url = serve_page(
        peer,
        head('<link rel="pingback" href="http://other.example/xmlrpc">'),
        headers={"X-Pingback": "http://blog.example/xmlrpc.php"},
    )

    assert fetch_and_discover(url) == "http://blog.example/xmlrpc.php"


def test_link_rel_pingback_is_found_without_header(peer: HTTPServer) -> None:
    url = serve_page(peer, head('<link rel="pingback" href="http://blog.example/xmlrpc.php">'))

    assert fetch_and_discover(url) == "http://blog.example/xmlrpc.php"


def test_discovery_sends_the_user_agent(peer: HTTPServer) -> None:
    url = serve_page(peer, head())

    fetch_and_discover(url)

    assert only_request(peer).headers["User-Agent"] == UA


def test_link_with_href_before_rel_is_found(peer: HTTPServer) -> None:
    url = serve_page(
        peer,
        head(
            '<link href="http://blog.example/style.css" rel="stylesheet">'
            '<link href="http://blog.example/xmlrpc.php" rel="pingback">'
        ),
    )

    assert fetch_and_discover(url) == "http://blog.example/xmlrpc.php"


def test_rel_token_list_containing_pingback_is_found(peer: HTTPServer) -> None:
    url = serve_page(
        peer,
        head(
            '<link rel="not-pingback" href="http://wrong.example/">'
            '<link rel="Pingback other" href="http://blog.example/xmlrpc.php">'
        ),
    )

    assert fetch_and_discover(url) == "http://blog.example/xmlrpc.php"


def test_first_pingback_link_in_document_order_wins(peer: HTTPServer) -> None:
    url = serve_page(
        peer,
        head(
            "<!-- <link rel='pingback' href='http://commented.example/'> -->"
            '<link rel="pingback" href="http://first.example/xmlrpc">'
            '<link rel="pingback" href="http://second.example/xmlrpc">'
        ),
    )

    assert fetch_and_discover(url) == "http://first.example/xmlrpc"


def test_relative_href_is_resolved_against_the_url_after_redirects(peer: HTTPServer) -> None:
    peer.expect_request("/old").respond_with_data(
        "", status=301, headers={"Location": "/blog/post"}
    )
    serve_page(peer, head('<link rel="pingback" href="xmlrpc.php">'), path="/blog/post")

    assert fetch_and_discover(peer.url_for("/old")) == peer.url_for("/blog/xmlrpc.php")


def test_link_beyond_discovery_bytes_is_not_found(peer: HTTPServer) -> None:
    filler = "<!-- " + "x" * DISCOVERY_BYTES + " -->"
    url = serve_page(
        peer,
        f"<html><head>{filler}<link rel='pingback' href='http://blog.example/xmlrpc'></head>",
    )

    assert fetch_and_discover(url) is None


def test_page_without_endpoint_gives_none(peer: HTTPServer) -> None:
    url = serve_page(peer, head('<link rel="alternate" href="http://blog.example/feed">'))

    assert fetch_and_discover(url) is None


def test_non_html_target_gives_none(peer: HTTPServer) -> None:
    peer.expect_request("/image.png").respond_with_data(
        b'\x89PNG<link rel="pingback" href="http://blog.example/xmlrpc">',
        content_type="image/png",
    )

    assert fetch_and_discover(peer.url_for("/image.png")) is None


def test_non_web_endpoint_is_ignored(peer: HTTPServer) -> None:
    url = serve_page(peer, head('<link rel="pingback" href="javascript:alert(1)">'))

    assert fetch_and_discover(url) is None


def test_missing_target_is_http_error_404(peer: HTTPServer) -> None:
    url = serve_page(
        peer,
        head('<link rel="pingback" href="http://blog.example/xmlrpc.php">'),
        status=404,
    )

    with pytest.raises(PeerHTTPError) as info:
        fetch_and_discover(url)

    assert info.value.status == 404
    assert info.value.retry is False


def test_unreachable_target_is_peer_unreachable(unused_port: int) -> None:
    with pytest.raises(PeerUnreachable) as info:
        fetch_and_discover(f"http://127.0.0.1:{unused_port}/post")

    assert not isinstance(info.value, PeerTimeout)


def test_target_at_a_refused_address_is_no_endpoint_without_retry(peer: HTTPServer) -> None:
    url = serve_page(peer, head('<link rel="pingback" href="http://blog.example/xmlrpc.php">'))

    with override_settings(BACKLINKS={"ALLOWED_PORTS": None}), pytest.raises(NoEndpoint) as info:
        fetch_and_discover(url)

    assert info.value.retry is False
    assert peer.log == []


def test_hanging_target_is_peer_timeout(peer: HTTPServer) -> None:
    release = threading.Event()

    def hang(request: Request) -> WerkzeugResponse:
        release.wait(5)
        return WerkzeugResponse(head(), content_type="text/html")

    peer.expect_request("/slow").respond_with_handler(hang)
    started = time.monotonic()
    try:
        with (
            override_settings(
                BACKLINKS={**BASE, "ALLOWED_NETWORKS": ["127.0.0.0/8"], "FETCH_DEADLINE": 1.0}
            ),
            pytest.raises(PeerTimeout),
        ):
            fetch_and_discover(peer.url_for("/slow"))
        assert time.monotonic() - started < 3
    finally:
        release.set()
        # The single-threaded server logs the request only once the handler returns; wait so
        # that the entry cannot leak into the next test's log.
        waited = time.monotonic() + 5
        while not peer.log and time.monotonic() < waited:
            time.sleep(0.01)


# --- pingback.ping -----------------------------------------------------------------------------


def test_ping_is_an_xml_rpc_post_of_source_and_target(peer: HTTPServer) -> None:
    server = serve_xmlrpc(peer, xmlrpc_answer("Registered"))

    send_ping(server, SOURCE, "http://peer.example/post", user_agent=UA)

    request = only_request(peer)
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "text/xml"
    assert request.headers["User-Agent"] == UA
    params, method = xmlrpc.client.loads(request.get_data())
    assert method == "pingback.ping"
    assert params == (SOURCE, "http://peer.example/post")


def test_ping_success_returns_the_peers_string(peer: HTTPServer) -> None:
    message = "Pingback from a to b registered. Keep the web talking! :-)"
    server = serve_xmlrpc(peer, xmlrpc_answer(message))

    assert send_ping(server, SOURCE, "http://peer.example/post", user_agent=UA) == message


def test_fault_17_is_permanent_peer_fault(peer: HTTPServer) -> None:
    server = serve_xmlrpc(peer, xmlrpc_answer(xmlrpc.client.Fault(17, "No link to the target.")))

    with pytest.raises(PeerFault) as info:
        send_ping(server, SOURCE, "http://peer.example/post", user_agent=UA)

    assert info.value.code == 17
    assert "No link to the target." in info.value.message
    assert info.value.retry is False


def test_wordpress_masked_fault_0_is_not_retried(peer: HTTPServer) -> None:
    server = serve_xmlrpc(peer, xmlrpc_answer(xmlrpc.client.Fault(0, "")))

    with pytest.raises(PeerFault) as info:
        send_ping(server, SOURCE, "http://peer.example/post", user_agent=UA)

    assert info.value.code == 0
    assert info.value.retry is False


def test_wordpress_flood_fault_429_is_retried(peer: HTTPServer) -> None:
    server = serve_xmlrpc(
        peer,
        xmlrpc_answer(
            xmlrpc.client.Fault(429, "You are posting comments too quickly. Slow down.")
        ),
    )

    with pytest.raises(PeerFault) as info:
        send_ping(server, SOURCE, "http://peer.example/post", user_agent=UA)

    assert info.value.code == 429
    assert info.value.retry is True


def test_fault_code_returned_as_a_value_is_a_fault(peer: HTTPServer) -> None:
    # Zinnia and django-pingback answer errors this way instead of with a fault.
    server = serve_xmlrpc(peer, xmlrpc_answer(33))

    with pytest.raises(PeerFault) as info:
        send_ping(server, SOURCE, "http://peer.example/post", user_agent=UA)

    assert info.value.code == 33
    assert info.value.retry is False


def test_http_500_from_server_is_retried_http_error(peer: HTTPServer) -> None:
    server = serve_xmlrpc(peer, "Internal error", status=500)

    with pytest.raises(PeerHTTPError) as info:
        send_ping(server, SOURCE, "http://peer.example/post", user_agent=UA)

    assert info.value.status == 500
    assert info.value.retry is True


def test_garbage_answer_is_peer_unreachable(peer: HTTPServer) -> None:
    server = serve_xmlrpc(peer, "<html><body>Welcome to nginx!</body></html>")

    with pytest.raises(PeerUnreachable, match="unreadable XML-RPC answer"):
        send_ping(server, SOURCE, "http://peer.example/post", user_agent=UA)


def test_entity_expansion_in_answer_is_refused(peer: HTTPServer) -> None:
    # Small enough that an undefended parser would simply return the expanded string.
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "lol">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        "<methodResponse><params><param><value><string>&c;</string></value></param>"
        "</params></methodResponse>"
    )
    server = serve_xmlrpc(peer, bomb)

    with pytest.raises(PeerUnreachable, match="unreadable XML-RPC answer"):
        send_ping(server, SOURCE, "http://peer.example/post", user_agent=UA)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200).map(
            lambda s: f"<methodResponse><params><param><value>{s}</value></param></params>"
        ),
    )
)
def test_any_answer_is_a_string_or_a_delivery_error(peer: HTTPServer, body: str | bytes) -> None:
    peer.clear()
    server = serve_xmlrpc(peer, body)

    try:
        result = send_ping(server, SOURCE, "http://peer.example/post", user_agent=UA)
    except DeliveryError:
        return
    assert isinstance(result, str)
    assert len(result) <= limits.MESSAGE


# --- TrackBack discovery -----------------------------------------------------------------------

TARGET = "http://peer.example/2026/11/24/target-post/"


def rdf(identifier: str, ping: str, title: str = "Target post") -> str:
    """RDF as WordPress's trackback_rdf() prints it."""
    return (
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"\n'
        '\t\t\txmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '\t\t\txmlns:trackback="http://madskills.com/public/xml/rss/module/trackback/">\n'
        f'\t\t<rdf:Description rdf:about="{identifier}"\n'
        f'    dc:identifier="{identifier}"\n'
        f'    dc:title="{title}"\n'
        f'    trackback:ping="{ping}" />\n'
        "</rdf:RDF>"
    )


def page_with(*blocks: str) -> str:
    comments = "".join(f"<!--\n{block}\n-->\n" for block in blocks)
    return f"<html><head><title>Post</title></head><body><article>Text</article>{comments}</body></html>"


def test_ping_url_is_read_from_rdf_in_an_html_comment() -> None:
    html = page_with(rdf(TARGET, f"{TARGET}trackback/", title="Don&#8217;t &#038; Caf\u00e9"))

    assert discover_ping_url(html, TARGET) == f"{TARGET}trackback/"


def test_identifier_is_compared_normalized() -> None:
    html = page_with(rdf("http://PEER.example:80/2026/11/24/target-post", f"{TARGET}trackback/"))

    assert discover_ping_url(html, TARGET) == f"{TARGET}trackback/"


def test_single_rdf_for_another_url_gives_none() -> None:
    html = page_with(rdf("http://peer.example/other-post/", "http://peer.example/other/tb/"))

    assert discover_ping_url(html, TARGET) is None


def test_the_matching_one_of_two_rdf_blocks_is_used() -> None:
    html = page_with(
        rdf("http://peer.example/other-post/", "http://peer.example/other/tb/"),
        rdf(TARGET, f"{TARGET}trackback/"),
    )

    assert discover_ping_url(html, TARGET) == f"{TARGET}trackback/"


def test_malformed_rdf_block_is_skipped() -> None:
    broken = rdf(TARGET, "http://peer.example/broken/tb/", title="Caf&eacute;")
    html = page_with(broken, rdf(TARGET, f"{TARGET}trackback/"))

    assert discover_ping_url(html, TARGET) == f"{TARGET}trackback/"


def test_non_web_ping_url_is_ignored() -> None:
    html = page_with(rdf(TARGET, "javascript:alert(1)"))

    assert discover_ping_url(html, TARGET) is None


@given(st.text(), st.lists(st.sampled_from(["<rdf:RDF", "</rdf:RDF>", ">", '"', "&"])))
def test_discover_ping_url_never_raises(text: str, fragments: list[str]) -> None:
    result = discover_ping_url("".join(fragments) + text + "".join(fragments), TARGET)

    assert result is None or result.startswith(("http://", "https://"))


# --- TrackBack ping ----------------------------------------------------------------------------


def serve_trackback(
    peer: HTTPServer, body: str, status: int = 200, content_type: str = "text/xml"
) -> str:
    peer.expect_request("/tb", method="POST").respond_with_data(
        body, status=status, content_type=content_type
    )
    return peer.url_for("/tb")


def send_trackback(ping_url: str, excerpt: str = "See one and two.") -> str:
    return trackback.send(
        ping_url,
        url=SOURCE,
        title="Caf\u00e9",
        excerpt=excerpt,
        blog_name="Peer Blog",
        user_agent=UA,
    )


def test_trackback_posts_the_four_fields_in_utf8_with_charset(peer: HTTPServer) -> None:
    ping_url = serve_trackback(peer, TB_SUCCESS)

    send_trackback(ping_url)

    request = only_request(peer)
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded; charset=utf-8"
    assert request.headers["User-Agent"] == UA
    fields = parse_qsl(request.get_data().decode("ascii"), encoding="utf-8", errors="strict")
    assert fields == [
        ("title", "Caf\u00e9"),
        ("url", SOURCE),
        ("blog_name", "Peer Blog"),
        ("excerpt", "See one and two."),
    ]


def test_trackback_excerpt_is_cropped_to_252_characters(peer: HTTPServer) -> None:
    ping_url = serve_trackback(peer, TB_SUCCESS)

    send_trackback(ping_url, excerpt="word " * 100)

    fields = dict(parse_qsl(only_request(peer).get_data().decode("ascii")))
    assert len(fields["excerpt"]) <= 252
    assert fields["excerpt"].startswith("word word")


def test_trackback_error_0_returns_empty_message(peer: HTTPServer) -> None:
    assert send_trackback(serve_trackback(peer, TB_SUCCESS)) == ""


def test_trackback_error_1_is_rejected_with_the_peers_message(peer: HTTPServer) -> None:
    answer = (
        '<?xml version="1.0" encoding="utf-8"?>\n<response>\n<error>1</error>\n'
        "<message>There is already a ping from that URL for this post.</message>\n</response>"
    )

    with pytest.raises(PeerRejected) as info:
        send_trackback(serve_trackback(peer, answer))

    assert info.value.message == "There is already a ping from that URL for this post."
    assert info.value.retry is False


def test_trackback_flood_429_is_retried_http_error(peer: HTTPServer) -> None:
    ping_url = serve_trackback(peer, WORDPRESS_FLOOD_BODY, status=429)

    with pytest.raises(PeerHTTPError) as info:
        send_trackback(ping_url)

    assert info.value.status == 429
    assert info.value.retry is True


def test_trackback_empty_2xx_answer_counts_as_delivered(peer: HTTPServer) -> None:
    ping_url = serve_trackback(peer, "", content_type="text/html; charset=UTF-8")

    assert send_trackback(ping_url) == "unparsed answer"


def test_trackback_to_unreachable_peer_is_peer_unreachable(unused_port: int) -> None:
    with pytest.raises(PeerUnreachable):
        send_trackback(f"http://127.0.0.1:{unused_port}/tb")


def test_trackback_to_a_refused_address_is_no_endpoint_without_retry(peer: HTTPServer) -> None:
    with override_settings(BACKLINKS={"ALLOWED_PORTS": None}), pytest.raises(NoEndpoint) as info:
        send_trackback(peer.url_for("/tb"))

    assert info.value.retry is False
    assert peer.log == []


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.text(max_size=200),
        st.text(max_size=50).map(lambda s: f"<response><error>{s}</error></response>"),
    )
)
def test_any_trackback_answer_is_a_string_or_a_delivery_error(peer: HTTPServer, body: str) -> None:
    peer.clear()
    ping_url = serve_trackback(peer, body)

    try:
        result = send_trackback(ping_url)
    except DeliveryError:
        return
    assert isinstance(result, str)
