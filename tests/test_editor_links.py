"""Editors see the links their content will ping, and untick those never to be pinged."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone

from backlinks_django import send
from backlinks_django.admin.links import advertised
from backlinks_django.choices import Kind, Outcome
from backlinks_django.models import OutboundPing
from backlinks_django.results import Result
from tests.conftest import INLINE_PREFIX, LINKS_PREFIX, post_trackback_inline
from tests.helpers import (
    LOOPBACK,
    Peer,
    claimed_elsewhere,
    dummy_tasks,
    entry,
    links,
    outbound_row,
)
from tests.testapp.models import Article

pytestmark = pytest.mark.django_db


def unsent(body: str) -> Article:
    """A published article whose saving queued nothing, so that a later save's task does.

    (``entry`` queues its on-commit callback, which the test's transaction never runs and
    which later saves of the same object would count as already queued.)
    """
    published = timezone.now() - timezone.timedelta(hours=1)
    (article,) = Article.objects.bulk_create(
        [Article(title="Mine", slug="mine", body=body, published_at=published)]
    )
    return article


def change_url(article: Article) -> str:
    return f"/admin/testapp/article/{article.pk}/change/"


def links_formset(client: Client, article: Article) -> Any:
    """The links inline's formset as the change page shows it."""
    response = client.get(change_url(article))
    assert response.status_code == 200
    (inline,) = [
        inline
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.prefix == LINKS_PREFIX
    ]
    return inline.formset


def shown_links(client: Client, article: Article) -> list[tuple[str, bool, str]]:
    """(URL, Ping box ticked, what the target advertises) of each link the page lists."""
    formset = links_formset(client, article)
    return [
        (form.instance.target_url, bool(form["ping"].value()), advertised(form.instance))
        for form in formset.forms
    ]


