"""Outbound rows: which are due, the claim a sending task holds on them, and recording results."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.utils import timezone

from backlinks_django.choices import Kind, Outcome
from backlinks_django.models import OutboundPing
from backlinks_django.results import Result
from tests.helpers import entry, outbound_row

pytestmark = pytest.mark.django_db

TARGET = "https://peer.example/post/"


def ago(seconds: float) -> datetime:
    return timezone.now() - timezone.timedelta(seconds=seconds)


@pytest.fixture
def row(site) -> OutboundPing:
    return outbound_row(entry("mine", "<p>Links</p>"), TARGET)


def stored() -> OutboundPing:
    return OutboundPing.objects.get()


def test_due_rows_are_the_unsent_and_those_whose_retry_time_has_come(site):
    article = entry("mine", "<p>Links</p>")
    unsent = outbound_row(article, "https://a.example/")
    retry_now = outbound_row(
        article, "https://b.example/", outcome=Outcome.TIMEOUT, next_attempt_at=ago(1)
    )
    outbound_row(
        article,
        "https://c.example/",
        outcome=Outcome.TIMEOUT,
        next_attempt_at=timezone.now() + timezone.timedelta(minutes=5),
    )
    outbound_row(article, "https://d.example/", outcome=Outcome.SUCCESS)

    assert set(OutboundPing.objects.due()) == {unsent, retry_now}


def test_a_claimed_row_is_held_from_other_claims_until_its_claim_ends(row):
    """A task that died mid-send leaves its rows free again once the claim has run out."""
    first = OutboundPing.objects.all().claim(60)
    assert [r.pk for r in first.rows] == [row.pk]
    assert (first.rows[0].outcome, first.busy_until) == (Outcome.PENDING, None)

    second = OutboundPing.objects.all().claim(60)
    assert second.rows == []
    assert second.busy_until == first.rows[0].claimed_until == stored().claimed_until

    OutboundPing.objects.update(claimed_until=ago(1))
    assert [r.pk for r in OutboundPing.objects.all().claim(60).rows] == [row.pk]


def test_a_claim_lasts_the_seconds_asked_for(row):
    before = timezone.now()

    (claimed,) = OutboundPing.objects.all().claim(90).rows

    assert 90 <= (claimed.claimed_until - before).total_seconds() <= 92


def test_recording_a_result_stores_it_and_releases_the_claim(row):
    (claimed,) = OutboundPing.objects.all().claim(60).rows

    kept = claimed.record_result(
        Result(
            Outcome.SUCCESS, Kind.PINGBACK, "https://peer.example/xmlrpc", "Thanks,\r\n\x00 peer"
        )
    )

    row = stored()
    assert kept
    assert (row.outcome, row.protocol, row.endpoint, row.message, row.attempts) == (
        Outcome.SUCCESS,
        Kind.PINGBACK,
        "https://peer.example/xmlrpc",
        "Thanks, peer",
        1,
    )
    assert (row.claimed_until, row.next_attempt_at) == (None, None)
    assert row.sent_at is not None


def test_a_result_for_a_row_claimed_again_meanwhile_is_not_stored(row):
    (held,) = OutboundPing.objects.all().claim(60).rows
    # The claim ran out and another task took the row over.
    OutboundPing.objects.update(claimed_until=timezone.now() + timezone.timedelta(minutes=2))

    kept = held.record_result(Result(Outcome.NO_ENDPOINT, message="late", retry=True))

    assert (kept, held.next_attempt_at) == (False, None)
    assert (stored().outcome, stored().attempts, stored().message) == (Outcome.PENDING, 0, "")


def test_a_deletion_notice_is_stored_whatever_the_claim(row):
    (held,) = OutboundPing.objects.all().claim(60).rows
    OutboundPing.objects.update(claimed_until=timezone.now() + timezone.timedelta(minutes=2))

    kept = held.record_result(
        Result(Outcome.SUCCESS, Kind.WEBMENTION, message="202 Accepted"), whatever_the_claim=True
    )

    assert kept
    assert (stored().outcome, stored().claimed_until) == (Outcome.SUCCESS, None)


def test_a_result_for_an_unclaimed_row_is_stored_only_while_nobody_claims_it(row):
    unclaimed = OutboundPing.objects.get()
    OutboundPing.objects.all().claim(60)  # another task takes it meanwhile

    assert not unclaimed.record_result(Result(Outcome.SUCCESS, message="late"))
    assert stored().outcome == Outcome.PENDING

    OutboundPing.objects.update(claimed_until=None)
    assert unclaimed.record_result(Result(Outcome.SUCCESS, message="now"))
    assert (stored().outcome, stored().message) == (Outcome.SUCCESS, "now")


def test_recording_a_result_is_one_update_that_reads_nothing(row, django_assert_num_queries):
    (claimed,) = OutboundPing.objects.all().claim(60).rows

    with django_assert_num_queries(1) as queries:
        claimed.record_result(Result(Outcome.TIMEOUT, message="slow", retry=True))

    assert queries.captured_queries[0]["sql"].startswith("UPDATE")
    row = stored()
    assert (row.outcome, row.attempts, row.claimed_until) == (Outcome.TIMEOUT, 1, None)
    assert row.next_attempt_at == claimed.next_attempt_at is not None
    assert row.updated_at == row.sent_at == claimed.sent_at


def test_make_due_leaves_rows_being_sent_to_their_task(site):
    article = entry("mine", "<p>Links</p>")
    idle = outbound_row(article, "https://a.example/", outcome=Outcome.HTTP_ERROR)
    busy = outbound_row(
        article,
        "https://b.example/",
        outcome=Outcome.HTTP_ERROR,
        claimed_until=timezone.now() + timezone.timedelta(minutes=2),
    )

    assert OutboundPing.objects.all().make_due() == 1

    assert list(OutboundPing.objects.due()) == [idle]
    busy.refresh_from_db()
    assert busy.next_attempt_at is None
