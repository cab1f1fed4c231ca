"""Personal data: retention on a frozen clock, backlinks deleted with their object, and one
person's data found, exported and erased (no trace left in any table)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from backlinks_django import privacy
from backlinks_django.models import Backlink, BlockedDomain, InboundPing, Kind
from backlinks_django.privacy import InvalidSelector, Selector
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


def inbound_row(site: Any, state: str = InboundPing.State.ACCEPTED, **fields: Any) -> InboundPing:
    values: dict[str, Any] = {
        "kind": Kind.PINGBACK,
        "site": site,
        "source_url": "http://peer.example/post/",
        "target_url": "http://testserver/articles/target/",
        "remote_ip": "203.0.113.7",
        "user_agent": "Peer/1.0",
        "sender": "203.0.113.7",
        "state": state,
        "received_at": timezone.now(),
    }
    values.update(fields)
    return InboundPing.objects.create(**values)


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

    first = privacy.apply_retention()
    second = privacy.apply_retention()

    assert (first.backlinks_cleared, first.inbound_cleared) == (1, 1)
    assert second == privacy.Retention()


@override_settings(BACKLINKS={**BASE, "IP_KEEP_DAYS": 7, "INBOUND_KEEP_DAYS": 90})
def test_retention_clears_finished_queue_rows_but_not_waiting_ones(clock, site):
    finished = inbound_row(site)
    waiting = inbound_row(site, InboundPing.State.QUEUED)
    clock.advance(days=8)

    done = privacy.apply_retention()

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

    done = privacy.apply_retention()

    assert (done.inbound_deleted, done.inbound_cleared) == (1, 0)  # deleted, not cleared first
    assert list(InboundPing.objects.all()) == [waiting]


@override_settings(BACKLINKS={**BASE, "IP_KEEP_DAYS": None})
def test_ip_keep_days_none_keeps_addresses(clock, make_backlink):
    make_backlink(remote_ip="203.0.113.7")
    clock.advance(days=3650)

    privacy.apply_retention()

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
    privacy.apply_retention()

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

    assert privacy.apply_retention().orphans_deleted == 0

    assert list(Backlink.objects.all()) == [backlink]


def test_retention_deletes_backlinks_naming_an_id_the_key_cannot_hold(make_backlink, article):
    orphan = make_backlink()
    Backlink.objects.filter(pk=orphan.pk).update(object_id="not-a-number")

    assert privacy.apply_retention().orphans_deleted == 1


# --- Selectors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"ips": ("not an address",)},
        {"domains": ("http://example.com/",)},
        {"author_urls": ("javascript:alert(1)",)},
        {"emails": ("nobody",)},
        {},
    ],
    ids=["ip", "domain", "author-url", "email", "nothing"],
)
def test_a_selector_naming_no_one_is_refused(fields):
    with pytest.raises(InvalidSelector):
        Selector(**fields)


def test_ip_selector_matches_the_exact_ipv6_address_in_any_spelling(make_backlink):
    mine = make_backlink(remote_ip="2001:db8::1")
    make_backlink(remote_ip="2001:db8::2")  # the same /64: another person, maybe

    found = privacy.find(Selector(ips=("2001:DB8:0:0::1",))).backlinks

    assert list(found) == [mine]


def test_ip_selector_matches_an_ipv4_address_stored_ipv4_mapped(make_backlink):
    mapped = make_backlink(remote_ip="::ffff:198.51.100.4")
    plain = make_backlink(remote_ip="198.51.100.4")
    make_backlink(remote_ip="198.51.100.40")

    found = privacy.find(Selector(ips=("198.51.100.4",))).backlinks

    assert set(found) == {mapped, plain}


def test_domain_selector_matches_subdomains_in_any_url_but_not_lookalikes(make_backlink):
    matched = [
        make_backlink(source_url="https://alice.example/post/"),
        make_backlink(source_url="http://www.ALICE.example:8080/post/"),
        make_backlink(source_url="https://brid.gy/post/1", original_url="https://alice.example/"),
        make_backlink(source_url="https://copy.example/1", author_url="https://alice.example"),
    ]
    make_backlink(source_url="https://notalice.example/post/")
    make_backlink(source_url="https://alice.example.evil.test/post/")
    make_backlink(source_url="https://evil.test/alice.example/")

    found = privacy.find(Selector(domains=("Alice.Example.",))).backlinks

    assert set(found) == set(matched)


def test_domain_selector_matches_a_unicode_domain_in_either_spelling(make_backlink):
    ascii_form = make_backlink(source_url="https://xn--e1afmkfd.example/1")
    unicode_form = make_backlink(source_url="https://пример.example/2")

    found = privacy.find(Selector(domains=("ПРИМЕР.example",))).backlinks

    assert set(found) == {ascii_form, unicode_form}


def test_author_url_selector_matches_its_spellings(make_backlink):
    matched = [
        make_backlink(author_url="https://alice.example/"),
        make_backlink(author_url="http://alice.example"),
    ]
    make_backlink(author_url="https://alice.example/other/")

    found = privacy.find(Selector(author_urls=("https://alice.example",))).backlinks

    assert set(found) == set(matched)


def test_email_selector_matches_text_that_holds_the_address(make_backlink, site):
    matched = make_backlink(excerpt="Write to Alice@Example.org for more.")
    make_backlink(excerpt="Write to bob@example.org.")
    queued = inbound_row(site, blog_name="alice@example.org's blog")

    found = privacy.find(Selector(emails=("alice@example.org",)))

    assert list(found.backlinks) == [matched]
    assert list(found.inbound_pings) == [queued]


# --- Export ----------------------------------------------------------------------------------


def test_export_lists_the_persons_rows_as_json(clock, make_backlink, site):
    backlink = make_backlink(remote_ip="203.0.113.7", user_agent="Peer/1.0")
    row = inbound_row(site, backlink=backlink, remote_ip=None, detail="fetched 10.0.0.3")
    make_backlink(remote_ip="203.0.113.8")
    out = StringIO()

    call_command("backlinks_privacy", "export", "--ip", "203.0.113.7", stdout=out)

    data = json.loads(out.getvalue())
    assert data["selector"] == {"ips": ["203.0.113.7"]}
    assert data["exported_at"] == "2030-01-01T12:00:00Z"
    assert [b["id"] for b in data["backlinks"]] == [backlink.pk]
    assert data["backlinks"][0]["user_agent"] == "Peer/1.0"
    assert data["backlinks"][0]["site"] == "testserver"
    # The queue row that became the backlink is theirs too; staff-only detail stays out.
    assert [r["id"] for r in data["inbound_pings"]] == [str(row.pk)]
    assert "detail" not in data["inbound_pings"][0]


def test_export_writes_a_file(make_backlink, tmp_path):
    make_backlink(source_url="https://alice.example/1")
    BlockedDomain.objects.create(domain="spam.alice.example")
    path = tmp_path / "alice.json"

    call_command("backlinks_privacy", "export", "--domain", "alice.example", "--output", path)

    data = json.loads(path.read_text())
    assert len(data["backlinks"]) == 1
    assert [d["domain"] for d in data["blocked_domains"]] == ["spam.alice.example"]


def test_command_refuses_a_bad_selector_with_a_clear_error():
    with pytest.raises(CommandError, match=r"'300\.1\.1\.1' is not an IP address"):
        call_command("backlinks_privacy", "export", "--ip", "300.1.1.1")


# --- Erasure ---------------------------------------------------------------------------------

NEEDLES = ("198.51.100.9", "alice.example", "Alice Example", "alice@example.org")


def rows_holding(needles: tuple[str, ...]) -> list[tuple[str, str]]:
    """(table, needle) for every needle found in any column of any table of the database."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT * FROM {quoted}")  # names from introspection
            text = " ".join(str(value) for row in cursor.fetchall() for value in row).lower()
            found += [(table, needle) for needle in needles if needle.lower() in text]
    return found