def save_in_admin(
    client: Client,
    article: Article,
    *,
    untick: tuple[str, ...] = (),
    tick: tuple[str, ...] = (),
    body: str | None = None,
) -> Any:
    """Save ``article`` in its admin as the change page shows it, but for the links in
    ``untick`` and ``tick`` and a new ``body``. Queued tasks run only if the test captures the
    on-commit callbacks."""
    formset = links_formset(client, article)
    data: dict[str, str] = {
        "title": article.title,
        "slug": article.slug,
        "body": article.body if body is None else body,
        "published_at_0": article.published_at.strftime("%Y-%m-%d"),
        "published_at_1": article.published_at.strftime("%H:%M:%S"),
        "pings_open": "on",
        f"{INLINE_PREFIX}-TOTAL_FORMS": "0",
        f"{INLINE_PREFIX}-INITIAL_FORMS": "0",
        f"{LINKS_PREFIX}-TOTAL_FORMS": str(len(formset.forms)),
        f"{LINKS_PREFIX}-INITIAL_FORMS": str(formset.initial_form_count()),
    }
    for i, form in enumerate(formset.forms):
        url = form.instance.target_url
        if form.instance.pk is not None:
            data[f"{LINKS_PREFIX}-{i}-id"] = str(form.instance.pk)
        data[f"{LINKS_PREFIX}-{i}-target_url"] = url
        if url in tick or (form["ping"].value() and url not in untick):
            data[f"{LINKS_PREFIX}-{i}-ping"] = "on"
    response = client.post(change_url(article), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    article.refresh_from_db()
    return response


def pinged(peer: Peer) -> list[str]:
    return [target for _source, target in peer.calls]


# --- what the editor sees ------------------------------------------------------------------


def test_the_change_page_lists_the_contents_links_ticked_and_not_yet_discovered(
    admin_client, site
):
    article = entry("mine", links("https://a.example/post/", "https://b.example/post/"))

    assert shown_links(admin_client, article) == [
        ("https://a.example/post/", True, "Not discovered yet"),
        ("https://b.example/post/", True, "Not discovered yet"),
    ]
    assert not OutboundPing.objects.exists()  # showing them stores nothing


@override_settings(BACKLINKS=LOOPBACK)
def test_each_link_shows_what_its_target_advertises_once_discovered(
    admin_client, httpserver, site
):
    pingback, silent = Peer(httpserver), Peer(httpserver, discovery="none")
    with_pingback = pingback.page("/pingback")
    with_nothing = silent.page("/nothing")
    article = entry("mine", links(with_pingback, with_nothing))

    send.send_object(article)

    assert shown_links(admin_client, article) == [
        (with_pingback, True, "Pingback"),
        (with_nothing, True, "Nothing"),
    ]


def test_the_add_page_has_no_links_inline(admin_client, site):
    response = admin_client.get("/admin/testapp/article/add/")

    prefixes = [inline.formset.prefix for inline in response.context["inline_admin_formsets"]]
    assert LINKS_PREFIX not in prefixes
    assert INLINE_PREFIX in prefixes


def test_the_trackback_inline_does_not_list_the_content_links(admin_client, site):
    article = entry("mine", links("https://a.example/post/"))
    outbound_row(article, "https://a.example/post/")

    response = admin_client.get(change_url(article))

    (trackbacks,) = [
        inline
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.prefix == INLINE_PREFIX
    ]
    assert [form.instance.pk for form in trackbacks.formset.forms] == [None]  # the blank one


# --- unticking -----------------------------------------------------------------------------


def test_unticking_a_link_not_yet_stored_stores_it_as_do_not_ping(admin_client, site):
    article = entry("mine", links("https://a.example/post/", "https://b.example/post/"))

    with dummy_tasks():
        save_in_admin(admin_client, article, untick=("https://b.example/post/",))

    # A ticked link is not stored by the page: the save's task stores and pings it.
    row = OutboundPing.objects.get()
    assert (row.target_url, row.do_not_ping, row.requested, row.outcome) == (
        "https://b.example/post/",
        True,
        False,
        Outcome.PENDING,
    )
    assert ("https://b.example/post/", False, "Not discovered yet") in shown_links(
        admin_client, article
    )


@override_settings(BACKLINKS=LOOPBACK)
def test_an_unticked_link_stays_unpinged_across_saves_and_resends(
    admin_client, httpserver, site, django_capture_on_commit_callbacks
):
    peer = Peer(httpserver)
    kept, unticked = peer.page("/kept"), peer.page("/unticked")
    article = unsent(links(kept, unticked))

    # The save's task (the immediate backend) runs once the admin's transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        save_in_admin(admin_client, article, untick=(unticked,))
    assert pinged(peer) == [kept]

    # Saved again as the page shows it (the test's transaction never commits: the test sends
    # what the save's task would), then re-sent by force and by the command.
    with dummy_tasks():
        save_in_admin(admin_client, article, body=article.body + "<p>More words.</p>")
    send.send_object(article)
    send.send_object(article, force=True)
    object_label = f"testapp.Article:{article.pk}"
    call_command("send_backlinks", "--object", object_label, "--force", stdout=StringIO())
    call_command("send_backlinks", "--due", stdout=StringIO())

    assert pinged(peer) == [kept, kept, kept]
    assert OutboundPing.objects.get(target_url=unticked).attempts == 0


@override_settings(BACKLINKS=LOOPBACK)
def test_unticking_a_webmention_target_stops_the_updates_every_save_sends(
    admin_client, httpserver, site
):
    peer = Peer(httpserver, discovery="webmention")
    target = peer.page("/post")
    article = unsent(links(target))
    send.send_object(article)
    assert len(peer.webmentions) == 1

    with dummy_tasks():
        save_in_admin(admin_client, article, untick=(target,), body=f"{article.body}<p>Edit</p>")
    send.send_object(article)  # what the save's task does

    assert len(peer.webmentions) == 1


@override_settings(BACKLINKS=LOOPBACK)
def test_a_link_ticked_again_is_pinged_by_the_next_save(admin_client, httpserver, site):
    peer = Peer(httpserver)
    target = peer.page("/post")
    article = unsent(links(target))
    with dummy_tasks():
        save_in_admin(admin_client, article, untick=(target,))
    send.send_object(article)
    assert pinged(peer) == []

    with dummy_tasks():
        save_in_admin(admin_client, article, tick=(target,))
    send.send_object(article)

    assert pinged(peer) == [target]
    assert OutboundPing.objects.get().do_not_ping is False


def test_the_dry_run_does_not_list_unticked_links(site):
    article = entry("mine", links("https://a.example/post/", "https://b.example/post/"))
    outbound_row(article, "https://b.example/post/", do_not_ping=True)
    out = StringIO()

    call_command(
        "send_backlinks",
        "--object",
        f"testapp.Article:{article.pk}",
        "--force",
        "--dry-run",
        stdout=out,
    )

    assert "would ping https://a.example/post/\n" in out.getvalue()


def test_unticking_a_link_being_sent_leaves_that_tasks_result_to_it(admin_client, site):
    """The page writes the flag only: the task sending the row still records its result."""
    article = entry("mine", links("https://a.example/post/"))
    outbound_row(article, "https://a.example/post/")
    form_row = OutboundPing.objects.get()
    sending = claimed_elsewhere()
    assert sending.pk == form_row.pk

    with dummy_tasks():
        save_in_admin(admin_client, article, untick=("https://a.example/post/",))

    assert sending.record_result(Result(Outcome.SUCCESS, Kind.PINGBACK, message="ok")) is True
    row = OutboundPing.objects.get()
    assert (row.do_not_ping, row.outcome, row.claimed_until) == (True, Outcome.SUCCESS, None)


def test_a_link_stored_by_a_task_since_the_page_was_shown_is_flagged(admin_client, site):
    article = entry("mine", links("https://a.example/post/"))
    formset = links_formset(admin_client, article)
    assert [form.instance.pk for form in formset.forms] == [None]
    outbound_row(article, "https://a.example/post/")  # the task got there first

    response = admin_client.post(
        change_url(article),
        {
            "title": article.title,
            "slug": article.slug,
            "body": article.body,
            "published_at_0": article.published_at.strftime("%Y-%m-%d"),
            "published_at_1": article.published_at.strftime("%H:%M:%S"),
            "pings_open": "on",
            f"{INLINE_PREFIX}-TOTAL_FORMS": "0",
            f"{INLINE_PREFIX}-INITIAL_FORMS": "0",
            f"{LINKS_PREFIX}-TOTAL_FORMS": "1",
            f"{LINKS_PREFIX}-INITIAL_FORMS": "0",
            f"{LINKS_PREFIX}-0-target_url": "https://a.example/post/",
        },
    )

    assert response.status_code == 302
    assert list(OutboundPing.objects.values_list("target_url", "do_not_ping")) == [
        ("https://a.example/post/", True)
    ]


def test_a_stored_links_url_cannot_be_changed_through_the_page(admin_client, site):
    article = entry("mine", links("https://a.example/post/"))
    row = outbound_row(article, "https://a.example/post/")

    response = admin_client.post(
        change_url(article),
        {
            "title": article.title,
            "slug": article.slug,
            "body": article.body,
            "published_at_0": article.published_at.strftime("%Y-%m-%d"),
            "published_at_1": article.published_at.strftime("%H:%M:%S"),
            "pings_open": "on",
            f"{INLINE_PREFIX}-TOTAL_FORMS": "0",
            f"{INLINE_PREFIX}-INITIAL_FORMS": "0",
            f"{LINKS_PREFIX}-TOTAL_FORMS": "1",
            f"{LINKS_PREFIX}-INITIAL_FORMS": "1",
            f"{LINKS_PREFIX}-0-id": str(row.pk),
            f"{LINKS_PREFIX}-0-target_url": "https://elsewhere.example/",
        },
    )

    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.target_url, row.do_not_ping) == ("https://a.example/post/", True)


