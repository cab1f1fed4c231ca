"""Receiving Webmentions: synchronous checks, queued verification, microformats, updates."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from pytest_httpserver import HTTPServer

from backlinks_django import inbound
from backlinks_django.models import (
    Backlink,
    InboundPing,
    Kind,
    MentionType,
    ModerationPolicy,
    SiteSettings,
    Status,
)
from tests.conftest import TARGET_HOST, page_linking_to
from tests.helpers import dummy_tasks, post_webmention
from tests.settings import BACKLINKS as BASE

pytestmark = pytest.mark.django_db


REPLY = """<html><head><title>Page title</title></head><body>
<article class="h-entry">
  <p class="p-name">Re: your article</p>
  <a class="u-author h-card" href="https://alice.example/"><img class="u-photo" src="/alice.jpg" alt="">Alice</a>
  <a class="u-in-reply-to" href="{target}">in reply to</a>
  <div class="e-content">Great <b>read</b>, thanks.</div>
  <time class="dt-published" datetime="2026-11-20T10:00:00Z">Nov 20</time>
</article></body></html>"""


def mention(client: Client, source: str, target: str, **extra) -> object:
    return post_webmention(client, {"source": source, "target": target}, **extra)


def send_and_verify(client, django_capture_on_commit_callbacks, source, target):
    with django_capture_on_commit_callbacks(execute=True):
        response = mention(client, source, target)
    return response


def test_valid_mention_is_201_with_status_url_then_verified(
    client, serve_source, article, article_url, django_capture_on_commit_callbacks
):
    source = serve_source(page_linking_to(article_url))

    response = send_and_verify(client, django_capture_on_commit_callbacks, source, article_url)

    assert response.status_code == 201
    status = client.get(response["Location"])
    assert status.json()["state"] == "accepted"
    backlink = Backlink.objects.get()
    assert (backlink.kind, backlink.status, backlink.target) == (
        Kind.WEBMENTION,
        Status.PENDING,
        article,
    )


def test_verification_is_queued_not_done_in_the_request(
    client, serve_source, article_url, httpserver, django_capture_on_commit_callbacks
):
    source = serve_source(page_linking_to(article_url))
    with dummy_tasks() as results:
        with django_capture_on_commit_callbacks(execute=True):
            response = mention(client, source, article_url)
        queued = list(results)

    assert response.status_code == 201
    request_id = response["Location"].rstrip("/").rsplit("/", 1)[1]
    assert [r.task.name for r in queued] == ["verify_inbound"]
    assert InboundPing.objects.get(pk=request_id).kind == Kind.WEBMENTION
    assert len(httpserver.log) == 0
    assert client.get(response["Location"]).json()["state"] == "queued"
    assert not Backlink.objects.exists()


@override_settings(BACKLINKS={**BASE, "WEBMENTION_STATUS": 202})
def test_202_when_configured(client, serve_source, article_url):
    response = mention(client, serve_source(page_linking_to(article_url)), article_url)

    assert response.status_code == 202
    assert "Location" not in response


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("", "{target}"),
        ("not a url", "{target}"),
        ("ftp://peer.example/post", "{target}"),
        ("{target}", "{target}"),
        ("http://peer.example/post", "http://elsewhere.example/articles/target/"),
        ("http://peer.example/post", f"{TARGET_HOST}/nowhere/"),
        ("http://peer.example/post", f"{TARGET_HOST}/articles/"),
    ],
    ids=["missing", "invalid", "ftp", "same", "other-site", "no-such-page", "not-an-object"],
)
def test_bad_requests_are_400(client, article_url, source, target):
    response = mention(
        client, source.format(target=article_url), target.format(target=article_url)
    )

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert not InboundPing.objects.exists()


def test_missing_target_field_is_400(client, site):
    assert post_webmention(client, {"source": "http://a.example/"}).status_code == 400


def test_closed_target_is_400(client, article, article_url):
    article.pings_open = False
    article.save()

    assert mention(client, "http://peer.example/p", article_url).status_code == 400


def test_switched_off_site_is_400(client, site, article_url):
    SiteSettings.objects.create(site=site, receive_webmentions=False)

    assert mention(client, "http://peer.example/p", article_url).status_code == 400


def test_fragment_in_target_is_ignored(
    client, serve_source, article, article_url, django_capture_on_commit_callbacks
):
    source = serve_source(page_linking_to(article_url))

    response = send_and_verify(
        client, django_capture_on_commit_callbacks, source, f"{article_url}#comments"
    )

    assert response.status_code == 201
    assert Backlink.objects.get().target_url == article_url


def test_get_is_405(client, site):
    assert client.get("/backlinks/webmention/").status_code == 405


@override_settings(BACKLINKS={**BASE, "RATE_LIMIT_PER_IP": (1, 60), "INBOUND_QUEUE_PER_SENDER": 1})
def test_sender_over_its_queue_share_is_429(client, article_url):
    mention(client, "http://peer.example/1", article_url)

    response = mention(client, "http://peer.example/2", article_url)

    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('<p><img src="{target}" alt=""></p>', "text/html"),
        ('<video src="{target}"></video>', "text/html"),
        ('{{"links": [{{"href": "{target}"}}]}}', "application/json"),
        ("I liked {target} a lot.", "text/plain"),
    ],
    ids=["img", "video", "json", "text"],
)
def test_mention_forms_that_count(
    client,
    httpserver: HTTPServer,
    article_url,
    django_capture_on_commit_callbacks,
    body,
    content_type,
):
    httpserver.expect_request("/m").respond_with_data(
        body.format(target=article_url), content_type=content_type
    )

    send_and_verify(
        client, django_capture_on_commit_callbacks, httpserver.url_for("/m"), article_url
    )

    assert Backlink.objects.count() == 1


def test_source_without_mention_is_rejected(
    client, serve_source, article_url, django_capture_on_commit_callbacks
):
    source = serve_source("<p>Nothing here.</p>")

    response = send_and_verify(client, django_capture_on_commit_callbacks, source, article_url)

    state = client.get(response["Location"]).json()
    assert state["state"] == "rejected"
    assert "does not link" in state["message"]
    assert not Backlink.objects.exists()


def test_microformats_give_type_author_content_and_date(
    client, serve_source, article_url, django_capture_on_commit_callbacks
):
    source = serve_source(REPLY.format(target=article_url))

    send_and_verify(client, django_capture_on_commit_callbacks, source, article_url)

    backlink = Backlink.objects.get()
    assert backlink.mention_type == MentionType.REPLY
    assert (backlink.author_name, backlink.author_url) == ("Alice", "https://alice.example/")
    assert backlink.author_photo.endswith("/alice.jpg")
    assert backlink.title == "Re: your article"
    assert backlink.excerpt == "Great read, thanks."
    assert backlink.published.isoformat() == "2026-11-20T10:00:00+00:00"


def resend_edited(client, httpserver, article_url, capture, first: str, second: str) -> Backlink:
    """Send a mention, approve it, then send it again after its source changed its title."""
    for title in (first, second):
        httpserver.expect_ordered_request("/post").respond_with_data(
            page_linking_to(article_url, title=title), content_type="text/html"
        )
    source = httpserver.url_for("/post")
    send_and_verify(client, capture, source, article_url)
    Backlink.objects.update(status=Status.APPROVED)
    send_and_verify(client, capture, source, article_url)
    return Backlink.objects.get()


def test_resent_mention_with_changed_content_is_moderated_again(
    client, httpserver: HTTPServer, article_url, django_capture_on_commit_callbacks
):
    backlink = resend_edited(
        client, httpserver, article_url, django_capture_on_commit_callbacks, "Fine", "CHEAP PILLS"
    )

    assert (backlink.title, backlink.status) == ("CHEAP PILLS", Status.PENDING)


@override_settings(BACKLINKS={**BASE, "BLOCKED_KEYWORDS": ["pills"]})
def test_resent_mention_turned_spam_is_caught_by_the_spam_checks(
    client, httpserver: HTTPServer, article_url, django_capture_on_commit_callbacks
):
    backlink = resend_edited(
        client, httpserver, article_url, django_capture_on_commit_callbacks, "Fine", "CHEAP PILLS"
    )

    assert backlink.status == Status.SPAM


def test_resent_mention_unchanged_stays_approved(
    client, httpserver: HTTPServer, article_url, django_capture_on_commit_callbacks
):
    backlink = resend_edited(
        client, httpserver, article_url, django_capture_on_commit_callbacks, "Same", "Same"
    )

    assert (backlink.title, backlink.status) == ("Same", Status.APPROVED)


def test_resent_mention_changed_is_approved_on_an_auto_approving_site(
    client, httpserver: HTTPServer, article_url, site, django_capture_on_commit_callbacks
):
    settings = SiteSettings.objects.for_site(site)
    settings.moderation = ModerationPolicy.AUTO_APPROVE
    settings.save()
    backlink = resend_edited(
        client, httpserver, article_url, django_capture_on_commit_callbacks, "Old", "New"
    )

    assert (backlink.title, backlink.status) == ("New", Status.APPROVED)


@pytest.mark.parametrize(
    ("status", "body"),
    [(410, "Gone"), (200, "<p>The link was removed.</p>")],
    ids=["410", "unlinked"],
)
def test_deleted_or_unlinked_source_removes_it_from_display(
    client,
    httpserver: HTTPServer,
    article,
    article_url,
    django_capture_on_commit_callbacks,
    status,
    body,
):
    httpserver.expect_ordered_request("/post").respond_with_data(
        page_linking_to(article_url), content_type="text/html"
    )
    httpserver.expect_ordered_request("/post").respond_with_data(
        body, status=status, content_type="text/html"
    )
    source = httpserver.url_for("/post")
    send_and_verify(client, django_capture_on_commit_callbacks, source, article_url)
    Backlink.objects.update(status=Status.APPROVED)

    response = send_and_verify(client, django_capture_on_commit_callbacks, source, article_url)

    assert client.get(response["Location"]).json()["state"] == "removed"
    backlink = Backlink.objects.get()  # kept for the record
    assert backlink.status == Status.REMOVED
    assert not Backlink.objects.for_object(article).approved().exists()


def test_pages_advertise_the_endpoint(client, article):
    response = client.get(article.get_absolute_url())

    assert response["Link"] == '<http://testserver/backlinks/webmention/>; rel="webmention"'


def test_webmention_link_tag():
    from django.template import Context, Template
    from django.test import RequestFactory

    out = Template("{% load backlinks %}{% webmention_link %}").render(
        Context({"request": RequestFactory().get("/")})
    )

    assert out == '<link rel="webmention" href="http://testserver/backlinks/webmention/">'


def test_status_of_unknown_request_is_404(client, site):
    assert (
        client.get("/backlinks/webmention/00000000-0000-0000-0000-000000000000/").status_code
        == 404
    )


@pytest.mark.parametrize(
    ("kind", "mention_type"),
    [("u-like-of", "like"), ("u-repost-of", "repost"), ("u-in-reply-to", "reply")],
)
def test_a_bridgy_copy_of_a_social_response_is_stored_with_its_original_url(
    client, serve_source, article_url, django_capture_on_commit_callbacks, kind, mention_type
):
    page = (
        '<html><body><article class="h-entry">'
        '<span class="p-author h-card"><a class="p-name u-url" href="https://social.example/al">'
        'Al</a><img class="u-photo" src="https://cdn.social.example/al.jpg" alt=""></span>'
        '<a class="u-url" href="https://social.example/al/status/5"></a>'
        '<div class="e-content p-name">Nice.</div>'
        f'<a class="{kind}" href="{article_url}"></a></article></body></html>'
    )
    source = serve_source(page)

    send_and_verify(client, django_capture_on_commit_callbacks, source, article_url)

    backlink = Backlink.objects.get()
    assert backlink.mention_type == mention_type
    assert (backlink.author_name, backlink.author_url) == ("Al", "https://social.example/al")
    assert backlink.original_url == "https://social.example/al/status/5"


def test_a_target_typed_without_its_trailing_slash_is_accepted(
    client, serve_source, article_url, django_capture_on_commit_callbacks
):
    source = serve_source(REPLY.format(target=article_url))

    response = send_and_verify(
        client, django_capture_on_commit_callbacks, source, article_url.rstrip("/")
    )

    assert response.status_code == 201
    assert Backlink.objects.get().mention_type == MentionType.REPLY


@pytest.mark.parametrize(
    "content_type", ["multipart/form-data; boundary=xyz", "application/json", "text/plain"]
)
def test_a_body_that_is_not_form_encoded_is_refused_unread(client, site, content_type):
    body = b"--xyz\r\n" + b"A" * 100_000  # never parsed: not even a complete multipart part
    response = client.post("/backlinks/webmention/", body, content_type=content_type)

    assert response.status_code == 400
    assert b"form-encoded" in response.content
    assert not Backlink.objects.exists()


def test_status_says_queued_while_a_worker_verifies_it(client, serve_source, article_url):
    from django.utils import timezone

    response = mention(client, serve_source(page_linking_to(article_url)), article_url)
    row = InboundPing.objects.get()
    inbound.claim(row.pk, timezone.now() + timezone.timedelta(minutes=1))

    assert client.get(response["Location"]).json()["state"] == "queued"
