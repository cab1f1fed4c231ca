"""Input that SQLite would store but PostgreSQL refuses: never a 500, never a failed task.

PostgreSQL text columns refuse NUL (``DataError``), varchar(n) refuses longer values and inet
refuses what is not an address; SQLite takes all three silently. So every entry point (the
three receivers, permalink lookups, fetched pages, links being sent, request metadata) answers
in its protocol or skips the value instead. CI runs this module on both databases.
"""

from __future__ import annotations

import xmlrpc.client
from urllib.parse import urlencode

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.cache.backends.base import InvalidCacheKey, memcache_key_warnings
from django.core.cache.backends.locmem import LocMemCache
from django.test import Client, override_settings

from backlinks_django import html, limits, send
from backlinks_django.admission import check_url
from backlinks_django.exceptions import InvalidRequest
from backlinks_django.models import (
    Backlink,
    BlockedDomain,
    InboundPing,
    OutboundPing,
    Outcome,
)
from tests.conftest import page_linking_to
from tests.helpers import post_webmention
from tests.settings import BACKLINKS as BASE
from tests.test_send import entry

pytestmark = [pytest.mark.hostile, pytest.mark.django_db]

CONTROLS = ["\x00", "\x01", "\x1b", "\x7f"]


@pytest.mark.parametrize("char", CONTROLS)
def test_urls_with_control_characters_are_invalid(char):
    with pytest.raises(InvalidRequest, match="control characters"):
        check_url(f"http://example.com/a{char}b", "source")


@pytest.mark.parametrize("char", CONTROLS)
@pytest.mark.parametrize("field", ["url", "title", "excerpt", "blog_name"])
def test_trackback_fields_with_control_characters(client: Client, article, char, field):
    """A control character in the URL is a trackback error; in the text it is dropped."""
    data = {
        "url": "http://source.example/post",
        "title": "Title",
        "excerpt": "Excerpt",
        "blog_name": "Blog",
    }
    data[field] = data[field] + char + "tail"
    content_type = ContentType.objects.get_for_model(article)
    with override_settings(BACKLINKS={**BASE, "VERIFY_TRACKBACKS": False}):
        response = client.post(
            f"/backlinks/trackback/{content_type.pk}/{article.pk}/",
            urlencode(data),
            content_type="application/x-www-form-urlencoded; charset=utf-8",
        )

    if field == "url":
        assert response.status_code == 400
        assert b"control characters" in response.content
        assert not Backlink.objects.exists()
    else:
        assert response.status_code == 200, response.content
        stored = Backlink.objects.get()
        assert getattr(stored, field) == data[field].replace(char, "")


@pytest.mark.parametrize("field", ["source", "target"])
def test_webmention_with_nul_in_a_url_is_400(client: Client, article_url, field):
    data = {"source": "http://source.example/post", "target": article_url}
    data[field] += "\x00"

    response = post_webmention(client, data)

    assert response.status_code == 400
    assert "control characters" in response.content.decode()
    assert not InboundPing.objects.exists()


@pytest.mark.parametrize("query", ["?p=%00", "?p=1%00", "?slug=%00"])
def test_target_query_that_decodes_to_nul_is_not_found(xmlrpc_call, article_url, query):
    """Permalink lookups decode the query; a NUL there must not reach the database."""
    with pytest.raises(xmlrpc.client.Fault) as fault:
        xmlrpc_call("pingback.ping", "http://source.example/post", f"http://testserver/{query}")

    assert fault.value.faultCode == 32


def test_get_pingbacks_of_a_nul_url_is_fault_0(xmlrpc_call, article_url):
    with pytest.raises(xmlrpc.client.Fault) as fault:
        xmlrpc_call("pingback.extensions.getPingbacks", "http://testserver/?p=%00")

    assert fault.value.faultCode == 32


def test_raw_nul_in_an_xml_rpc_body_is_a_parse_fault(client: Client, article_url):
    body = (
        "<?xml version='1.0'?><methodCall><methodName>pingback.ping</methodName><params>"
        "<param><value><string>http://source.example/\x00</string></value></param>"
        f"<param><value><string>{article_url}</string></value></param>"
        "</params></methodCall>"
    )
    response = client.post("/backlinks/xmlrpc/", body, content_type="text/xml")

    assert response.status_code == 200
    assert b"<name>faultCode</name>" in response.content
    assert b"-32700" in response.content