def test_deletion_notices_skip_unticked_webmention_targets(site):
    article = entry("mine", links("https://a.example/post/"))
    outbound_row(
        article,
        "https://a.example/post/",
        protocol=Kind.WEBMENTION,
        endpoint="https://a.example/webmention",
        outcome=Outcome.SUCCESS,
        do_not_ping=True,
    )

    content_type = ContentType.objects.get_for_model(article)

    assert send.notify_deleted(content_type.pk, str(article.pk), "http://testserver/x") == []


def test_a_trackback_request_for_an_unticked_link_clears_the_flag(admin_client, site):
    article = entry("mine", links("https://a.example/post/"))
    outbound_row(article, "https://a.example/post/", do_not_ping=True)

    response = post_trackback_inline(admin_client, article, "https://a.example/post/")

    assert response.status_code == 302
    row = OutboundPing.objects.get()
    assert (row.requested, row.do_not_ping) == (True, False)


def test_an_editor_who_may_only_view_outbound_pings_sees_the_links_read_only(client, site):
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_article", "change_article", "view_outboundping"]
        )
    )
    client.force_login(user)
    article = entry("mine", links("https://a.example/post/"))
    outbound_row(article, "https://a.example/post/", do_not_ping=True)

    response = client.get(change_url(article))

    assert response.status_code == 200
    assert 'name="backlinks_django-links-0-ping"' not in response.content.decode()
    assert "https://a.example/post/" in response.content.decode()
