"""The sending side of Webmention, against a local copy of the webmention.rocks discovery suite.

Every discovery test of webmention.rocks is rebuilt on a peer at 127.0.0.1 with the same twist
(the page markup and wording are this suite's own): the endpoint discovered must be exactly the
advertised one, and a Webmention sent to it must arrive there as a form-encoded POST.
"""

from __future__ import annotations

import http.client
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import pytest
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from requests.structures import CaseInsensitiveDict
from werkzeug import Request
from werkzeug import Response as WerkzeugResponse

from backlinks_django import fetch
from backlinks_django.exceptions import PeerHTTPError, PeerTimeout, PeerUnreachable
from backlinks_django.protocols import fetch_from_peer
from backlinks_django.protocols.webmention import (
    DISCOVERY_BYTES,
    REASON_MAX_LENGTH,
    discover_endpoint_in,
    send,
)
from tests.settings import BACKLINKS as BASE

UA = "backlinks-tests/1.0 (+http://blog.example/)"
SOURCE = "http://blog.example/2026/02/a-reply/"
FORM = "application/x-www-form-urlencoded"


def fetch_and_discover(target_url: str) -> str | None:
    """Discovery as the sender runs it: one GET of the target's first bytes, then the answer."""
    response = fetch_from_peer(
        target_url, headers={"User-Agent": UA}, max_bytes=DISCOVERY_BYTES, truncate=True
    )
    return discover_endpoint_in(response)


@pytest.fixture
def peer(httpserver_ipv4: HTTPServer) -> Iterator[HTTPServer]:
    """A peer on 127.0.0.1 (never "localhost", which may also resolve to ::1)."""
    yield httpserver_ipv4
    httpserver_ipv4.check_assertions()


def base_of(peer: HTTPServer) -> str:
    return peer.url_for("/").rstrip("/")


def page(title: str, head: str = "", body: str = "") -> str:
    """A blog-like page: stylesheets and scripts in <head>, an h-entry in <body>."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title>"
        '<link href="/assets/site.css" rel="stylesheet"><script src="/assets/app.js"></script>'
        f"{head}</head><body>"
        '<nav><a href="/">Home</a> <a href="/about" rel="author">About</a></nav>'
        f'<article class="h-entry"><h1 class="p-name">{title}</h1>'
        f'<div class="e-content">{body}</div></article></body></html>'
    )


def serve(
    peer: HTTPServer,
    path: str,
    html: str,
    headers: list[tuple[str, str]] | None = None,
    content_type: str = "text/html; charset=utf-8",
    status: int = 200,
) -> str:
    """Serve ``html`` on GET ``path`` with ``headers`` sent as given (names, order, repeats)."""
    peer.expect_request(path, method="GET").respond_with_response(
        WerkzeugResponse(html, status=status, headers=headers or [], content_type=content_type)
    )
    return peer.url_for(path)


def accept_webmentions(peer: HTTPServer, path: str, query_string: str | None = None) -> None:
    """An endpoint at ``path`` (only with exactly ``query_string``, if given) answering 202."""
    peer.expect_request(path, method="POST", query_string=query_string).respond_with_data(
        "Accepted", status=202, content_type="text/plain"
    )


def last_request(peer: HTTPServer) -> Request:
    assert peer.log, "the peer received nothing"
    return peer.log[-1][0]


def assert_webmention_received(peer: HTTPServer, path: str, target: str, query: str = "") -> None:
    request = last_request(peer)
    assert request.method == "POST"
    assert request.path == path
    assert request.query_string.decode() == query
    assert request.mimetype == FORM
    assert request.headers["User-Agent"] == UA
    assert request.form.to_dict(flat=False) == {"source": [SOURCE], "target": [target]}


# --- The webmention.rocks discovery tests ------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One discovery test: what the page at /test/N advertises and where the endpoint is.

    ``{base}`` in the markup stands for the peer's origin (absolute URLs); ``endpoint`` is the
    path (and query) the Webmention must reach.
    """

    number: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    head: str = ""
    body: str = ""
    endpoint: str = ""

    def path(self) -> str:
        return f"/test/{self.number}"

    def endpoint_path(self) -> str:
        return self.endpoint or f"/test/{self.number}/webmention"


