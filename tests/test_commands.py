"""The ``send_backlinks`` management command."""

from __future__ import annotations

import io
import time

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from backlinks_django.choices import Outcome
from backlinks_django.models import OutboundPing
from tests.helpers import LOOPBACK, Peer, dummy_tasks, entry, links, outbound_row, outcomes

pytestmark = pytest.mark.django_db


def send_backlinks(*args: str) -> str:
    """Run the command; what it printed."""
    out = io.StringIO()
    call_command("send_backlinks", *args, stdout=out)
    return out.getvalue()


@override_settings(BACKLINKS=LOOPBACK)
def test_dry_run_sends_nothing_then_one_object_then_all_again(httpserver, site):
    peer = Peer(httpserver)
    target = peer.page("/post")
    article = entry("mine", links(target))

    assert f"would ping {target}" in send_backlinks("--model", "testapp.Article", "--dry-run")
    assert peer.calls == []

    printed = send_backlinks("--object", f"testapp.Article:{article.pk}")
    assert peer.calls == [("http://testserver/articles/mine/", target)]
    assert "[1/1]" in printed and "success" in printed

    send_backlinks("--all", "--force")
    assert len(peer.calls) == 2


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("--model", "nope.Nothing"), "Unknown model"),
        (("--model", "testapp.Unregistered"), "not registered"),
        (("--object", "testapp.Article:999"), r"No testapp\.Article"),
    ],
    ids=["unknown", "unregistered", "missing-object"],
)
def test_unknown_or_unregistered_models_and_missing_objects_are_errors(site, args, error):
    with pytest.raises(CommandError, match=error):
        send_backlinks(*args)


@override_settings(BACKLINKS={**LOOPBACK, "SEND_FLOOD_WINDOW": 1.2})
def test_due_sends_the_retry_of_a_flood_limited_blog_so_both_posts_get_their_ping(
    httpserver, site
):
    peer = Peer(httpserver, flood_window=1.0)
    article = entry("mine", links(peer.page("/one"), peer.page("/two")))

    send_backlinks("--object", f"testapp.Article:{article.pk}")
    assert len(peer.calls) == 1
    time.sleep(1.3)
    send_backlinks("--due")

    assert sorted(target for _, target in peer.calls) == [
        httpserver.url_for("/one"),
        httpserver.url_for("/two"),
    ]
    assert set(outcomes(article).values()) == {Outcome.SUCCESS}


def test_links_busy_in_another_task_are_queued_for_when_its_claim_ends(site):
    article = entry("mine", links("https://peer.example/post/"))
    outbound_row(article, "https://peer.example/post/")
    (held,) = OutboundPing.objects.all().claim(60).rows  # another task is sending the link

    with dummy_tasks() as queued:
        printed = send_backlinks("--object", f"testapp.Article:{article.pk}")

    assert "nothing new" in printed
    (follow_up,) = queued
    assert follow_up.args == [held.content_type_id, str(article.pk)]
    assert follow_up.task.run_after == held.claimed_until


def test_due_sends_each_object_once_however_many_of_its_rows_are_due(site):
    # Two due links of one object: the object is sent once (both links in that one send).
    article = entry("mine", links("https://peer.example/a/", "https://peer.example/b/"))
    outbound_row(article, "https://peer.example/a/")
    outbound_row(article, "https://peer.example/b/")

    with override_settings(BACKLINKS={**LOOPBACK, "SEND_PROTOCOLS": []}):
        printed = send_backlinks("--due")

    assert printed.count("testapp.Article") == 1, printed
