"""One person's data found, exported and erased: no trace left in any table."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from io import StringIO
from typing import Any

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from backlinks_django import batches, privacy
from backlinks_django.models import Backlink, BlockedDomain, InboundPing, Kind
from backlinks_django.privacy import InvalidSelector, Selector

pytestmark = pytest.mark.django_db


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


def test_export_lists_the_persons_rows_as_json(make_backlink, site, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: datetime(2030, 1, 1, 12, 0, tzinfo=UTC))
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
    monkeypatch.setattr(batches, "BATCH", 2)
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
