"""Retention on a frozen clock: old addresses cleared, old queue rows and the backlinks of
deleted objects deleted, idempotently."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from backlinks_django.models import Backlink, InboundPing, Kind
from backlinks_django.retention import Retention, apply_retention
from tests.settings import BACKLINKS as BASE
from tests.testapp.models import Article

pytestmark = pytest.mark.django_db

START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


class Clock:
    """``django.utils.timezone.now`` standing still unless the test moves it on."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    frozen = Clock()
    # The retention cutoffs and auto_now fields call timezone.now(); field defaults hold the
    # real function, so tests pass received_at=timezone.now().
    monkeypatch.setattr(timezone, "now", frozen)
    return frozen


def inbound_row(site: Any, state: str = InboundPing.State.ACCEPTED) -> InboundPing:
    return InboundPing.objects.create(
        kind=Kind.PINGBACK,
        site=site,
        source_url="http://peer.example/post/",
        target_url="http://testserver/articles/target/",
        remote_ip="203.0.113.7",
        user_agent="Peer/1.0",
        sender="203.0.113.7",
        state=state,
        received_at=timezone.now(),
    )


def retention() -> str:
    out = StringIO()
    call_command("backlinks_privacy", "retention", stdout=out)
    return out.getvalue()


# --- Retention -------------------------------------------------------------------------------


def test_retention_clears_addresses_and_user_agents_after_ip_keep_days(clock, make_backlink):
    backlink = make_backlink(
        remote_ip="203.0.113.7", user_agent="Peer/1.0", received_at=timezone.now()
    )
    clock.advance(days=30)
    assert "of 0 backlink(s)" in retention()  # exactly 30 days: still kept
    backlink.refresh_from_db()
    assert (backlink.remote_ip, backlink.user_agent) == ("203.0.113.7", "Peer/1.0")

    clock.advance(seconds=1)
    assert "of 1 backlink(s)" in retention()

    backlink.refresh_from_db()
    assert (backlink.remote_ip, backlink.user_agent) == (None, "")
    assert backlink.title  # the rest of the backlink stays
    assert backlink.updated_at == START  # clearing is no change anyone moderates


@override_settings(BACKLINKS={**BASE, "INBOUND_KEEP_DAYS": 90})
def test_retention_run_twice_changes_nothing_the_second_time(clock, make_backlink, site):
    make_backlink(remote_ip="203.0.113.7", received_at=timezone.now())
    inbound_row(site)
    clock.advance(days=31)

    first = apply_retention()
    second = apply_retention()

    assert (first.backlinks_cleared, first.inbound_cleared) == (1, 1)
    assert second == Retention()


@override_settings(BACKLINKS={**BASE, "IP_KEEP_DAYS": 7, "INBOUND_KEEP_DAYS": 90})
def test_retention_clears_finished_queue_rows_but_not_waiting_ones(clock, site):
    finished = inbound_row(site)
    waiting = inbound_row(site, InboundPing.State.QUEUED)
    clock.advance(days=8)

    done = apply_retention()

    finished.refresh_from_db()
    waiting.refresh_from_db()
    assert done.inbound_cleared == 1
    assert (finished.remote_ip, finished.user_agent, finished.sender) == (None, "", "")
    # Still to be verified: the spam checks and the fairness key need the sender.
    assert (waiting.remote_ip, waiting.sender) == ("203.0.113.7", "203.0.113.7")


def test_retention_deletes_finished_queue_rows_after_inbound_keep_days(clock, site):
    inbound_row(site)
    waiting = inbound_row(site, InboundPing.State.QUEUED)
    clock.advance(days=31)

    done = apply_retention()

    assert (done.inbound_deleted, done.inbound_cleared) == (1, 0)  # deleted, not cleared first
    assert list(InboundPing.objects.all()) == [waiting]


@override_settings(BACKLINKS={**BASE, "IP_KEEP_DAYS": None})
def test_ip_keep_days_none_keeps_addresses(clock, make_backlink):
    make_backlink(remote_ip="203.0.113.7")
    clock.advance(days=3650)

    apply_retention()

    assert Backlink.objects.get().remote_ip == "203.0.113.7"


# --- Backlinks of deleted objects ------------------------------------------------------------


def test_deleting_an_object_deletes_its_backlinks(make_backlink, article, site):
    make_backlink()
    other = Article.objects.create(title="Other", slug="other", published_at=timezone.now())
    kept = make_backlink(target=other)

    article.delete()

    assert list(Backlink.objects.all()) == [kept]


@override_settings(BACKLINKS={**BASE, "DELETE_BACKLINKS_WITH_OBJECT": False})
def test_delete_backlinks_with_object_off_keeps_them_and_retention_too(make_backlink, article):
    backlink = make_backlink()

    article.delete()
    apply_retention()

    assert list(Backlink.objects.all()) == [backlink]


def test_retention_deletes_backlinks_whose_object_went_without_signals(make_backlink, article):
    make_backlink()
    other = Article.objects.create(title="Other", slug="other", published_at=timezone.now())
    kept = make_backlink(target=other)
    with connection.cursor() as cursor:  # as a raw SQL delete or another program would
        cursor.execute(f"DELETE FROM {Article._meta.db_table} WHERE id = %s", [article.pk])

    assert "and 1 backlink(s) of deleted objects" in retention()

    assert list(Backlink.objects.all()) == [kept]


def test_retention_keeps_backlinks_of_a_model_no_longer_installed(make_backlink):
    gone = ContentType.objects.create(app_label="uninstalled", model="post")
    backlink = make_backlink()
    Backlink.objects.filter(pk=backlink.pk).update(content_type=gone, object_id="1")

    assert apply_retention().orphans_deleted == 0

    assert list(Backlink.objects.all()) == [backlink]


def test_retention_deletes_backlinks_naming_an_id_the_key_cannot_hold(make_backlink, article):
    orphan = make_backlink()
    Backlink.objects.filter(pk=orphan.pk).update(object_id="not-a-number")

    assert apply_retention().orphans_deleted == 1
