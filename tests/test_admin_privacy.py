"""The admin's personal-data actions: choose whose data, then export it as JSON or erase it."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from backlinks_django.models import Backlink
from tests.helpers import messages_of

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/backlinks_django/backlink/"


@pytest.fixture
def editor_client(client: Client, editor: User) -> Client:
    editor.user_permissions.add(Permission.objects.get(codename="delete_backlink"))
    client.force_login(editor)
    return client


def choose(client: Client, action: str, backlinks: list[Backlink], **form: object):
    """Run ``action`` on ``backlinks``, then post its page's form with ``form``."""
    selected = [b.pk for b in backlinks]
    page = client.post(CHANGELIST, {"action": action, "_selected_action": selected})
    assert page.status_code == 200
    return page, client.post(
        CHANGELIST,
        {"action": action, "_selected_action": selected, "post": "yes", **form},
        follow=True,
    )


def test_export_page_offers_exact_values_checked_and_domains_unchecked(
    editor_client, make_backlink
):
    backlink = make_backlink(
        source_url="https://medium.example/@alice/1",
        author_url="https://alice.example/",
        remote_ip="2001:db8::1",
    )

    page, _ = choose(editor_client, "export_personal_data", [backlink])

    assert page.context["candidates"] == [
        ("ip:2001:db8::1", "IP address 2001:db8::1", True),
        ("author_url:https://alice.example/", "author URL https://alice.example/", True),
        ("domain:medium.example", "domain medium.example and its subdomains", False),
    ]
    assert b'name="selector" value="ip:2001:db8::1" checked' in page.content


def test_export_downloads_the_chosen_persons_data(editor_client, make_backlink):
    alice = make_backlink(author_url="https://alice.example/", remote_ip="203.0.113.7")
    also_alice = make_backlink(remote_ip="203.0.113.7")  # not selected, but hers
    make_backlink(remote_ip="203.0.113.8")

    _page, response = choose(
        editor_client, "export_personal_data", [alice], selector=["ip:203.0.113.7"]
    )

    assert response["Content-Disposition"] == 'attachment; filename="personal-data.json"'
    data = json.loads(response.content)
    assert {b["id"] for b in data["backlinks"]} == {alice.pk, also_alice.pk}


def test_erase_deletes_the_chosen_persons_rows_and_reports_counts(editor_client, make_backlink):
    alice = make_backlink(source_url="https://alice.example/1", remote_ip="203.0.113.7")
    make_backlink(source_url="https://alice.example/2")
    bob = make_backlink(source_url="https://bob.example/1")

    _page, response = choose(
        editor_client,
        "erase_personal_data",
        [alice],
        selector=["domain:alice.example", "ip:203.0.113.7"],
    )

    assert messages_of(response) == ["Erased backlinks_django.Backlink: 2."]
    assert list(Backlink.objects.all()) == [bob]


def test_erase_by_email_typed_on_the_page(editor_client, make_backlink):
    backlink = make_backlink(excerpt="Write to alice@example.org")

    _page, response = choose(
        editor_client, "erase_personal_data", [backlink], email="alice@example.org"
    )

    assert messages_of(response) == ["Erased backlinks_django.Backlink: 1."]


def test_nothing_chosen_erases_nothing(editor_client, make_backlink):
    backlink = make_backlink(remote_ip="203.0.113.7")

    _page, response = choose(editor_client, "erase_personal_data", [backlink])

    assert messages_of(response) == [
        "Nothing was chosen: no personal data was exported or erased."
    ]
    assert Backlink.objects.count() == 1


def test_a_bad_email_is_a_clear_error_not_a_500(editor_client, make_backlink):
    backlink = make_backlink()

    _page, response = choose(editor_client, "erase_personal_data", [backlink], email="nobody")

    assert response.status_code == 200
    assert messages_of(response) == ["'nobody' is not an e-mail address."]
    assert Backlink.objects.count() == 1


def test_erase_needs_the_delete_permission(client, editor, make_backlink):
    client.force_login(editor)  # may view and moderate, not delete
    backlink = make_backlink(remote_ip="203.0.113.7")

    page = client.get(CHANGELIST)
    actions = page.context["cl"].model_admin.get_actions(page.wsgi_request)
    client.post(
        CHANGELIST,
        {
            "action": "erase_personal_data",
            "_selected_action": [backlink.pk],
            "post": "yes",
            "selector": ["ip:203.0.113.7"],
        },
    )

    assert "export_personal_data" in actions
    assert "erase_personal_data" not in actions
    assert Backlink.objects.count() == 1