CASES = {
    "01-link-header-unquoted-rel-relative-url": Case(
        1, headers=[("Link", "</test/1/webmention>; rel=webmention")]
    ),
    "02-link-header-unquoted-rel-absolute-url": Case(
        2, headers=[("Link", "<{base}/test/2/webmention>; rel=webmention")]
    ),
    "03-link-element-relative-url": Case(
        3, head='<link rel="webmention" href="/test/3/webmention">'
    ),
    "04-link-element-absolute-url": Case(
        4, head='<link href="{base}/test/4/webmention" rel="webmention">'
    ),
    "05-a-element-relative-url": Case(
        5,
        body='<p>Mentions go to <a rel="webmention" href="/test/5/webmention">my endpoint</a>.</p>',
    ),
    "06-a-element-absolute-url": Case(
        6,
        body='<p>Mentions go to <a href="{base}/test/6/webmention" rel="webmention">here</a>.</p>',
    ),
    "07-link-header-strange-casing": Case(
        7, headers=[("LinK", "<{base}/test/7/webmention>; rel=webmention")]
    ),
    "08-link-header-quoted-rel": Case(
        8, headers=[("Link", '<{base}/test/8/webmention>; rel="webmention"')]
    ),
    "09-link-element-multiple-rel-values": Case(
        9, head='<link rel="webmention somethingelse" href="{base}/test/9/webmention">'
    ),
    "10-link-header-multiple-rel-values": Case(
        10, headers=[("Link", '<{base}/test/10/webmention>; rel="webmention somethingelse"')]
    ),
    "11-header-then-link-then-a-header-wins": Case(
        11,
        headers=[("Link", '</test/11/webmention>; rel="webmention"')],
        head='<link rel="webmention" href="/test/11/webmention/error">',
        body='<p>Also an <a href="/test/11/webmention/error" rel="webmention">a element</a>.</p>',
    ),
    "12-rel-not-webmention-is-no-match": Case(
        12,
        head='<link rel="not-webmention" href="/test/12/webmention/error">',
        body='<p>The <a href="/test/12/webmention" rel="webmention">real endpoint</a>.</p>',
    ),
    "13-decoy-inside-html-comment": Case(
        13,
        body=(
            '<p>A comment: <!-- <a href="/test/13/webmention/error" rel="webmention"></a> --> '
            'and the <a href="/test/13/webmention" rel="webmention">real endpoint</a>.</p>'
        ),
    ),
    "14-decoy-in-escaped-html": Case(
        14,
        body=(
            '<p>Example markup: <code>&lt;a href="/test/14/webmention/error" '
            'rel="webmention"&gt;&lt;/a&gt;</code>; and the '
            '<a href="/test/14/webmention" rel="webmention">real endpoint</a>.</p>'
        ),
    ),
    "15-empty-href-is-the-page-itself": Case(
        15, head='<link rel="webmention" href="">', endpoint="/test/15"
    ),
    "16-a-before-link-in-body-a-wins": Case(
        16,
        body=(
            '<p>First an <a href="/test/16/webmention" rel="webmention">a element</a>, '
            'then a link element <link rel="webmention" href="/test/16/webmention/error">.</p>'
        ),
    ),
    "17-link-in-body-before-a-link-wins": Case(
        17,
        body=(
            '<p>First a link element <link rel="webmention" href="/test/17/webmention">, '
            'then an <a href="/test/17/webmention/error" rel="webmention">a element</a>.</p>'
        ),
    ),
    "18-multiple-link-headers": Case(
        18,
        headers=[
            ("Link", '<{base}/test/18/webmention/error>; rel="other"'),
            ("Link", '<{base}/test/18/webmention>; rel="webmention"'),
        ],
    ),
    "19-one-link-header-comma-separated-values": Case(
        19,
        headers=[
            (
                "Link",
                '<{base}/test/19/webmention/error>; rel="other", '
                '<{base}/test/19/webmention>; rel="webmention"',
            )
        ],
    ),
    "20-link-element-without-href-is-skipped": Case(
        20,
        body=(
            '<p>A link element without href <link rel="webmention">, and the '
            '<a href="/test/20/webmention" rel="webmention">real endpoint</a>.</p>'
        ),
    ),
    "21-endpoint-query-string-is-kept": Case(
        21,
        head='<link rel="webmention" href="/test/21/webmention?query=yes">',
        endpoint="/test/21/webmention?query=yes",
    ),
    "22-endpoint-relative-to-the-page-path": Case(
        22, head='<link rel="webmention" href="22/webmention">'
    ),
}


