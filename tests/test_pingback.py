"""Pingback 1.0 receiving, end to end through the XML-RPC endpoint."""

from __future__ import annotations

import xmlrpc.client
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from pytest_httpserver import HTTPServer

from backlinks_django import __version__
from backlinks_django.models import Backlink, BlockedDomain, Kind, SiteSettings, Status
from tests.conftest import TARGET_HOST, page_linking_to
from tests.helpers import verify_queued
from tests.settings import BACKLINKS as BASE
from tests.testapp.models import Article, Note, Unregistered

pytestmark = pytest.mark.django_db

Call = Callable[..., Any]


def fault_of(call: Call, *params: Any) -> xmlrpc.client.Fault:
    with pytest.raises(xmlrpc.client.Fault) as info:
        call("pingback.ping", *params)
    return info.value


def test_ping_with_a_link_stores_a_pending_backlink(
    xmlrpc_call, serve_source, article_url, article
):
    source = serve_source(page_linking_to(article_url, title="Peer &amp; post"))

    answer = xmlrpc_call("pingback.ping", source, article_url)

    assert answer == f"Pingback from {source} to {article_url} registered."
    backlink = Backlink.objects.get()
    assert backlink.kind == Kind.PINGBACK
    assert backlink.status == Status.PENDING
    assert backlink.target == article
    assert backlink.target_url == article_url
    assert backlink.source_url == source
    assert backlink.title == "Peer & post"
    assert "the target" in backlink.excerpt
    assert "Words before the link" in backlink.excerpt
    assert backlink.remote_ip == "127.0.0.1"


def test_verification_request_names_app_site_and_caller(
    xmlrpc_call, serve_source, article_url, httpserver: HTTPServer
):
    source = serve_source(page_linking_to(article_url))

    xmlrpc_call("pingback.ping", source, article_url)

    request, _ = httpserver.log[0]
    agent = request.headers["User-Agent"]
    assert (
        agent == f"backlinks_django/{__version__}; testserver; verifying pingback from 127.0.0.1"
    )
    assert request.headers["X-Pingback-Forwarded-For"] == "127.0.0.1"


def test_relative_link_on_the_source_counts(xmlrpc_call, serve_source, article, httpserver):
    # The source lives on the peer; its link is relative to its own page, so
    # it only resolves to our article when the peer serves that path too. Use
    # an absolute path on our host through <base>.
    html = (
        f'<html><head><base href="{TARGET_HOST}/"><title>t</title></head>'
        f'<body><p>See <a href="{article.get_absolute_url()}">this</a>.</p></body></html>'
    )
    source = serve_source(html)

    xmlrpc_call("pingback.ping", source, f"{TARGET_HOST}{article.get_absolute_url()}")

    assert Backlink.objects.count() == 1


def test_query_string_permalink_resolves_and_matches(xmlrpc_call, serve_source, site):
    note = Note.objects.create(text="hi")
    other = Note.objects.create(text="other")
    target = f"{TARGET_HOST}/notes/?p={note.pk}"
    source = serve_source(page_linking_to(target))

    xmlrpc_call("pingback.ping", source, target)

    assert Backlink.objects.get().target == note
    assert not Backlink.objects.for_object(other).exists()


def test_link_to_other_query_is_fault_17(xmlrpc_call, serve_source, site):
    note = Note.objects.create(text="hi")
    source = serve_source(page_linking_to(f"{TARGET_HOST}/notes/?p={note.pk}0"))

    fault = fault_of(xmlrpc_call, source, f"{TARGET_HOST}/notes/?p={note.pk}")

    assert fault.faultCode == 17


def test_url_normalisation_matches_host_case_port_and_slash(xmlrpc_call, serve_source, article):
    source = serve_source(
        page_linking_to(f"HTTP://TestServer:80{article.get_absolute_url()[:-1]}")
    )

    xmlrpc_call("pingback.ping", source, f"{TARGET_HOST}{article.get_absolute_url()}")

    assert Backlink.objects.count() == 1


def test_source_without_link_is_fault_17(xmlrpc_call, serve_source, article_url):
    source = serve_source(f"<html><body><p>Text mentions {article_url} only.</p></body></html>")

    assert fault_of(xmlrpc_call, source, article_url).faultCode == 17
    assert not Backlink.objects.exists()


def test_unreachable_source_is_fault_16(xmlrpc_call, article_url, unused_port):
    fault = fault_of(xmlrpc_call, f"http://127.0.0.1:{unused_port}/gone", article_url)

    assert fault.faultCode == 16


def test_source_answering_404_is_fault_16(xmlrpc_call, serve_source, article_url):
    source = serve_source(page_linking_to(article_url), status=404)

    assert fault_of(xmlrpc_call, source, article_url).faultCode == 16