def alices_data(make_backlink: Any, site: Any, admin_user: User) -> None:
    """Alice's data in every place the app keeps it: backlinks, queue rows, admin history."""
    backlink = make_backlink(
        source_url="https://alice.example/post/",
        author_name="Alice Example",
        author_url="https://alice.example/",
        author_photo="https://alice.example/photo.jpg",
        excerpt="Mail alice@example.org",
        remote_ip="198.51.100.9",
        user_agent="Alice's blog",
    )
    inbound_row(
        site,
        source_url="https://alice.example/post/",
        remote_ip="198.51.100.9",
        sender="198.51.100.9",
        backlink=backlink,
    )
    inbound_row(site, InboundPing.State.QUEUED, source_url="https://alice.example/other/")
    # A row whose address retention already cleared, leaving nothing of hers but through
    # the backlink it became.
    inbound_row(
        site, remote_ip=None, sender="", backlink=backlink, source_url="https://copy.example/"
    )
    LogEntry.objects.log_actions(
        admin_user.pk, [backlink], CHANGE, change_message="Approved", single_object=True
    )


def test_erasure_leaves_no_trace_in_any_table(make_backlink, site, admin_user):
    alices_data(make_backlink, site, admin_user)
    bob = make_backlink(source_url="https://bob.example/post/", remote_ip="198.51.100.10")
    assert {needle for _table, needle in rows_holding(NEEDLES)} == set(NEEDLES)

    erased = privacy.erase(Selector(ips=("198.51.100.9",), domains=("alice.example",)))

    assert rows_holding(NEEDLES) == []
    assert erased.deleted == {
        "backlinks_django.Backlink": 1,
        "backlinks_django.InboundPing": 3,
        "admin.LogEntry": 1,
    }
    assert list(Backlink.objects.all()) == [bob]