def serve_case(peer: HTTPServer, case: Case) -> tuple[str, str]:
    """Serve the case's page and endpoint; the page URL and the expected endpoint URL."""
    base = base_of(peer)
    headers = [(name, value.replace("{base}", base)) for name, value in case.headers]
    html = page(
        f"Discovery test {case.number}",
        head=case.head.replace("{base}", base),
        body=case.body.replace("{base}", base),
    )
    url = serve(peer, case.path(), html, headers)
    path, _, query = case.endpoint_path().partition("?")
    accept_webmentions(peer, path, query_string=query or None)
    return url, base + case.endpoint_path()


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_webmention_rocks_discovery(peer: HTTPServer, case: Case) -> None:
    url, expected = serve_case(peer, case)

    endpoint = fetch_and_discover(url)

    assert endpoint == expected
    assert len(peer.log) == 1  # one GET: no HEAD first, no second fetch


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_webmention_rocks_delivery(peer: HTTPServer, case: Case) -> None:
    url, _expected = serve_case(peer, case)
    endpoint = fetch_and_discover(url)
    assert endpoint is not None

    assert send(endpoint, SOURCE, url, user_agent=UA) == "202 Accepted"

    path, _, query = case.endpoint_path().partition("?")
    assert_webmention_received(peer, path, target=url, query=query)


def serve_redirected_page(peer: HTTPServer, status: int, location: str) -> tuple[str, str, str]:
    """Test 23: /test/23/page redirects once to a one-time page whose endpoint is relative.

    The entry URL, the page's final path and the expected endpoint URL.
    """
    base = base_of(peer)
    page_key, endpoint_key = secrets.token_hex(8), secrets.token_hex(8)
    final_path = f"/test/23/page/{page_key}"
    relative_endpoint = f"webmention-endpoint/{endpoint_key}"
    redirect_to = f"page/{page_key}" if location == "relative" else base + final_path
    # One-shot: a second request for either URL finds no handler and fails the test.
    peer.expect_oneshot_request("/test/23/page", method="GET").respond_with_data(
        "", status=status, headers={"Location": redirect_to}
    )
    peer.expect_oneshot_request(final_path, method="GET").respond_with_response(
        WerkzeugResponse(
            page(
                "Discovery test 23",
                body=f'<p><a rel="webmention" href="{relative_endpoint}">Endpoint</a></p>',
            ),
            headers=[("Link", f"<{relative_endpoint}>; rel=webmention")],
            content_type="text/html; charset=utf-8",
        )
    )
    # Relative to the final URL /test/23/page/<key>, not to /test/23/page.
    endpoint_path = f"/test/23/page/{relative_endpoint}"
    accept_webmentions(peer, endpoint_path)
    return peer.url_for("/test/23/page"), final_path, base + endpoint_path


REDIRECTS = [(302, "relative"), (302, "absolute"), (301, "relative"), (301, "absolute")]
REDIRECT_IDS = [f"{status}-{location}-location" for status, location in REDIRECTS]


@pytest.mark.parametrize(("status", "location"), REDIRECTS, ids=REDIRECT_IDS)
def test_webmention_rocks_23_redirected_target_resolves_against_final_url(
    peer: HTTPServer, status: int, location: str
) -> None:
    url, final_path, expected = serve_redirected_page(peer, status, location)

    endpoint = fetch_and_discover(url)

    assert endpoint == expected
    assert [(request.path, answer.status_code) for request, answer in peer.log] == [
        ("/test/23/page", status),
        (final_path, 200),
    ]


@pytest.mark.parametrize(("status", "location"), REDIRECTS, ids=REDIRECT_IDS)
def test_webmention_rocks_23_delivery_names_the_original_target(
    peer: HTTPServer, status: int, location: str
) -> None:
    url, _final_path, expected = serve_redirected_page(peer, status, location)
    endpoint = fetch_and_discover(url)
    assert endpoint == expected

    send(endpoint, SOURCE, url, user_agent=UA)

    assert_webmention_received(peer, urlsplit(expected).path, target=url)
    assert len(peer.log) == 3


