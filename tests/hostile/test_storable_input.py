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
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone

from backlinks_django import html, send
from backlinks_django.exceptions import InvalidRequest
from backlinks_django.models import (
    Backlink,
    BlockedDomain,
    OutboundPing,
    Outcome,
    WebmentionRequest,
)
from backlinks_django.receive import check_url
from tests.conftest import page_linking_to
from tests.settings import BACKLINKS as BASE
from tests.testapp.models import Article

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

    response = client.post("/backlinks/webmention/", data)

    assert response.status_code == 400
    assert "control characters" in response.content.decode()
    assert not WebmentionRequest.objects.exists()


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
        response = client.post("/backlinks/webmention/", {"source": source, "target": article_url})

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
    with transaction.atomic():  # no on_commit: send_pings is called directly below
        article = Article.objects.create(
            title="Links",
            slug="links",
            body="<p>Nothing yet</p>",
            published_at=timezone.now() - timezone.timedelta(hours=1),
        )
    article.body = f'<p><a href="{good}\x00">bad</a> <a href="{good}">good</a></p>'

    send.send_pings(article)

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
    response = client.post(
        "/backlinks/webmention/",
        {"source": "http://source.example/post", "target": article_url},
        REMOTE_ADDR=" 10.0.0.1 ",
        HTTP_USER_AGENT="Bot\x00",
    )

    assert response.status_code == 201
    request = WebmentionRequest.objects.get()
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
    long = short + "?" + "a" * html.URL_MAX_LENGTH
    with transaction.atomic():
        article = Article.objects.create(
            title="Long",
            slug="long",
            body=f'<p><a href="{long}">long</a> <a href="{short}">short</a></p>',
            published_at=timezone.now() - timezone.timedelta(hours=1),
        )

    send.send_pings(article)

    assert list(OutboundPing.objects.values_list("target_url", flat=True)) == [short]


@pytest.mark.parametrize("how", ["header", "link"])
def test_an_endpoint_too_long_to_store_is_no_endpoint(site, httpserver, how):
    endpoint = httpserver.url_for("/webmention?" + "e" * html.URL_MAX_LENGTH)
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
    with transaction.atomic():
        article = Article.objects.create(
            title="Mine",
            slug="mine",
            body=f'<p><a href="{target}">a post</a></p>',
            published_at=timezone.now() - timezone.timedelta(hours=1),
        )

    send.send_pings(article)

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