@override_settings(BACKLINKS={"ALLOWED_PORTS": None})
def test_loopback_source_is_refused_by_default_with_fault_16(
    xmlrpc_call, serve_source, article_url, httpserver
):
    source = serve_source(page_linking_to(article_url))

    fault = fault_of(xmlrpc_call, source, article_url)

    assert fault.faultCode == 16
    assert len(httpserver.log) == 0


def test_fault_strings_do_not_leak_exception_names(xmlrpc_call, article_url, unused_port):
    fault = fault_of(xmlrpc_call, f"http://127.0.0.1:{unused_port}/", article_url)

    assert "Error" not in fault.faultString
    assert "Exception" not in fault.faultString
    assert "Traceback" not in fault.faultString


def test_source_equal_to_target_is_fault_0(xmlrpc_call, article_url):
    assert fault_of(xmlrpc_call, article_url, article_url).faultCode == 0


def test_unknown_path_is_fault_32(xmlrpc_call, serve_source, site):
    target = f"{TARGET_HOST}/nowhere/"
    source = serve_source(page_linking_to(target))

    assert fault_of(xmlrpc_call, source, target).faultCode == 32


def test_missing_object_is_fault_32(xmlrpc_call, serve_source, site):
    target = f"{TARGET_HOST}/articles/no-such-slug/"
    source = serve_source(page_linking_to(target))

    assert fault_of(xmlrpc_call, source, target).faultCode == 32


def test_other_host_is_fault_33(xmlrpc_call, serve_source, article):
    target = f"http://elsewhere.example{article.get_absolute_url()}"
    source = serve_source(page_linking_to(target))

    assert fault_of(xmlrpc_call, source, target).faultCode == 33


def test_unregistered_model_page_is_fault_33(xmlrpc_call, serve_source, site):
    obj = Unregistered.objects.create(name="x")
    target = f"{TARGET_HOST}{obj.get_absolute_url()}"
    source = serve_source(page_linking_to(target))

    assert fault_of(xmlrpc_call, source, target).faultCode == 33


def test_list_view_of_a_registered_model_is_fault_33(xmlrpc_call, serve_source, article):
    target = f"{TARGET_HOST}/articles/"
    source = serve_source(page_linking_to(target))

    assert fault_of(xmlrpc_call, source, target).faultCode == 33


def test_closed_pings_are_fault_33(xmlrpc_call, serve_source, article, article_url):
    article.pings_open = False
    article.save()
    source = serve_source(page_linking_to(article_url))

    assert fault_of(xmlrpc_call, source, article_url).faultCode == 33


def test_unpublished_target_answers_as_a_missing_one(
    xmlrpc_call, serve_source, article, article_url
):
    """A draft's URL must not be told apart from a mistyped one: fault 32 for both."""
    source = serve_source(page_linking_to(article_url))
    missing = fault_of(xmlrpc_call, source, article_url.replace("/target/", "/no-such/"))
    article.published_at = timezone.now() + timezone.timedelta(days=1)
    article.save()

    draft = fault_of(xmlrpc_call, source, article_url)

    assert (
        (draft.faultCode, draft.faultString)
        == (missing.faultCode, missing.faultString)
        == (
            32,
            "The target URL does not exist.",
        )
    )


def test_get_pingbacks_of_a_draft_answers_as_a_missing_page(xmlrpc_call, article, article_url):
    article.published_at = timezone.now() + timezone.timedelta(days=1)
    article.save()

    with pytest.raises(xmlrpc.client.Fault) as draft:
        xmlrpc_call("pingback.extensions.getPingbacks", article_url)
    with pytest.raises(xmlrpc.client.Fault) as missing:
        xmlrpc_call("pingback.extensions.getPingbacks", article_url.replace("/target/", "/x/"))

    assert draft.value.faultCode == missing.value.faultCode == 32


def test_pings_close_after_configured_days(xmlrpc_call, serve_source, article, article_url):
    article.published_at = timezone.now() - timezone.timedelta(days=31)
    article.save()
    source = serve_source(page_linking_to(article_url))

    with override_settings(
        BACKLINKS={**BASE, "ALLOWED_NETWORKS": ["127.0.0.0/8"], "CLOSE_AFTER_DAYS": 30}
    ):
        assert fault_of(xmlrpc_call, source, article_url).faultCode == 33
    with override_settings(
        BACKLINKS={**BASE, "ALLOWED_NETWORKS": ["127.0.0.0/8"], "CLOSE_AFTER_DAYS": 60}
    ):
        xmlrpc_call("pingback.ping", source, article_url)
    assert Backlink.objects.count() == 1


