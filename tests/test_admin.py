"""Moderating backlinks in the admin, as an editor who is not a superuser."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from backlinks_django.models import Backlink, BlockedDomain, Status
from backlinks_django.signals import backlink_approved, backlink_status_changed
from tests.helpers import connected, messages_of

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/backlinks_django/backlink/"


@pytest.fixture
def editor_client(client: Client, editor: User) -> Client:
    client.force_login(editor)
    return client


def run_action(client: Client, action: str, backlinks: list[Backlink]):
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [b.pk for b in backlinks]},
        follow=True,
    )


def test_editor_sees_pending_backlinks_filtered(editor_client, make_backlink):
    pending = make_backlink(Status.PENDING, title="Waiting one")
    make_backlink(Status.APPROVED, title="Shown one")

    response = editor_client.get(CHANGELIST, {"status__exact": "pending"})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [pending]


def test_editor_approves_two_and_sees_the_count(editor_client, make_backlink):
    first, second, untouched = make_backlink(), make_backlink(), make_backlink()

    response = run_action(editor_client, "approve", [first, second])

    assert messages_of(response) == ["2 backlinks were approved."]
    assert set(Backlink.objects.approved()) == {first, second}
    untouched.refresh_from_db()
    assert untouched.status == Status.PENDING


def test_approving_already_approved_counts_only_changes(editor_client, make_backlink):
    approved, pending = make_backlink(Status.APPROVED), make_backlink()

    response = run_action(editor_client, "approve", [approved, pending])

    assert messages_of(response) == ["1 backlink was approved."]


@pytest.mark.parametrize(
    ("action", "status", "message"),
    [
        ("unapprove", Status.PENDING, "1 backlink was moved back to pending."),
        ("mark_spam", Status.SPAM, "1 backlink was marked as spam."),
        ("reject", Status.REJECTED, "1 backlink was rejected."),
    ],
)
def test_status_actions(editor_client, make_backlink, action, status, message):
    backlink = make_backlink(Status.APPROVED)

    response = run_action(editor_client, action, [backlink])

    assert messages_of(response) == [message]
    backlink.refresh_from_db()
    assert backlink.status == status


def test_status_change_sends_signals(editor_client, make_backlink):
    backlink = make_backlink()
    seen: list[tuple[str, list[int]]] = []

    def on_change(sender, backlinks, status, **kwargs):
        seen.append((status, [b.pk for b in backlinks]))

    def on_approved(sender, backlinks, **kwargs):
        seen.append(("approved-signal", [b.pk for b in backlinks]))

    with connected(backlink_status_changed, on_change), connected(backlink_approved, on_approved):
        run_action(editor_client, "approve", [backlink])

    assert seen == [(Status.APPROVED, [backlink.pk]), ("approved-signal", [backlink.pk])]


def test_block_domain_marks_existing_as_spam_and_records_domain(editor_client, make_backlink):
    bad = make_backlink(source_url="http://spam.example/a")
    sub = make_backlink(source_url="https://www.spam.example:8080/b?x=1")
    lookalike = make_backlink(source_url="http://notspam.example/c")
    other = make_backlink(source_url="http://good.example/d")

    response = run_action(editor_client, "block_domain", [bad])

    assert messages_of(response) == ["Blocked spam.example; 2 backlinks were marked as spam."]
    assert BlockedDomain.objects.filter(domain="spam.example").exists()
    statuses = {b.pk: b.status for b in Backlink.objects.all()}
    assert statuses[bad.pk] == statuses[sub.pk] == Status.SPAM
    assert statuses[lookalike.pk] == statuses[other.pk] == Status.PENDING


def test_blocked_domain_covers_subdomains_only():
    assert BlockedDomain.objects.create(domain="spam.example")
    assert BlockedDomain.is_blocked("spam.example")
    assert BlockedDomain.is_blocked("a.b.spam.example.")
    assert not BlockedDomain.is_blocked("notspam.example")
    assert not BlockedDomain.is_blocked("example")


@pytest.mark.parametrize(
    ("blocked", "pinging"),
    [
        ("пример.example", "xn--e1afmkfd.example"),
        ("xn--e1afmkfd.example", "ПРИМЕР.example"),
        ("xn--e1afmkfd.example", "блог.пример.example"),
    ],
)
def test_a_blocked_domain_is_blocked_in_either_idna_spelling(blocked, pinging):
    BlockedDomain.objects.create(domain=blocked)

    assert BlockedDomain.objects.get().domain == "xn--e1afmkfd.example"
    assert BlockedDomain.is_blocked(pinging)


def test_blocking_a_unicode_host_marks_both_spellings_as_spam(editor_client, make_backlink):
    unicode_form = make_backlink(source_url="http://пример.example/a")
    ascii_form = make_backlink(source_url="https://www.xn--e1afmkfd.example/b")
    other = make_backlink(source_url="http://example.example/c")

    response = run_action(editor_client, "block_domain", [unicode_form])

    assert messages_of(response) == [
        "Blocked xn--e1afmkfd.example; 2 backlinks were marked as spam."
    ]
    statuses = {b.pk: b.status for b in Backlink.objects.all()}
    assert statuses[unicode_form.pk] == statuses[ascii_form.pk] == Status.SPAM
    assert statuses[other.pk] == Status.PENDING


def test_adding_the_other_spelling_of_a_blocked_domain_is_a_form_error(admin_client):
    BlockedDomain.objects.create(domain="xn--e1afmkfd.example")

    response = admin_client.post(
        "/admin/backlinks_django/blockeddomain/add/", {"domain": "Пример.example"}
    )

    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert BlockedDomain.objects.count() == 1


def test_staff_without_moderate_permission_gets_no_actions(client, make_backlink):
    from django.contrib.auth.models import Permission

    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_backlink"))
    client.force_login(viewer)
    backlink = make_backlink()

    page = client.get(CHANGELIST)
    assert page.status_code == 200
    assert "approve" not in page.context["cl"].model_admin.get_actions(page.wsgi_request)

    run_action(client, "approve", [backlink])
    backlink.refresh_from_db()
    assert backlink.status == Status.PENDING


def test_backlinks_cannot_be_added_by_hand(editor_client):
    assert editor_client.get(f"{CHANGELIST}add/").status_code == 403


def test_script_in_title_is_escaped_in_changelist_and_change_page(editor_client, make_backlink):
    backlink = make_backlink(
        title="<script>alert(1)</script>", excerpt="<img src=x onerror=alert(2)>"
    )

    listing = editor_client.get(CHANGELIST).content.decode()
    detail = editor_client.get(f"{CHANGELIST}{backlink.pk}/change/").content.decode()

    for page in (listing, detail):
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in detail


def test_external_fields_are_read_only(editor_client, make_backlink):
    backlink = make_backlink(title="Original")

    editor_client.post(
        f"{CHANGELIST}{backlink.pk}/change/", {"title": "Changed", "status": "approved"}
    )

    backlink.refresh_from_db()
    assert (backlink.title, backlink.status) == ("Original", Status.PENDING)


def test_site_settings_are_editable_in_admin(admin_client, site):
    from backlinks_django.models import SiteSettings

    response = admin_client.post(
        "/admin/backlinks_django/sitesettings/add/",
        {"site": site.pk, "receive_pingbacks": "on", "self_pings": "", "moderation": "auto"},
    )

    assert response.status_code == 302
    settings = SiteSettings.objects.for_site(site)
    assert (settings.receive_pingbacks, settings.receive_trackbacks, settings.self_pings) == (
        True,
        False,
        False,
    )
    assert settings.moderation == "auto"


def test_blocked_idn_domain_is_blocked_behind_a_label_idna_refuses():
    """UTS #46 refuses "a_b.пример.com" as a whole; its labels are still keyed one by one."""
    BlockedDomain.objects.create(domain="пример.com")

    assert BlockedDomain.is_blocked("a_b.пример.com")
    assert BlockedDomain.is_blocked("ab--c.xn--e1afmkfd.com")