def test_strange_header_casing_reaches_the_client_as_sent(peer: HTTPServer) -> None:
    """Test 7 and 18 test what they claim: the server really sends "LinK", and two Link lines."""
    url, _ = serve_case(peer, CASES["07-link-header-strange-casing"])
    assert "LinK" in list(fetch_from_peer(url).headers)

    url, _ = serve_case(peer, CASES["18-multiple-link-headers"])
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        connection.request("GET", parts.path)
        assert len(connection.getresponse().msg.get_all("Link") or []) == 2
    finally:
        connection.close()


# --- More discovery rules ------------------------------------------------------------------------


def test_a_in_head_before_link_wins(peer: HTTPServer) -> None:
    base = base_of(peer)
    url = serve(
        peer,
        "/post",
        page(
            "Post",
            head='<a rel="webmention" href="/first"></a><link rel="webmention" href="/second">',
        ),
    )

    assert fetch_and_discover(url) == f"{base}/first"


def test_rel_token_matches_in_any_case(peer: HTTPServer) -> None:
    base = base_of(peer)
    url = serve(peer, "/post", page("Post", head='<link REL="WebMention" href="/wm">'))

    assert fetch_and_discover(url) == f"{base}/wm"


def test_link_header_rel_and_parameter_names_match_in_any_case(peer: HTTPServer) -> None:
    base = base_of(peer)
    url = serve(peer, "/post", page("Post"), [("Link", "</wm>; REL=WEBMENTION")])

    assert fetch_and_discover(url) == f"{base}/wm"


def test_link_header_url_may_contain_commas_and_semicolons(peer: HTTPServer) -> None:
    base = base_of(peer)
    header = '</other;a,b>; rel="next", </wm;v=1,2?x=a,b;c>; rel="webmention"'
    url = serve(peer, "/post", page("Post"), [("Link", header)])

    assert fetch_and_discover(url) == f"{base}/wm;v=1,2?x=a,b;c"


def test_link_header_quoted_parameter_may_contain_commas_and_semicolons(peer: HTTPServer) -> None:
    base = base_of(peer)
    header = '</a>; title="one, <two>; rel=webmention"; rel=other, </wm>; rel=webmention'
    url = serve(peer, "/post", page("Post"), [("Link", header)])

    assert fetch_and_discover(url) == f"{base}/wm"


def test_only_the_first_rel_parameter_of_a_link_value_counts(peer: HTTPServer) -> None:
    base = base_of(peer)
    header = "</a>; rel=other; rel=webmention, </b>; rel=webmention"
    url = serve(peer, "/post", page("Post"), [("Link", header)])

    assert fetch_and_discover(url) == f"{base}/b"


def test_link_header_endpoint_ignores_base_element(peer: HTTPServer) -> None:
    base = base_of(peer)
    url = serve(
        peer,
        "/blog/post",
        page("Post", head='<base href="http://cdn.example/x/">'),
        [("Link", "<wm>; rel=webmention")],
    )

    assert fetch_and_discover(url) == f"{base}/blog/wm"


def test_html_endpoint_resolves_against_the_base_element(peer: HTTPServer) -> None:
    url = serve(
        peer,
        "/blog/post",
        page("Post", head='<base href="http://blog.example/x/"><link rel="webmention" href="wm">'),
    )

    assert fetch_and_discover(url) == "http://blog.example/x/wm"


def test_unusable_endpoint_is_skipped_for_the_next_one(peer: HTTPServer) -> None:
    base = base_of(peer)
    url = serve(
        peer,
        "/post",
        page("Post", head='<link rel="webmention" href="javascript:alert(1)">'),
        [("Link", "<mailto:me@example.com>; rel=webmention")],
    )
    serve(peer, "/post2", page("Post", body='<a rel="webmention" href="/wm">x</a>'))

    assert fetch_and_discover(url) is None
    assert fetch_and_discover(peer.url_for("/post2")) == f"{base}/wm"


def test_endpoint_fragment_is_dropped(peer: HTTPServer) -> None:
    base = base_of(peer)
    url = serve(peer, "/post", page("Post", head='<link rel="webmention" href="/wm?a=1#frag">'))

    assert fetch_and_discover(url) == f"{base}/wm?a=1"


def test_whitespace_around_href_is_ignored(peer: HTTPServer) -> None:
    base = base_of(peer)
    url = serve(peer, "/post", page("Post", head='<link rel="webmention" href="\n  /wm \t">'))

    assert fetch_and_discover(url) == f"{base}/wm"


