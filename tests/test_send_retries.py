"""Retries of failed pings, and links that another task is sending at the same time."""

from __future__ import annotations

import time

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import override_settings
from django.utils import timezone

from backlinks_django import delivery, send, tasks
from backlinks_django.choices import Outcome
from backlinks_django.models import OutboundPing
from backlinks_django.results import Result
from backlinks_django.signals import backlink_received
from tests.helpers import (
    LOOPBACK,
    Peer,
    claimed_elsewhere,
    connected,
    entry,
    links,
    outbound_row,
    self_link,
)

pytestmark = pytest.mark.django_db

ELSEWHERE = "https://peer.example/post/"


# --- retries -------------------------------------------------------------------------------


@override_settings(BACKLINKS={**LOOPBACK, "SEND_RETRY_DELAY": 10.0, "SEND_MAX_ATTEMPTS": 3})
def test_transient_errors_back_off_exponentially_then_stop(httpserver, site):
    peer = Peer(httpserver, status=500)
    article = entry("mine", links(peer.page("/post")))
    delays = []
    for _ in range(3):
        OutboundPing.objects.update(next_attempt_at=timezone.now() - timezone.timedelta(seconds=1))
        start = timezone.now()
        send.send_object(article)
        row = OutboundPing.objects.get()
        delays.append(
            None
            if row.next_attempt_at is None
            else round((row.next_attempt_at - start).total_seconds())
        )

    assert (row.outcome, row.attempts, delays) == (Outcome.HTTP_ERROR, 3, [10, 20, None])
    send.send_object(article)
    assert OutboundPing.objects.get().attempts == 3  # stopped: not due any more


@override_settings(BACKLINKS={**LOOPBACK, "SEND_FLOOD_WINDOW": 16.0})
def test_wordpress_flood_fault_429_is_retried_after_the_window(httpserver, site):
    peer = Peer(httpserver, fault=429)
    before = timezone.now()
    send.send_object(entry("mine", links(peer.page("/post"))))

    row = OutboundPing.objects.get()
    assert row.outcome == Outcome.FAULT
    assert 15 <= (row.next_attempt_at - before).total_seconds() <= 18


@override_settings(BACKLINKS=LOOPBACK)
def test_the_task_queues_its_retry_on_a_deferring_backend(httpserver, queued):
    peer = Peer(httpserver, status=500)
    article = entry("mine", links(peer.page("/post")))
    ct = ContentType.objects.get_for_model(article).pk

    tasks.send_pings.call(ct, str(article.pk))

    # Beside the claim's recovery (tests/test_crash_recovery.py), queued before sending:
    (retry,) = [
        r for r in queued if r.task.run_after == OutboundPing.objects.get().next_attempt_at
    ]
    assert retry.args == [ct, str(article.pk), False, True]  # only the due links
    assert len(queued) == 2


def test_a_dropped_result_schedules_no_retry(site, queued):
    article = entry("mine", links(ELSEWHERE))
    outbound_row(article, ELSEWHERE)
    held = claimed_elsewhere()
    # That claim ran out, and another task took the row over: this task's result is dropped.
    OutboundPing.objects.update(claimed_until=timezone.now() + timezone.timedelta(minutes=2))

    assert not held.record_result(Result(Outcome.TIMEOUT, retry=True))
    tasks.schedule_retry(held.content_type_id, held.object_id, [held])

    assert OutboundPing.objects.get().next_attempt_at is None
    assert queued == []


# --- links another task is sending ---------------------------------------------------------


def test_a_task_finding_its_links_busy_queues_itself_for_when_the_claim_ends(site, queued):
    article = entry("mine", links(ELSEWHERE))
    outbound_row(article, ELSEWHERE)
    held = claimed_elsewhere()
    ct = ContentType.objects.get_for_model(article).pk

    assert tasks.send_pings.call(ct, str(article.pk)) == 0  # it sends nothing...

    (follow_up,) = queued  # ...and comes back when the other task is surely done
    assert follow_up.args == [ct, str(article.pk)]
    assert follow_up.task.run_after == held.claimed_until


@override_settings(BACKLINKS={**LOOPBACK, "SEND_DEADLINE": 1.0})
def test_slow_self_pings_shorten_the_remote_phase_so_it_ends_before_the_claim(
    httpserver, site, monkeypatch
):
    """The claim's length is fixed before the self-pings; the remote requests must still end
    before it does, or a follow-up task taking the rows over when it ends sends them again.

    Constants scaled down (defaults: margin 60 s, grace 2 s, safety 5 s, deadline 60 s).
    """
    monkeypatch.setattr(send, "CLAIM_MARGIN", 0.0)
    monkeypatch.setattr(delivery, "DEADLINE_GRACE", 0.2)
    monkeypatch.setattr(send, "CLAIM_SAFETY", 0.1)
    monkeypatch.setattr("secrets.randbelow", lambda n: 0)  # a claim of exactly 1.2 s
    peer = Peer(httpserver)
    target = entry("target", "<p>Hi</p>")
    source = entry("source", links(self_link(target), peer.page("/post")))
    ct = ContentType.objects.get_for_model(source).pk

    def slow_receiver(**kwargs):
        time.sleep(1.3)  # stands in for a nested immediate send of the target (up to 62 s)
        # The follow-up a second save queued for this task's claim end runs now:
        tasks.send_pings.call(ct, str(source.pk))

    with connected(backlink_received, slow_receiver):
        send.send_object(source)

    assert len(peer.calls) == 1, peer.calls  # the follow-up's; the first task stopped in time
