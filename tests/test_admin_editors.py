"""What editors and site admins see and may do: roles, the changelist's rows and per-row
buttons, the pending count, the outbound log's words."""

from __future__ import annotations

import logging
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client, override_settings
from django.urls import reverse

from backlinks_django import results
from backlinks_django.admin import roles
from backlinks_django.choices import Outcome
from backlinks_django.models import Backlink, OutboundPing, SiteSettings, Status
from tests.helpers import messages_of, outbound_row

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/backlinks_django/backlink/"
OUTBOUND = "/admin/backlinks_django/outboundping/"
PENDING = {"status__exact": "pending"}


def member(username: str, group_name: str, permissions: tuple[str, ...]) -> Client:
    user = User.objects.create_user(username, password="pw", is_staff=True)
    group, _created = roles.set_up_group(group_name, permissions)
    user.groups.add(group)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def editor_client(db: None) -> Client:
    return member("ed", "Editors", roles.EDITOR_PERMISSIONS)


@pytest.fixture
def site_admin_client(db: None) -> Client:
    return member("sa", "Site admins", roles.SITE_ADMIN_PERMISSIONS)


@pytest.fixture
def viewer_client(db: None) -> Client:
    """Staff who may see backlinks but not moderate them."""
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_backlink"))
    client = Client()
    client.force_login(user)
    return client


def moderate_url(backlink: Backlink, filters: str = "") -> str:
    url = reverse("admin:backlinks_django_backlink_moderate", args=[backlink.pk])
    return f"{url}?_changelist_filters={quote(filters)}" if filters else url


# --- roles -----------------------------------------------------------------------------------


def test_editor_role_sees_the_outbound_log(editor_client, article):
    outbound_row(article, "https://peer.example/post/")

    assert editor_client.get(OUTBOUND).status_code == 200


def test_editor_role_moderates_but_cannot_change_site_settings(editor_client, site):
    SiteSettings.objects.create(site=site)

    assert editor_client.get(CHANGELIST).status_code == 200
    assert editor_client.get("/admin/backlinks_django/sitesettings/").status_code == 403


def test_site_admin_role_changes_site_settings(site_admin_client, site):
    row = SiteSettings.objects.create(site=site, self_pings=True)

    page = site_admin_client.get(f"/admin/backlinks_django/sitesettings/{row.pk}/change/")

    assert page.status_code == 200
    assert 'name="self_pings"' in page.content.decode()


def test_editor_role_sees_the_trackback_inline_on_content(editor_client, article):
    # The content's own permissions come from its app.
    User.objects.get(username="ed").user_permissions.add(
        *Permission.objects.filter(codename__in=["view_article", "change_article"])
    )

    page = editor_client.get(f"/admin/testapp/article/{article.pk}/change/")

    assert page.status_code == 200
    assert "Send trackbacks to" in page.content.decode()


def test_a_role_naming_a_missing_permission_says_so(db):
    with pytest.raises(roles.MissingPermission, match=r"backlinks_django\.fly"):
        roles.set_up_group("Pilots", ["backlinks_django.fly"])


# --- the changelist's rows -------------------------------------------------------------------


def test_a_row_shows_title_excerpt_domain_and_target_title(editor_client, make_backlink, article):
    make_backlink(
        title="A reply about links",
        excerpt="So much to say " * 30,
        source_url="https://blog.peer.example/2026/reply",
        author_name="Ana",
    )

    html = editor_client.get(CHANGELIST).content.decode()

    assert "A reply about links" in html
    assert "blog.peer.example" in html
    assert "by Ana" in html
    assert "So much to say So much" in html and "…" in html  # short excerpt
    assert f">{article}</a>" in html  # the target's title, not its URL


def test_rows_have_buttons_posting_to_the_row_with_the_list_filters(editor_client, make_backlink):
    backlink = make_backlink()

    html = editor_client.get(CHANGELIST, PENDING).content.decode()

    action = moderate_url(backlink, "status__exact=pending").replace("&", "&amp;")
    for step in ("approve", "spam", "reject"):
        assert f'value="{step}" formaction="{action}" formmethod="post"' in html
    assert 'name="step" value="unapprove"' not in html  # already pending


def test_view_only_staff_get_no_buttons(viewer_client, make_backlink):
    make_backlink()

    html = viewer_client.get(CHANGELIST).content.decode()

    assert "backlinks-step" not in html


def test_approve_button_approves_and_returns_to_the_filtered_list(editor_client, make_backlink):
    backlink, other = make_backlink(title="Good post"), make_backlink()

    response = editor_client.post(
        moderate_url(backlink, "status__exact=pending"), {"step": "approve"}
    )

    assert response.status_code == 302
    assert response["Location"] == f"{CHANGELIST}?status__exact=pending"
    assert messages_of(editor_client.get(response["Location"])) == ["Approved: Good post"]
    backlink.refresh_from_db()
    other.refresh_from_db()
    assert (backlink.status, other.status) == (Status.APPROVED, Status.PENDING)


@pytest.mark.parametrize(
    ("step", "status", "message"),
    [
        ("spam", Status.SPAM, "Marked as spam: Peer post 1"),
        ("reject", Status.REJECTED, "Rejected: Peer post 1"),
        ("unapprove", Status.PENDING, "Moved back to pending: Peer post 1"),
    ],
)
def test_each_button_calls_its_step(editor_client, make_backlink, step, status, message):
    backlink = make_backlink(Status.APPROVED)

    response = editor_client.post(moderate_url(backlink), {"step": step}, follow=True)

    assert messages_of(response) == [message]
    backlink.refresh_from_db()
    assert backlink.status == status