def test_template_content_is_not_part_of_the_document(peer: HTTPServer) -> None:
    base = base_of(peer)
    body = (
        '<template><a rel="webmention" href="/decoy">x</a></template>'
        '<a rel="webmention" href="/wm">y</a>'
    )
    url = serve(peer, "/post", page("Post", body=body))

    assert fetch_and_discover(url) == f"{base}/wm"


def test_page_without_endpoint_is_none(peer: HTTPServer) -> None:
    url = serve(
        peer,
        "/post",
        page("Post", head='<link rel="pingback" href="/xmlrpc">', body='<a href="/wm">wm</a>'),
        [("Link", '</feed>; rel="alternate"')],
    )

    assert fetch_and_discover(url) is None


def test_non_html_target_with_link_header_is_found(peer: HTTPServer) -> None:
    base = base_of(peer)
    url = serve(
        peer,
        "/photo.jpg",
        "\xff\xd8\xff binary",
        [("Link", "</photo/webmention>; rel=webmention")],
        content_type="image/jpeg",
    )

    assert fetch_and_discover(url) == f"{base}/photo/webmention"


def test_non_html_body_is_not_searched(peer: HTTPServer) -> None:
    url = serve(
        peer,
        "/notes.txt",
        '<link rel="webmention" href="/wm">',
        content_type="text/plain; charset=utf-8",
    )

    assert fetch_and_discover(url) is None


def test_xhtml_target_is_searched(peer: HTTPServer) -> None:
    base = base_of(peer)
    url = serve(
        peer,
        "/post.xhtml",
        page("Post", head='<link rel="webmention" href="/wm"/>'),
        content_type="application/xhtml+xml",
    )

    assert fetch_and_discover(url) == f"{base}/wm"


