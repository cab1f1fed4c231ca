"""Sending an object's pings: which links, self-pings in-process, Webmention updates."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.utils import timezone

from backlinks_django import send
from backlinks_django.choices import Kind, Outcome, Status
from backlinks_django.models import Backlink, OutboundPing, SiteSettings
from backlinks_django.signals import backlink_received
from tests.helpers import (
    LOOPBACK,
    Peer,
    connected,
    entry,
    links,
    local_server,
    outbound_row,
    outcomes,
    self_link,
)
from tests.testapp.models import Article

pytestmark = pytest.mark.django_db


# --- which links, and when -----------------------------------------------------------------


@override_settings(BACKLINKS=LOOPBACK)
def test_save_pings_a_linked_peer_through_the_task(
    httpserver, site, django_capture_on_commit_callbacks
):
    peer = Peer(httpserver)
    target = peer.page("/post")

    with django_capture_on_commit_callbacks(execute=True):
        article = Article.objects.create(
            title="Mine", slug="mine", body=links(target), published_at=timezone.now()
        )

    assert peer.calls == [("http://testserver/articles/mine/", target)]
    row = OutboundPing.objects.get()
    assert (row.outcome, row.protocol, row.endpoint, row.attempts, row.message) == (
        Outcome.SUCCESS,
        Kind.PINGBACK,
        httpserver.url_for("/xmlrpc"),
        1,
        "Registered. Thanks!",
    )
    assert row.source == article


@override_settings(BACKLINKS=LOOPBACK)
def test_saving_again_without_new_links_sends_nothing_and_one_new_link_one_ping(httpserver, site):
    peer = Peer(httpserver)
    first, second = peer.page("/one"), peer.page("/two")
    article = entry("mine", links(first))
    send.send_object(article)
    send.send_object(article)
    assert len(peer.calls) == 1

    article.body = links(first, second)
    send.send_object(article)

    assert [call[1] for call in peer.calls] == [first, second]


@override_settings(BACKLINKS=LOOPBACK)
def test_links_are_resolved_deduplicated_and_keep_query_strings(httpserver, site):
    peer = Peer(httpserver)
    base = httpserver.url_for("/").rstrip("/")
    peer.page("/post")
    article = entry(
        "mine",
        f'<a href="{base}/post?p=5#c1">a</a> <a href="{base}/post?p=5">b</a> '
        f'<a href="{base}/">front page</a> <a href="mailto:x@example.com">m</a> '
        '<a href="/articles/mine/">me</a>',
    )

    send.send_object(article)

    assert sorted(outcomes(article)) == [f"{base}/post?p=5"]
    assert peer.calls == [("http://testserver/articles/mine/", f"{base}/post?p=5")]


@override_settings(BACKLINKS=LOOPBACK)
def test_a_requested_trackback_is_sent_and_sent_again_when_forced(httpserver, site):
    peer = Peer(httpserver)
    article = entry("mine", "<p>No links.</p>")
    url = httpserver.url_for("/trackback")
    outbound_row(article, url, endpoint=url, protocol=Kind.TRACKBACK, requested=True)

    send.send_object(article)
    send.send_object(article, force=True)

    assert len(peer.trackbacks) == 2
    assert OutboundPing.objects.get().outcome == Outcome.SUCCESS


def test_the_site_switch_turns_sending_off(httpserver, site):
    SiteSettings.objects.create(site=site, send_pings=False)
    peer = Peer(httpserver)
    with override_settings(BACKLINKS=LOOPBACK):
        send.send_object(entry("mine", links(peer.page("/post"))))

    assert peer.calls == []
    assert not OutboundPing.objects.exists()


@override_settings(BACKLINKS=LOOPBACK)
def test_a_failing_peer_does_not_break_the_save(
    httpserver, site, django_capture_on_commit_callbacks
):
    peer = Peer(httpserver, status=500)
    target = peer.page("/post")

    with django_capture_on_commit_callbacks(execute=True):
        article = Article.objects.create(
            title="A", slug="a", body=links(target), published_at=timezone.now()
        )

    assert Article.objects.filter(pk=article.pk).exists()
    assert OutboundPing.objects.get().outcome == Outcome.HTTP_ERROR


@override_settings(BACKLINKS=LOOPBACK)
def test_update_resends_webmentions_to_old_and_new_targets_but_not_pingbacks(httpserver, site):
    mentions = Peer(httpserver, discovery="webmention")
    old, new = mentions.page("/old"), mentions.page("/new")
    with local_server() as server:
        pings = Peer(server)
        pinged = pings.page("/p")
        article = entry("mine", links(old, pinged))
        send.send_object(article)

        article.body = links(new, pinged)  # the link to /old was removed
        send.send_object(article)

    assert sorted(t for _, t in mentions.webmentions) == sorted([old, old, new])
    assert len(pings.calls) == 1


@override_settings(BACKLINKS=LOOPBACK)
def test_a_webmention_target_that_refused_the_last_notice_hears_of_the_next_save(httpserver, site):
    # Receivers may answer 400 to the notice that a link is gone; when the link comes back,
    # the receiver must still be told (a refusal is not a reason to stop telling it news).
    mentions = Peer(httpserver, discovery="webmention")
    target = mentions.page("/post")
    article = entry("mine", links(target))
    send.send_object(article)
    OutboundPing.objects.update(outcome=Outcome.HTTP_ERROR, message="HTTP 400")

    send.send_object(article)

    assert [t for _, t in mentions.webmentions] == [target, target]
    assert OutboundPing.objects.get().outcome == Outcome.SUCCESS


# --- self-pings ----------------------------------------------------------------------------


@override_settings(BACKLINKS=LOOPBACK)
def test_self_ping_lands_a_pending_backlink_in_process(site):
    target = entry("target", "<p>Hi</p>")
    source = entry("source", links(self_link(target)))

    send.send_object(source)

    backlink = Backlink.objects.get()
    assert (backlink.target, backlink.status, backlink.source_url) == (
        target,
        Status.PENDING,
        "http://testserver/articles/source/",
    )
    assert (backlink.title, backlink.blog_name) == ("Source", "Test site")
    assert "this" in backlink.excerpt
    assert OutboundPing.objects.get().outcome == Outcome.SUCCESS


@override_settings(BACKLINKS=LOOPBACK)
def test_self_pings_off_are_skipped_and_the_switch_applies_to_the_next_save(site):
    target = entry("target", "<p>Hi</p>")
    source = entry("source", links(self_link(target)))
    settings_row = SiteSettings.objects.create(site=site, self_pings=False)

    send.send_object(source)
    assert OutboundPing.objects.get().outcome == Outcome.SKIPPED
    assert not Backlink.objects.exists()

    settings_row.self_pings = True
    settings_row.save()
    send.send_object(source, force=True)
    assert OutboundPing.objects.get().outcome == Outcome.SUCCESS
    assert Backlink.objects.count() == 1


@override_settings(BACKLINKS=LOOPBACK)
def test_self_ping_to_closed_target_is_a_fault(site):
    target = entry("target", "<p>Hi</p>", pings_open=False)
    source = entry("source", links(self_link(target)))

    send.send_object(source)

    row = OutboundPing.objects.get()
    assert (row.outcome, row.fault_code) == (Outcome.FAULT, 33)


@override_settings(BACKLINKS=LOOPBACK)
def test_a_self_ping_failing_unexpectedly_is_recorded_and_the_other_links_still_sent(
    httpserver, site
):
    peer = Peer(httpserver)
    target = entry("target", "<p>Hi</p>")
    remote = peer.page("/post")
    source = entry("source", links(self_link(target), remote))

    def buggy_receiver(**kwargs):  # e.g. a site's backlink_received receiver, or a custom check
        raise RuntimeError("bug in a receiver")

    with connected(backlink_received, buggy_receiver):
        send.send_object(source)

    assert peer.calls == [("http://testserver/articles/source/", remote)]
    assert outcomes(source) == {self_link(target): Outcome.UNREACHABLE, remote: Outcome.SUCCESS}
    assert not OutboundPing.objects.filter(claimed_until__isnull=False).exists()