def test_a_button_for_the_status_it_has_changes_nothing(editor_client, make_backlink):
    backlink = make_backlink(Status.APPROVED)

    response = editor_client.post(moderate_url(backlink), {"step": "approve"}, follow=True)

    assert messages_of(response) == ["No change: Peer post 1 was already approved."]


def test_get_on_a_button_url_changes_nothing(editor_client, make_backlink):
    backlink = make_backlink()

    response = editor_client.get(moderate_url(backlink), {"step": "approve"})

    assert response.status_code == 405
    backlink.refresh_from_db()
    assert backlink.status == Status.PENDING


def test_a_button_without_the_moderate_permission_is_403(viewer_client, make_backlink):
    backlink = make_backlink()

    response = viewer_client.post(moderate_url(backlink), {"step": "approve"})

    assert response.status_code == 403
    backlink.refresh_from_db()
    assert backlink.status == Status.PENDING


def test_a_button_post_without_the_csrf_token_is_refused(make_backlink):
    backlink = make_backlink()
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.create_superuser("root", password="pw"))

    response = client.post(moderate_url(backlink), {"step": "approve"})

    assert response.status_code == 403
    backlink.refresh_from_db()
    assert backlink.status == Status.PENDING


def test_an_unknown_step_is_400(editor_client, make_backlink):
    response = editor_client.post(moderate_url(make_backlink()), {"step": "delete"})

    assert response.status_code == 400


def test_a_button_for_a_deleted_backlink_says_so(editor_client, make_backlink):
    backlink = make_backlink()
    url = moderate_url(backlink)
    backlink.delete()

    response = editor_client.post(url, {"step": "approve"}, follow=True)

    assert messages_of(response) == ["That backlink no longer exists."]


def test_the_changelist_costs_the_same_queries_for_more_rows(
    editor_client, make_backlink, django_assert_max_num_queries
):
    for _ in range(3):
        make_backlink()
    with django_assert_max_num_queries(12) as few:
        editor_client.get(CHANGELIST)
    for _ in range(20):
        make_backlink()
    with django_assert_max_num_queries(len(few)):
        editor_client.get(CHANGELIST)


# --- the pending count -----------------------------------------------------------------------


def test_status_filter_counts_pending(editor_client, make_backlink):
    make_backlink(), make_backlink(), make_backlink(Status.APPROVED)

    html = editor_client.get(CHANGELIST).content.decode()

    assert "Pending (2)" in html


def test_app_index_shows_the_pending_count(editor_client, make_backlink):
    make_backlink(), make_backlink(), make_backlink(Status.SPAM)

    html = editor_client.get("/admin/backlinks_django/").content.decode()

    assert "Backlinks (2 pending)" in html
    assert html.count("pending)") == 1


def test_admin_index_shows_the_pending_count_when_the_app_comes_first(
    editor_client, make_backlink, settings
):
    make_backlink()
    apps = [a for a in settings.INSTALLED_APPS if a != "backlinks_django"]

    with override_settings(INSTALLED_APPS=["backlinks_django", *apps]):
        html = editor_client.get("/admin/").content.decode()

    assert "Backlinks (1 pending)" in html


def test_no_count_for_staff_who_may_not_see_backlinks(make_backlink, site):
    make_backlink()
    client = member("outbound", "Outbound only", ("backlinks_django.view_outboundping",))

    html = client.get("/admin/backlinks_django/").content.decode()

    assert "pending)" not in html


# --- the outbound log's words ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "code", "words"),
    [
        (Outcome.SUCCESS, 48, "Delivered (already registered there)"),
        (Outcome.SUCCESS, None, "Delivered"),
        (Outcome.FAULT, 17, "Fault: that site found no link to it on our page"),
        (Outcome.FAULT, 33, "Fault: the linked page does not take pingbacks"),
        (Outcome.FAULT, 51, "Fault (code 51)"),
        (Outcome.REJECTED, 0, "Rejected by peer"),
        (Outcome.PENDING, None, "Pending"),
    ],
)
def test_outcomes_in_words(outcome, code, words):
    assert results.describe(outcome, code) == words


def test_outbound_log_says_already_registered_and_omits_empty_codes(admin_client, article):
    outbound_row(article, "https://a.example/p/", outcome=Outcome.SUCCESS, fault_code=48)
    outbound_row(article, "https://b.example/p/", outcome=Outcome.NO_ENDPOINT)

    html = admin_client.get(OUTBOUND).content.decode()

    assert "Delivered (already registered there)" in html
    assert "No endpoint" in html
    assert "None" not in html
    assert "fault code" not in html.lower()


def test_outbound_row_page_says_the_outcome_in_words(admin_client, article):
    row = outbound_row(article, "https://a.example/p/", outcome=Outcome.FAULT, fault_code=32)

    html = admin_client.get(f"{OUTBOUND}{row.pk}/change/").content.decode()

    assert "Fault: the linked page does not exist there" in html
    assert "Fault code" not in html


def test_the_log_line_of_a_result_omits_an_empty_fault_code(article, caplog):
    outbound_row(article, "https://a.example/p/")
    outbound_row(article, "https://b.example/p/")
    first, second = OutboundPing.objects.order_by("pk").claim(60).rows

    with caplog.at_level(logging.INFO, logger="backlinks_django.models.outbound"):
        first.record_result(results.Result(Outcome.SUCCESS))
        second.record_result(results.Result(Outcome.SUCCESS, fault_code=48))

    assert caplog.messages == [
        "Ping to https://a.example/p/: success",
        "Ping to https://b.example/p/: success (fault 48)",
    ]