def test_site_switch_off_is_fault_33(xmlrpc_call, serve_source, site, article_url):
    SiteSettings.objects.create(site=site, receive_pingbacks=False)
    source = serve_source(page_linking_to(article_url))

    assert fault_of(xmlrpc_call, source, article_url).faultCode == 33


def test_duplicate_pingback_is_fault_48(xmlrpc_call, serve_source, article_url):
    source = serve_source(page_linking_to(article_url))
    xmlrpc_call("pingback.ping", source, article_url)

    assert fault_of(xmlrpc_call, source, article_url).faultCode == 48
    assert Backlink.objects.count() == 1


def test_duplicate_is_refused_before_fetching(xmlrpc_call, serve_source, article_url, httpserver):
    source = serve_source(page_linking_to(article_url))
    xmlrpc_call("pingback.ping", source, article_url)

    fault_of(xmlrpc_call, source, article_url)

    assert len(httpserver.log) == 1


def test_blocked_domain_is_fault_49_without_fetching(
    xmlrpc_call, serve_source, article_url, httpserver
):
    BlockedDomain.objects.create(domain="localhost")
    source = serve_source(page_linking_to(article_url))

    assert fault_of(xmlrpc_call, source, article_url).faultCode == 49
    assert len(httpserver.log) == 0


def test_auto_approve_policy_approves_verified_pingbacks(
    xmlrpc_call, serve_source, site, article_url
):
    SiteSettings.objects.create(site=site, moderation="auto")
    source = serve_source(page_linking_to(article_url))

    xmlrpc_call("pingback.ping", source, article_url)

    assert Backlink.objects.get().status == Status.APPROVED


@pytest.mark.parametrize(
    "params",
    [(), ("http://a.example/",), ("a", "b", "c"), (1, 2), ("http://a.example/", ["x"])],
    ids=["none", "one", "three", "ints", "list"],
)
def test_wrong_arguments_are_fault_0(xmlrpc_call, params):
    with pytest.raises(xmlrpc.client.Fault) as info:
        xmlrpc_call("pingback.ping", *params)

    assert info.value.faultCode == 0
    assert "pingback.ping takes 2 string arguments" in info.value.faultString


@pytest.mark.parametrize(
    "source", ["not a url", "ftp://peer.example/x", "javascript:alert(1)", "http://" + "a" * 3000]
)
def test_invalid_source_url_is_fault_0(xmlrpc_call, article_url, source):
    assert fault_of(xmlrpc_call, source, article_url).faultCode == 0


def test_get_pingbacks_lists_approved_sources_only(xmlrpc_call, make_backlink, article_url):
    approved = make_backlink(Status.APPROVED)
    make_backlink(Status.PENDING)
    make_backlink(Status.SPAM)
    make_backlink(Status.REJECTED)

    assert xmlrpc_call("pingback.extensions.getPingbacks", article_url) == [approved.source_url]


def test_get_pingbacks_for_unknown_target_is_fault_32(xmlrpc_call, site):
    with pytest.raises(xmlrpc.client.Fault) as info:
        xmlrpc_call("pingback.extensions.getPingbacks", f"{TARGET_HOST}/articles/none/")

    assert info.value.faultCode == 32


def post_xml(client: Client, body: bytes | str) -> xmlrpc.client.Fault:
    response = client.post("/backlinks/xmlrpc/", body, content_type="text/xml")
    assert response.status_code == 200
    with pytest.raises(xmlrpc.client.Fault) as info:
        xmlrpc.client.loads(response.content)
    return info.value


def test_system_multicall_is_not_exposed(client, site):
    body = xmlrpc.client.dumps(
        ([{"methodName": "pingback.ping", "params": ["a", "b"]}],), "system.multicall"
    )

    assert post_xml(client, body).faultCode == -32601


def test_unknown_method_is_a_fault(client, site):
    assert post_xml(client, xmlrpc.client.dumps((), "system.listMethods")).faultCode == -32601


@pytest.mark.parametrize(
    "body", [b"", b"not xml", b"<methodCall><methodName>x</methodName>", b"\xff\xfe"]
)
def test_malformed_body_is_parse_fault(client, site, body):
    assert post_xml(client, body).faultCode == -32700


def test_entity_expansion_is_refused(client, site):
    body = (
        '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        "<methodCall><methodName>pingback.ping</methodName><params>"
        "<param><value><string>&b;</string></value></param></params></methodCall>"
    )
    assert post_xml(client, body).faultCode == -32700


def test_external_entity_is_refused(client, site):
    body = (
        '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<methodCall><methodName>pingback.ping</methodName><params>"
        "<param><value><string>&x;</string></value></param></params></methodCall>"
    )
    assert post_xml(client, body).faultCode == -32700