def test_erasure_by_ip_removes_queue_rows_whose_sender_key_came_from_it(site):
    inbound_row(site, remote_ip=None, sender="198.51.100.9")
    other = inbound_row(site, remote_ip="198.51.100.10", sender="198.51.100.10")

    erased = privacy.erase(Selector(ips=("198.51.100.9",)))

    assert erased.deleted == {"backlinks_django.InboundPing": 1}
    assert list(InboundPing.objects.all()) == [other]


def test_erasure_keeps_blocked_domains_and_says_so(make_backlink):
    BlockedDomain.objects.create(domain="alice.example")

    erased = privacy.erase(Selector(domains=("alice.example",)))

    assert erased.kept == {
        "backlinks_django.BlockedDomain": (1, "kept so that the domain stays refused")
    }
    assert BlockedDomain.objects.count() == 1


def test_erasure_works_in_batches(make_backlink, monkeypatch):
    monkeypatch.setattr(privacy, "BATCH", 2)
    for n in range(5):
        make_backlink(source_url=f"https://alice.example/{n}/")
    make_backlink(source_url="https://bob.example/")

    erased = privacy.erase(Selector(domains=("alice.example",)))

    assert erased.deleted == {"backlinks_django.Backlink": 5}
    assert Backlink.objects.count() == 1


def test_erase_command_reports_counts_per_table(make_backlink):
    make_backlink(author_url="https://alice.example/")
    out = StringIO()

    call_command(
        "backlinks_privacy",
        "erase",
        "--author-url",
        "https://alice.example",
        "--no-input",
        stdout=out,
    )

    assert out.getvalue().splitlines() == [
        "backlinks_django.Backlink: 1 deleted",
        "Erased 1 row(s).",
    ]
    assert not Backlink.objects.exists()


def test_erase_command_asks_first_and_deletes_nothing_without_yes(make_backlink, monkeypatch):
    make_backlink(author_url="https://alice.example/")
    monkeypatch.setattr("builtins.input", lambda prompt: "no")

    with pytest.raises(CommandError, match="cancelled"):
        call_command("backlinks_privacy", "erase", "--author-url", "https://alice.example/")

    assert Backlink.objects.count() == 1