def test_endpoint_within_the_scanned_bytes_is_found_in_a_large_page(peer: HTTPServer) -> None:
    base = base_of(peer)
    filler = "<p>" + "words " * ((DISCOVERY_BYTES - 2000) // 6) + "</p>"
    body = filler + '<a rel="webmention" href="/wm">wm</a>' + filler * 4
    url = serve(peer, "/post", page("Post", body=body))

    assert fetch_and_discover(url) == f"{base}/wm"


def test_endpoint_beyond_the_scanned_bytes_is_not_found(peer: HTTPServer) -> None:
    filler = "<p>" + "words " * (DISCOVERY_BYTES // 6) + "</p>"
    url = serve(peer, "/post", page("Post", body=filler + '<a rel="webmention" href="/wm">wm</a>'))

    assert fetch_and_discover(url) is None


def test_discovery_is_one_get_with_the_user_agent(peer: HTTPServer) -> None:
    url = serve(peer, "/post", page("Post"))

    fetch_and_discover(url)

    assert len(peer.log) == 1
    request = last_request(peer)
    assert request.method == "GET"
    assert request.headers["User-Agent"] == UA


@pytest.mark.parametrize(("status", "retry"), [(404, False), (410, False), (503, True)])
def test_target_http_error_is_peer_http_error(peer: HTTPServer, status: int, retry: bool) -> None:
    url = serve(
        peer,
        "/post",
        page("Gone", head='<link rel="webmention" href="/wm">'),
        [("Link", "</wm>; rel=webmention")],
        status=status,
    )

    with pytest.raises(PeerHTTPError) as info:
        fetch_and_discover(url)

    assert info.value.status == status
    assert info.value.retry is retry


def test_unreachable_target_is_peer_unreachable(unused_port: int) -> None:
    with pytest.raises(PeerUnreachable) as info:
        fetch_and_discover(f"http://127.0.0.1:{unused_port}/post")

    assert not isinstance(info.value, PeerTimeout)
    assert info.value.retry is True


def hanging(peer: HTTPServer, path: str, method: str, release: threading.Event) -> None:
    def hang(request: Request) -> WerkzeugResponse:
        release.wait(5)
        return WerkzeugResponse(page("Slow"), status=202, content_type="text/html")

    peer.expect_request(path, method=method).respond_with_handler(hang)


def wait_for_log(peer: HTTPServer) -> None:
    # The server logs a request once its handler returns: wait so it cannot leak into another test.
    waited = time.monotonic() + 5
    while not peer.log and time.monotonic() < waited:
        time.sleep(0.01)


def test_hanging_target_is_peer_timeout(peer: HTTPServer) -> None:
    release = threading.Event()
    hanging(peer, "/slow", "GET", release)
    started = time.monotonic()
    try:
        with (
            override_settings(BACKLINKS={**BASE, "FETCH_DEADLINE": 1.0}),
            pytest.raises(PeerTimeout) as info,
        ):
            fetch_and_discover(peer.url_for("/slow"))
        assert time.monotonic() - started < 3
        assert info.value.retry is True
    finally:
        release.set()
        wait_for_log(peer)


# --- discover_endpoint_in without a network ------------------------------------------------------


def response(
    headers: dict[str, str], body: str = "", content_type: str = "text/html"
) -> fetch.Response:
    return fetch.Response(
        url="http://peer.example/blog/post",
        status=200,
        headers=CaseInsensitiveDict({"Content-Type": content_type, **headers}),
        content=body.encode("utf-8"),
    )


def test_utf8_link_header_url_is_decoded_as_sent() -> None:
    # http.client hands header bytes over as Latin-1.
    header = "</wm/café>; rel=webmention".encode().decode("latin-1")

    assert discover_endpoint_in(response({"Link": header})) == "http://peer.example/wm/café"


def test_empty_link_header_target_is_the_page_itself() -> None:
    assert discover_endpoint_in(response({"Link": "<>; rel=webmention"})) == (
        "http://peer.example/blog/post"
    )


def test_malformed_link_value_is_skipped() -> None:
    header = 'junk; rel=webmention, </a> junk; rel=webmention, </b>; rel="webmention'

    assert discover_endpoint_in(response({"Link": header})) == "http://peer.example/b"


_URL_CHARS = st.text(alphabet="abcxyz019/?=&;,-_~%", max_size=20)
_OTHER_RELS = st.lists(
    st.sampled_from(["other", "next", "not-webmention", "webmentions", "preload", "x-webmention"]),
    min_size=1,
    max_size=3,
).map(" ".join)


@given(
    others=st.lists(st.tuples(_URL_CHARS, _OTHER_RELS, st.booleans()), max_size=4),
    position=st.integers(min_value=0, max_value=4),
    endpoint=_URL_CHARS,
    rel_style=st.sampled_from(["webmention", '"webmention"', '"x webmention y"', "WebMention"]),
    extra=st.sampled_from(["", '; title="a, b; c"', "; type=text/html", '; anchor="#x"']),
)
def test_link_header_first_webmention_value_wins(
    others: list[tuple[str, str, bool]],
    position: int,
    endpoint: str,
    rel_style: str,
    extra: str,
) -> None:
    values = [
        f'</o/{url}>; rel="{rels}"' if quoted else f"</o/{url}>; rel={rels.split()[0]}"
        for url, rels, quoted in others
    ]
    values.insert(min(position, len(values)), f"</wm/{endpoint}>{extra}; rel={rel_style}")
    values.append("</wm/later>; rel=webmention")

    found = discover_endpoint_in(response({"Link": ", ".join(values)}))

    # Resolution is urljoin's (it drops an empty ";" parameter or "?" query, like every URL the
    # app resolves); this property is about picking the right link-value.
    assert found == urljoin("http://peer.example/blog/post", f"/wm/{endpoint}")


@given(header=st.text(max_size=200), body=st.text(max_size=400))
def test_discovery_of_any_answer_is_a_web_url_or_none(header: str, body: str) -> None:
    latin1_header = header.encode("utf-8").decode("latin-1")

    found = discover_endpoint_in(response({"Link": latin1_header}, body))

    assert found is None or urlsplit(found).scheme in ("http", "https")


# --- Sending -------------------------------------------------------------------------------------


def endpoint_answering(peer: HTTPServer, status: int, body: str = "", **headers: str) -> str:
    peer.expect_request("/webmention", method="POST").respond_with_data(
        body, status=status, headers=headers, content_type="text/html; charset=utf-8"
    )
    return peer.url_for("/webmention")


def test_send_posts_source_and_target_form_encoded(peer: HTTPServer) -> None:
    endpoint = endpoint_answering(peer, 202)
    target = "http://peer.example/post?id=5&x=a b"

    send(endpoint, SOURCE, target, user_agent=UA)

    assert_webmention_received(peer, "/webmention", target=target)
    assert last_request(peer).headers["Content-Type"] == FORM


def test_201_names_the_status_location(peer: HTTPServer) -> None:
    endpoint = endpoint_answering(peer, 201, Location="/webmention/status/42")

    result = send(endpoint, SOURCE, "http://peer.example/post", user_agent=UA)

    assert result == f"201 Created, status at {peer.url_for('/webmention/status/42')}"


def test_201_without_location(peer: HTTPServer) -> None:
    endpoint = endpoint_answering(peer, 201)

    assert send(endpoint, SOURCE, "http://peer.example/post", user_agent=UA) == "201 Created"


@pytest.mark.parametrize(
    ("status", "description"), [(200, "200 OK"), (202, "202 Accepted"), (204, "204 No Content")]
)
def test_any_2xx_is_success(peer: HTTPServer, status: int, description: str) -> None:
    endpoint = endpoint_answering(peer, status, "Thanks!" if status != 204 else "")

    assert send(endpoint, SOURCE, "http://peer.example/post", user_agent=UA) == description


def test_400_is_not_retried_and_keeps_a_short_reason(peer: HTTPServer) -> None:
    reason = "<h1>Bad Request</h1><p>Source does not link to target. " + "x" * 5000 + "</p>"
    endpoint = endpoint_answering(peer, 400, reason)

    with pytest.raises(PeerHTTPError) as info:
        send(endpoint, SOURCE, "http://peer.example/post", user_agent=UA)

    assert info.value.status == 400
    assert info.value.retry is False
    message = info.value.message
    assert message.startswith("HTTP 400: Bad Request Source does not link to target.")
    assert "<" not in message
    assert len(message) <= len("HTTP 400: ") + REASON_MAX_LENGTH
    assert str(info.value) == message


def test_400_without_body_is_the_bare_status(peer: HTTPServer) -> None:
    endpoint = endpoint_answering(peer, 400)

    with pytest.raises(PeerHTTPError) as info:
        send(endpoint, SOURCE, "http://peer.example/post", user_agent=UA)

    assert info.value.message == "HTTP 400"


@pytest.mark.parametrize("status", [429, 500, 503])
def test_429_and_5xx_are_retried(peer: HTTPServer, status: int) -> None:
    endpoint = endpoint_answering(peer, status, "Try later")

    with pytest.raises(PeerHTTPError) as info:
        send(endpoint, SOURCE, "http://peer.example/post", user_agent=UA)

    assert info.value.status == status
    assert info.value.retry is True


def test_hanging_endpoint_is_peer_timeout(peer: HTTPServer) -> None:
    release = threading.Event()
    hanging(peer, "/webmention", "POST", release)
    started = time.monotonic()
    try:
        with (
            override_settings(BACKLINKS={**BASE, "FETCH_DEADLINE": 1.0}),
            pytest.raises(PeerTimeout),
        ):
            send(peer.url_for("/webmention"), SOURCE, "http://peer.example/", user_agent=UA)
        assert time.monotonic() - started < 3
    finally:
        release.set()
        wait_for_log(peer)


def test_unreachable_endpoint_is_peer_unreachable(unused_port: int) -> None:
    with pytest.raises(PeerUnreachable):
        send(f"http://127.0.0.1:{unused_port}/wm", SOURCE, "http://peer.example/", user_agent=UA)


def test_307_redirected_endpoint_gets_the_post(peer: HTTPServer) -> None:
    peer.expect_request("/old-endpoint", method="POST").respond_with_data(
        "", status=307, headers={"Location": "/webmention"}
    )
    endpoint_answering(peer, 202)

    result = send(peer.url_for("/old-endpoint"), SOURCE, "http://peer.example/", user_agent=UA)

    assert result == "202 Accepted"
    assert_webmention_received(peer, "/webmention", target="http://peer.example/")


def test_302_redirected_endpoint_is_not_reported_as_delivered(peer: HTTPServer) -> None:
    peer.expect_request("/old-endpoint", method="POST").respond_with_data(
        "", status=302, headers={"Location": "/endpoint-page"}
    )
    serve(peer, "/endpoint-page", page("Our Webmention endpoint"))

    with pytest.raises(PeerHTTPError):
        send(peer.url_for("/old-endpoint"), SOURCE, "http://peer.example/", user_agent=UA)
