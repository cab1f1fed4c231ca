"""The outbound log in the admin, and the TrackBack inline on a registered model's admin."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import override_settings
from django.utils import timezone

from backlinks_django import send
from backlinks_django.admin import TrackbackFormSet
from backlinks_django.choices import Kind, Outcome
from backlinks_django.models import OutboundPing
from backlinks_django.results import Result
from tests.conftest import post_trackback_inline
from tests.helpers import LOOPBACK, Peer, dummy_tasks, entry, links, messages_of, outbound_row

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/backlinks_django/outboundping/"


# --- the outbound log ----------------------------------------------------------------------


@override_settings(BACKLINKS=LOOPBACK)
def test_retry_now_sends_the_selected_rows_again(admin_client, httpserver, site):
    peer = Peer(httpserver, status=500)
    article = entry("mine", links(peer.page("/post")))
    send.send_object(article)
    peer.status = 200
    row = OutboundPing.objects.get()

    response = admin_client.post(
        CHANGELIST, {"action": "retry_now", "_selected_action": [row.pk]}, follow=True
    )

    assert messages_of(response) == ["1 ping was queued again."]
    row.refresh_from_db()
    assert (row.outcome, row.attempts) == (Outcome.SUCCESS, 2)


def test_the_outbound_log_shows_a_row_being_sent(admin_client, site):
    outbound_row(entry("mine", "<p>Links</p>"), "https://peer.example/post/")
    (row,) = OutboundPing.objects.all().claim(60).rows

    response = admin_client.get(f"{CHANGELIST}{row.pk}/change/")

    assert response.status_code == 200
    assert "Being sent until" in response.content.decode()


# --- the TrackBack inline ------------------------------------------------------------------


def test_editor_enters_trackback_urls_on_the_content_admin(
    admin_client, article, django_capture_on_commit_callbacks
):
    # The on-commit send runs when the capture ends: on the DummyBackend too, never the network.
    with dummy_tasks(), django_capture_on_commit_callbacks(execute=True):
        response = post_trackback_inline(
            admin_client, article, "https://peer.example/post/trackback/"
        )

    assert response.status_code == 302, response.content.decode()[:2000]
    row = OutboundPing.objects.get()
    assert (row.requested, row.protocol, row.endpoint, row.target_url) == (
        True,
        Kind.TRACKBACK,
        "https://peer.example/post/trackback/",
        "https://peer.example/post/trackback/",
    )
    assert row.content_type == ContentType.objects.get_for_model(article)


def test_the_same_trackback_url_twice_is_a_form_error(admin_client, article):
    response = post_trackback_inline(
        admin_client, article, "https://peer.example/tb/", "https://peer.example/tb/"
    )

    assert response.status_code == 200
    assert "This TrackBack URL is listed twice." in response.content.decode()
    assert not OutboundPing.objects.exists()


def test_a_trackback_url_the_content_already_links_reuses_that_row(admin_client, article):
    """The discovered link's row (hidden in the inline) becomes the TrackBack request."""
    outbound_row(
        article,
        "https://peer.example/post/",
        protocol=Kind.PINGBACK,
        outcome=Outcome.NO_ENDPOINT,
        attempts=1,
    )

    response = post_trackback_inline(admin_client, article, "https://peer.example/post/")

    assert response.status_code == 302, response.content.decode()[:2000]
    row = OutboundPing.objects.get()
    assert (row.requested, row.protocol, row.endpoint, row.outcome, row.attempts) == (
        True,
        Kind.TRACKBACK,
        "https://peer.example/post/",
        Outcome.PENDING,
        0,
    )


def test_a_trackback_url_whose_link_is_being_pinged_is_a_form_error(admin_client, article):
    """Reusing a row a task is sending would let that task's result undo the request."""
    outbound_row(
        article,
        "https://peer.example/post/",
        claimed_until=timezone.now() + timezone.timedelta(minutes=2),
    )

    response = post_trackback_inline(admin_client, article, "https://peer.example/post/")

    assert response.status_code == 200
    assert "being pinged right now" in response.content.decode()
    assert OutboundPing.objects.get().requested is False


def test_a_claim_taken_after_the_busy_check_does_not_undo_the_trackback_request(
    admin_client, site, monkeypatch
):
    """A worker may claim the linked row between the inline's busy check and its save: the
    editor's request wins, and that task's result is dropped."""
    article = entry("mine", links("https://peer.example/post/"))
    outbound_row(
        article,
        "https://peer.example/post/",
        outcome=Outcome.NO_ENDPOINT,
        next_attempt_at=timezone.now() - timezone.timedelta(seconds=1),  # due: a task may claim
    )
    held: list[OutboundPing] = []
    original_clean = TrackbackFormSet.clean

    def clean_then_a_task_claims(self):
        original_clean(self)  # the busy check passes...
        held.extend(OutboundPing.objects.for_object(article).due().claim(60).rows)  # ...then

    monkeypatch.setattr(TrackbackFormSet, "clean", clean_then_a_task_claims)
    response = post_trackback_inline(admin_client, article, "https://peer.example/post/")
    assert response.status_code == 302
    (row,) = held

    kept = row.record_result(Result(Outcome.SUCCESS, Kind.PINGBACK, "https://x/xmlrpc"))

    stored = OutboundPing.objects.get()
    assert (kept, stored.requested, stored.outcome, stored.attempts) == (
        False,
        True,
        Outcome.PENDING,
        0,
    )


def test_editing_a_sent_trackback_url_makes_the_new_one_due(admin_client, site):
    article = entry("mine", "<p>No links</p>")
    row = outbound_row(
        article,
        "https://old.example/tb/",
        endpoint="https://old.example/tb/",
        protocol=Kind.TRACKBACK,
        requested=True,
        outcome=Outcome.SUCCESS,
        attempts=1,
    )

    response = post_trackback_inline(
        admin_client, article, existing={row.pk: "https://new.example/tb/"}
    )

    assert response.status_code == 302
    row.refresh_from_db()
    assert row.target_url == "https://new.example/tb/"
    assert OutboundPing.objects.due().filter(pk=row.pk).exists()