def test_source_page_links_with_control_characters_are_not_stored(
    client: Client, serve_source, article_url, django_capture_on_commit_callbacks
):
    """An author URL or photo with a NUL in a fetched h-card is dropped, the mention kept."""
    source = serve_source(
        '<html><body><article class="h-entry">'
        '<a class="u-author h-card" href="https://alice.example/\x00x">'
        '<img class="u-photo" src="/a\x00.jpg" alt="">Al\x00ice</a>'
        f'<p class="e-content">See <a href="{article_url}">this</a>.</p>'
        "</article></body></html>"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = post_webmention(client, {"source": source, "target": article_url})

    assert response.status_code == 201
    backlink = Backlink.objects.get()
    for value in (backlink.author_url, backlink.author_photo, backlink.author_name):
        assert "\x00" not in value
    assert backlink.author_name == "Alice"


def test_pingback_source_whose_page_has_nul_characters_is_stored(
    xmlrpc_call, serve_source, article_url
):
    source = serve_source(page_linking_to(article_url, title="Ti\x00tle", before="Be\x00fore"))

    xmlrpc_call("pingback.ping", source, article_url)

    backlink = Backlink.objects.get()
    assert backlink.title == "Title"
    assert "\x00" not in backlink.excerpt


def test_a_base_href_with_a_nul_spoils_the_relative_links_only():
    links = html.extract_links(
        '<base href="http://a.example/x\x00/"><a href="rel">1</a><a href="http://b.example/">2</a>',
        "http://site.example/",
    )

    assert links == ["http://b.example/"]


def test_links_with_control_characters_are_not_extracted():
    links = html.extract_links(
        '<a href="http://a.example/x\x00y">1</a><a href="http://b.example/\x1b">2</a>'
        '<a href="http://c.example/ok">3</a><a href="http://d.example/\tfine">4</a>',
        "http://site.example/",
    )

    assert links == ["http://c.example/ok", "http://d.example/fine"]


def test_sending_skips_a_link_with_a_nul(site, serve_source):
    """The sender pings the clean link and skips the other instead of failing on the database.

    The NUL is put into the content after saving: PostgreSQL could not store it in the
    article, but content may also be rendered (Markdown, templates) from elsewhere.
    """
    good = serve_source("<html><body>No endpoint here</body></html>", path="/good")
    article = entry("links", "<p>Nothing yet</p>")
    article.body = f'<p><a href="{good}\x00">bad</a> <a href="{good}">good</a></p>'

    send.send_object(article)

    assert list(OutboundPing.objects.values_list("target_url", flat=True)) == [good]


@pytest.mark.parametrize("q", ["\x00", "a\x00b"])
def test_admin_search_with_nul_is_not_a_500(admin_client, make_backlink, q):
    make_backlink()

    response = admin_client.get("/admin/backlinks_django/backlink/", {"q": q})

    assert response.status_code in (200, 400)


@pytest.mark.parametrize("remote_addr", ["unknown", "", "1.2.3.4, 5.6.7.8"])
def test_unparsable_remote_addr_is_stored_as_no_address(client: Client, article, remote_addr):
    """A proxy middleware may put anything into REMOTE_ADDR; PostgreSQL's inet refuses it."""
    content_type = ContentType.objects.get_for_model(article)
    with override_settings(BACKLINKS={**BASE, "VERIFY_TRACKBACKS": False}):
        response = client.post(
            f"/backlinks/trackback/{content_type.pk}/{article.pk}/",
            urlencode({"url": "http://source.example/post"}),
            content_type="application/x-www-form-urlencoded",
            REMOTE_ADDR=remote_addr,
            HTTP_USER_AGENT="Agent\x00/1.0\r\n  x",
        )

    assert response.status_code == 200, response.content
    stored = Backlink.objects.get()
    assert (stored.remote_ip, stored.user_agent) == (None, "Agent/1.0 x")


def test_webmention_request_keeps_a_clean_origin(client: Client, article_url):
    response = post_webmention(
        client,
        {"source": "http://source.example/post", "target": article_url},
        REMOTE_ADDR=" 10.0.0.1 ",
        HTTP_USER_AGENT="Bot\x00",
    )

    assert response.status_code == 201
    request = InboundPing.objects.get()
    assert (request.remote_ip, request.user_agent) == ("10.0.0.1", "Bot")


@pytest.mark.parametrize("ids", ["99999999999999999999/1", "1/99999999999999999999"])
def test_out_of_range_ids_in_the_trackback_url_are_an_error_answer(client: Client, article, ids):
    """PostgreSQL raises on integers beyond bigint; such an object does not exist."""
    response = client.post(
        f"/backlinks/trackback/{ids}/",
        urlencode({"url": "http://source.example/post"}),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 404
    assert b"<error>1</error>" in response.content


def test_out_of_range_permalink_id_is_fault_32(xmlrpc_call, article):
    with pytest.raises(xmlrpc.client.Fault) as fault:
        xmlrpc_call(
            "pingback.ping", "http://source.example/post", f"http://testserver/?p={10**20}"
        )

    assert fault.value.faultCode == 32


# --- Lengths: PostgreSQL enforces varchar(n), SQLite does not -----------------------------------


def test_sending_skips_links_too_long_to_store(site, serve_source):
    short = serve_source("<html><body>No endpoint here</body></html>", path="/short")
    long = short + "?" + "a" * limits.URL
    article = entry("long", f'<p><a href="{long}">long</a> <a href="{short}">short</a></p>')

    send.send_object(article)

    assert list(OutboundPing.objects.values_list("target_url", flat=True)) == [short]


@pytest.mark.parametrize("how", ["header", "link"])
def test_an_endpoint_too_long_to_store_is_no_endpoint(site, httpserver, how):
    endpoint = httpserver.url_for("/webmention?" + "e" * limits.URL)
    page = "<html><head>{}</head><body>Post</body></html>"
    if how == "header":
        httpserver.expect_request("/post").respond_with_data(
            page.format(""),
            content_type="text/html",
            headers={"Link": f'<{endpoint}>; rel="webmention"'},
        )
    else:
        httpserver.expect_request("/post").respond_with_data(
            page.format(f'<link rel="webmention" href="{endpoint}">'), content_type="text/html"
        )
    target = httpserver.url_for("/post")
    article = entry("mine", f'<p><a href="{target}">a post</a></p>')

    send.send_object(article)

    row = OutboundPing.objects.get()
    assert (row.outcome, row.endpoint) == (Outcome.NO_ENDPOINT, "")


def test_source_host_longer_than_a_dns_name_is_invalid():
    host = ".".join(["a" * 60] * 5)  # 304 characters
    with pytest.raises(InvalidRequest, match="host name is too long"):
        check_url(f"http://{host}/post", "source")


def test_blocking_a_host_too_long_for_dns_is_not_a_500(admin_client, make_backlink):
    """Rows stored before hosts were limited: the block action skips what cannot be a domain."""
    host = ".".join(["a" * 60] * 5)
    backlink = make_backlink(source_url=f"http://{host}/post")

    response = admin_client.post(
        "/admin/backlinks_django/backlink/",
        {"action": "block_domain", "_selected_action": [backlink.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [
        "The selected backlinks have no domain that can be blocked."
    ]
    assert not BlockedDomain.objects.exists()


# --- Peers' numbers and dates beyond what the columns hold ---------------------------------------

FAULT_STRUCT = (
    "<methodResponse><fault><value><struct>"
    "<member><name>faultCode</name><value>{code}</value></member>"
    "<member><name>faultString</name><value><string>x</string></value></member>"
    "</struct></value></fault></methodResponse>"
)


@pytest.mark.parametrize(
    "answer",
    [
        "<methodResponse><params><param><value><int>99999999999999999999</int></value></param>"
        "</params></methodResponse>",
        FAULT_STRUCT.format(code="<int>99999999999999999999</int>"),
        FAULT_STRUCT.format(code="<string>3000000000</string>"),
    ],
    ids=["code-as-result", "int-fault", "string-fault"],
)
def test_out_of_range_fault_code_from_a_peer_is_recorded_as_0(httpserver, site, answer):
    server = httpserver.url_for("/xmlrpc")
    httpserver.expect_request("/post").respond_with_data(
        "<html><body>post</body></html>", content_type="text/html", headers={"X-Pingback": server}
    )
    httpserver.expect_request("/xmlrpc", method="POST").respond_with_data(
        "<?xml version='1.0'?>" + answer, content_type="text/xml"
    )
    article = entry("mine", f'<p><a href="{httpserver.url_for("/post")}">x</a></p>')

    send.send_object(article)

    row = OutboundPing.objects.get()
    assert (row.outcome, row.fault_code) == (Outcome.REJECTED, 0)


@pytest.mark.parametrize(
    ("published", "stored"),
    [
        ("9999-12-31T23:00:00-05:00", None),  # year 10000 in UTC
        ("0001-01-01T01:00:00+05:00", None),  # year 0 in UTC
        ("2024-01-01T00:00:00+23:59", "2023-12-31T00:01:00+00:00"),  # beyond PostgreSQL's ±15:59
    ],
)
def test_published_dates_are_stored_in_utc_or_dropped(
    client: Client,
    admin_client,
    serve_source,
    article_url,
    django_capture_on_commit_callbacks,
    published,
    stored,
):
    source = serve_source(
        '<html><body><article class="h-entry">'
        f'<time class="dt-published" datetime="{published}">then</time>'
        f'<p class="e-content">See <a href="{article_url}">this</a>.</p></article></body></html>'
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = post_webmention(client, {"source": source, "target": article_url})

    assert response.status_code == 201
    assert InboundPing.objects.get().state == InboundPing.State.ACCEPTED
    backlink = Backlink.objects.get()
    assert (backlink.published and backlink.published.isoformat()) == stored
    assert admin_client.get("/admin/backlinks_django/backlink/").status_code == 200


# --- Cache keys: memcached refuses long keys, spaces and control characters ----------------------


class MemcachedKeyRules(LocMemCache):
    """The local-memory cache with memcached's key rules enforced, as Django's memcached does."""

    def validate_key(self, key: str) -> None:
        for warning in memcache_key_warnings(key):
            raise InvalidCacheKey(warning)


MEMCACHED_LIKE = {"default": {"BACKEND": f"{__name__}.MemcachedKeyRules"}}


@pytest.mark.parametrize(
    "source",
    [
        "http://a b.example/post",
        "http://" + ".".join(["a" * 60] * 4) + ".example/post",
        "http://пример.example/post",
    ],
    ids=["space", "long-host", "idn"],
)
@pytest.mark.parametrize("protocol", ["webmention", "pingback", "trackback"])
def test_rate_limit_keys_suit_memcached(article, article_url, source, protocol, no_dns):
    client = Client(raise_request_exception=False)
    with override_settings(CACHES=MEMCACHED_LIKE):
        if protocol == "webmention":
            response = post_webmention(client, {"source": source, "target": article_url})
        elif protocol == "pingback":
            response = client.post(
                "/backlinks/xmlrpc/",
                xmlrpc.client.dumps((source, article_url), "pingback.ping"),
                content_type="text/xml",
            )
        else:
            content_type = ContentType.objects.get_for_model(article)
            response = client.post(
                f"/backlinks/trackback/{content_type.pk}/{article.pk}/",
                urlencode({"url": source}),
                content_type="application/x-www-form-urlencoded",
            )

    assert response.status_code < 500


def test_trackback_url_with_a_nul_object_id_of_a_string_key_model_is_404(client: Client, site):
    """Integer keys refuse "a\\x00b" in Python; string keys would pass it to the database."""
    from django.contrib.sessions.models import Session

    from backlinks_django import registry

    registry.register(Session, content="session_data")
    try:
        content_type = ContentType.objects.get_for_model(Session)
        response = client.post(
            f"/backlinks/trackback/{content_type.pk}/a%00b/",
            urlencode({"url": "http://source.example/post"}),
            content_type="application/x-www-form-urlencoded",
        )
    finally:
        registry.unregister(Session)

    assert response.status_code == 404
    assert b"<error>1</error>" in response.content


@pytest.mark.parametrize(
    "path",
    [
        "/admin/backlinks_django/backlink/?status__exact=%00",
        "/admin/backlinks_django/backlink/?kind__exact=a%00",
        "/admin/backlinks_django/backlink/?source_url__startswith=%00",
        "/admin/backlinks_django/backlink/?_facets=1&status__exact=%00",
        "/admin/backlinks_django/outboundping/?outcome__exact=%00",
        "/admin/backlinks_django/blockeddomain/?domain=%00",
        "/admin/backlinks_django/sitesettings/?moderation__exact=%00",
        # Django's filters use every value of a repeated parameter, not only the last.
        "/admin/backlinks_django/backlink/?status__exact=%00&status__exact=pending",
    ],
)
def test_admin_filters_with_nul_are_400(admin_client, make_backlink, path):
    make_backlink()

    response = admin_client.get(path)

    assert response.status_code == 400
    assert b"NUL" in response.content


def test_admin_filters_still_work(admin_client, make_backlink):
    make_backlink()

    response = admin_client.get("/admin/backlinks_django/backlink/?status__exact=pending")

    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