@override_settings(BACKLINKS={**BASE, "XMLRPC_MAX_BODY": 100})
def test_body_over_the_limit_is_refused_before_parsing(client, site):
    body = xmlrpc.client.dumps(
        ("http://a.example/" + "x" * 200, "http://b.example/"), "pingback.ping"
    )

    fault = post_xml(client, body)

    assert fault.faultCode == -32600
    assert "too large" in fault.faultString


def test_get_on_the_endpoint_is_405_plain_text(client, site):
    response = client.get("/backlinks/xmlrpc/")

    assert response.status_code == 405
    assert response["Content-Type"].startswith("text/plain")
    assert response["Allow"] == "POST"


def test_python_xmlrpc_client_against_live_server(live_server, httpserver, db):
    from django.contrib.sites.models import Site

    Site.objects.filter(pk=1).update(domain=live_server.url.removeprefix("http://"))
    article = Article.objects.create(title="Live", slug="live", published_at=timezone.now())
    target = f"{live_server.url}{article.get_absolute_url()}"
    httpserver.expect_request("/post").respond_with_data(
        page_linking_to(target), content_type="text/html"
    )
    proxy = xmlrpc.client.ServerProxy(f"{live_server.url}/backlinks/xmlrpc/")

    answer = proxy.pingback.ping(httpserver.url_for("/post"), target)

    assert "registered" in answer
    assert Backlink.objects.get().status == Status.PENDING
    with pytest.raises(xmlrpc.client.Fault) as info:
        proxy.pingback.ping(httpserver.url_for("/post"), target)
    assert info.value.faultCode == 48


def test_protocol_relative_link_counts(xmlrpc_call, serve_source, article, article_url):
    source = serve_source(page_linking_to(f"//testserver{article.get_absolute_url()}"))

    xmlrpc_call("pingback.ping", source, article_url)

    assert Backlink.objects.count() == 1


# --- real-world sources: twins of our URLs, microformats -----------------------------------


@pytest.mark.parametrize(
    ("linked", "pinged"),
    [
        ("https://testserver/articles/target/", "http://testserver/articles/target/"),
        ("http://testserver/articles/target", "http://testserver/articles/target/"),
        ("http://testserver/articles/target/", "http://testserver/articles/target"),
        ("https://testserver/articles/target", "http://testserver/articles/target"),
    ],
    ids=["https-link", "link-without-slash", "target-without-slash", "both"],
)
def test_twins_of_our_url_in_the_link_or_the_target_name_the_same_entry(
    xmlrpc_call, serve_source, article, linked, pinged
):
    # Sources link to us by http:// or https://, with or without the trailing slash; senders
    # name the target either way too (WordPress accepts both; APPEND_SLASH redirects).
    source = serve_source(page_linking_to(linked))

    xmlrpc_call("pingback.ping", source, pinged)

    backlink = Backlink.objects.get()
    assert (backlink.target, backlink.target_url) == (article, pinged)


def test_a_pingback_reads_the_sources_microformats_too(
    xmlrpc_call, serve_source, article_url, article
):
    page = (
        "<html><head><title>Page title</title></head><body>"
        '<article class="h-entry"><a class="p-author h-card" href="https://alice.example/">'
        "Alice</a>"
        f'<p class="e-content">Replying to <a class="u-in-reply-to" href="{article_url}">it</a>.'
        '</p><a class="u-url" href="https://social.example/alice/1"></a></article></body></html>'
    )
    source = serve_source(page)

    xmlrpc_call("pingback.ping", source, article_url)

    backlink = Backlink.objects.get()
    assert (backlink.mention_type, backlink.author_name) == ("reply", "Alice")
    assert backlink.original_url == "https://social.example/alice/1"
    # A pingback keeps its tradition: the page's title and the words around the link.
    assert backlink.title == "Page title"
    assert "Replying to" in backlink.excerpt


def test_microformats_are_read_from_the_start_of_a_page_only(
    xmlrpc_call, serve_source, article_url
):
    # A tree costs far more than the link search: only the first limits.MICROFORMATS characters
    # become one, so a page cannot make the verifying process build a tree of a megabyte.
    from backlinks_django import limits

    card = '<div class="h-entry"><a class="p-author h-card" href="https://a.example/">Al</a></div>'
    filler = "<p>" + "x" * limits.MICROFORMATS + "</p>"
    source = serve_source(page_linking_to(article_url, before=filler + card))

    # A page this large is verified by a task, not in the request.
    assert "queued" in xmlrpc_call("pingback.ping", source, article_url)
    verify_queued()

    assert Backlink.objects.get().author_name == ""
