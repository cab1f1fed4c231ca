"""Deletion notices: a deleted object's Webmention targets are told, whatever else is sending."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.utils import timezone

from backlinks_django import send
from backlinks_django.choices import Outcome
from backlinks_django.models import OutboundPing
from backlinks_django.protocols import webmention
from backlinks_django.results import Result
from tests.helpers import (
    LOOPBACK,
    Peer,
    claimed_elsewhere,
    entry,
    links,
    outcomes,
    sent_webmention,
)
from tests.testapp.models import Article

pytestmark = pytest.mark.django_db

ELSEWHERE = "https://peer.example/post/"
GONE = "https://me.example/gone/"


@pytest.mark.django_db(transaction=True)
def test_deleting_an_object_resends_its_webmentions(httpserver, site):
    peer = Peer(httpserver, discovery="webmention")
    target = peer.page("/post")
    with override_settings(BACKLINKS=LOOPBACK):
        article = Article.objects.create(
            title="Mine", slug="mine", body=links(target), published_at=timezone.now()
        )
        assert len(peer.webmentions) == 1  # sent on commit by the immediate backend

        article.delete()

    assert peer.webmentions == [("http://testserver/articles/mine/", target)] * 2
    assert OutboundPing.objects.get().attempts == 2


@override_settings(BACKLINKS=LOOPBACK)
def test_deleting_during_a_send_notifies_the_target_and_the_older_result_is_dropped(
    httpserver, site
):
    peer = Peer(httpserver, discovery="webmention")
    article = entry("mine", links(ELSEWHERE))
    row = sent_webmention(article, endpoint=httpserver.url_for("/webmention"))
    held = claimed_elsewhere()  # a save's task is sending the row

    send.notify_deleted(row.content_type_id, row.object_id, GONE)
    # The save's task finishes later: its older result is not recorded over the notice.
    assert not held.record_result(Result(Outcome.FAULT, message="older"))

    assert peer.webmentions == [(GONE, ELSEWHERE)]
    stored = OutboundPing.objects.get()
    assert (stored.outcome, stored.message, stored.claimed_until) == (
        Outcome.SUCCESS,
        "202 Accepted",
        None,
    )


def test_a_notice_is_stored_even_when_the_saves_task_records_while_it_is_sent(site, monkeypatch):
    article = entry("mine", links(ELSEWHERE))
    sent_webmention(article)
    held = claimed_elsewhere()  # a save's task is sending the row

    def notice(*args, **kwargs):
        # The save's task records its (older) result while the notice is on the wire.
        held.record_result(Result(Outcome.HTTP_ERROR, message="older"))
        return "202 Accepted"

    monkeypatch.setattr(webmention, "send", notice)
    send.notify_deleted(held.content_type_id, held.object_id, GONE)

    stored = OutboundPing.objects.get()
    assert (stored.outcome, stored.message) == (Outcome.SUCCESS, "202 Accepted")


def test_a_notice_failing_unexpectedly_is_recorded_and_the_others_still_sent(site, monkeypatch):
    article = entry("mine", links("https://a.example/post/", "https://b.example/post/"))
    bad = sent_webmention(article, "https://a.example/post/")
    good = sent_webmention(article, "https://b.example/post/")

    def flaky(endpoint, source, target, **kwargs):
        if target == bad.target_url:
            raise RuntimeError("a bug met by this peer")
        return "202"

    monkeypatch.setattr(webmention, "send", flaky)

    send.notify_deleted(bad.content_type_id, bad.object_id, GONE)

    assert outcomes(article) == {
        bad.target_url: Outcome.UNREACHABLE,
        good.target_url: Outcome.SUCCESS,
    }
