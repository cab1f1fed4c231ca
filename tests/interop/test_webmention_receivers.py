"""Our sender discovers the endpoints of Webmention receivers this project did not write.

Saving an entry on our site queues its pings; its worker discovers each link's endpoint and
posts the Webmention. The receivers: the ``webmentions`` library (PyPI) behind the Flask peer,
advertised by the library's relative ``Link`` header, and ``django-webmention`` (PyPI) behind
the Django peer, advertised by the app's absolute ``Link`` header, a relative ``<link>`` or a
relative ``<a rel="webmention">``. Each case is checked on both sides: our outbound record,
and the receiver's own store (its read API, or its database rows).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

import pytest

from tests.e2e.sites import http
from tests.interop.webmention_peers import (
    World,
    logs_on_failure_fixture,  # noqa: F401
    publish,
    requires_python_peers,
    save_and_send,
    wait_for,
    world_fixture,  # noqa: F401
)

pytestmark = [
    pytest.mark.interop,
    requires_python_peers(),
    pytest.mark.usefixtures("logs_on_failure"),
]


def publish_linking_to(
    world: World, slug: str, title: str, target: str
) -> tuple[str, list[dict[str, Any]]]:
    """Publish an entry of ours linking to ``target``: its URL, and the outbound row once sent."""
    body = f'<p>We read <a href="{target}">a post of our peer</a> and liked it.</p>'
    return world.ours.url(f"/entries/{slug}/"), publish(world.ours, slug, title, body, [target])


def flask_peer_mentions(world: World, target: str) -> list[dict[str, Any]]:
    """The mentions of ``target`` the ``webmentions`` library holds, from its read API."""
    with http() as session:
        response = session.get(
            world.flask_peer.url("/webmentions"),
            params={"resource": target, "direction": "in"},
            timeout=10,
        )
    response.raise_for_status()
    return [
        {key: mention[key] for key in ("source", "target", "title")} for mention in response.json()
    ]


def django_peer_rows(world: World, source: str) -> list[tuple[str, str, bool, bool]]:
    """django-webmention's ``WebMentionResponse`` rows from ``source``:
    (response_to, whether the stored body has our entry's link, current, reviewed)."""
    with closing(sqlite3.connect(world.django_peer.db)) as db:
        rows = db.execute(
            "SELECT response_to, response_body, current, reviewed"
            " FROM webmention_webmentionresponse WHERE source = ? ORDER BY id",
            (source,),
        ).fetchall()
    return [
        (to, f'href="{to}"' in body, bool(current), bool(reviewed))
        for to, body, current, reviewed in rows
    ]


def test_webmentions_library_stores_our_mention_found_by_its_relative_link_header(
    world: World,
) -> None:
    target = world.flask_peer.url("/posts/lib-mentioned")
    (world.pages / "lib-mentioned.html").write_text("<!DOCTYPE html><title>Mentioned</title>")
    source, sent = publish_linking_to(
        world, "to-the-library", "Our note on the library's post", target
    )

    assert sent == [
        {
            "target_url": target,
            "outcome": "success",
            "protocol": "webmention",
            "endpoint": world.flask_peer.url("/webmentions"),
        }
    ]
    assert flask_peer_mentions(world, target) == [
        {
            "source": source,
            "target": target,
            "title": "Our note on the library's post",
        }
    ]


def test_webmentions_library_drops_our_mention_once_our_entry_no_longer_links(
    world: World,
) -> None:
    target = world.flask_peer.url("/posts/lib-unlinked")
    (world.pages / "lib-unlinked.html").write_text("<!DOCTYPE html><title>Unlinked</title>")
    source, _ = publish_linking_to(world, "unlinking-the-library", "A link we take back", target)
    assert [m["source"] for m in flask_peer_mentions(world, target)] == [source]

    # Our sender tells past Webmention targets again on every save, so they can update.
    sent = save_and_send(
        world.ours, "unlinking-the-library", [target], body="<p>Nothing to see.</p>"
    )
    assert [row["outcome"] for row in sent] == ["success"]
    assert flask_peer_mentions(world, target) == []


def test_webmentions_library_drops_our_mention_once_our_entry_is_deleted(world: World) -> None:
    target = world.flask_peer.url("/posts/lib-deleted")
    (world.pages / "lib-deleted.html").write_text("<!DOCTYPE html><title>Deleted</title>")
    publish_linking_to(world, "deleted-after-mention", "An entry we delete", target)
    assert len(flask_peer_mentions(world, target)) == 1

    world.ours.shell(
        """
        from blog.models import Entry
        Entry.objects.get(slug="deleted-after-mention").delete()
        """
    )
    # The worker notifies the target; the library fetches our page, gets 404, and deletes.
    assert wait_for(lambda: flask_peer_mentions(world, target) == []) is True


@pytest.mark.parametrize("advertised_by", ["link-header", "link-element", "a-element"])
def test_django_webmention_stores_our_mention(world: World, advertised_by: str) -> None:
    target = world.django_peer.url(f"/posts/{advertised_by}")
    slug = f"to-django-webmention-{advertised_by}"
    source, sent = publish_linking_to(world, slug, f"Our note, found by {advertised_by}", target)

    assert sent == [
        {
            "target_url": target,
            "outcome": "success",
            "protocol": "webmention",
            "endpoint": world.django_peer.url("/webmention/receive"),
        }
    ]
    # The app stored the source page it fetched (it holds our link), current and unreviewed.
    assert django_peer_rows(world, source) == [(target, True, True, False)]


def test_django_webmention_marks_our_mention_stale_once_our_entry_no_longer_links(
    world: World,
) -> None:
    target = world.django_peer.url("/posts/link-header")
    source, _ = publish_linking_to(
        world, "unlinking-django-webmention", "Linked, then not", target
    )
    assert django_peer_rows(world, source) == [(target, True, True, False)]

    sent = save_and_send(world.ours, "unlinking-django-webmention", [target], body="<p>Gone.</p>")
    # The app answers the update with 400 ("Source URL did not contain target URL") after
    # marking its row no longer current: for our sender, a refusal.
    assert [(row["outcome"], row["protocol"]) for row in sent] == [("http_error", "webmention")]
    assert django_peer_rows(world, source) == [(target, True, False, False)]


def test_django_webmention_hears_of_our_link_again_once_we_restore_it(world: World) -> None:
    target = world.django_peer.url("/posts/link-element")
    slug = "relinking-django-webmention"
    source, _ = publish_linking_to(world, slug, "Linked, unlinked, linked", target)
    body = f'<p>Back to <a href="{target}">their post</a>.</p>'
    save_and_send(world.ours, slug, [target], body="<p>Gone for a while.</p>")
    assert django_peer_rows(world, source) == [(target, True, False, False)]

    # Sending takes a second or two here: the bound only keeps the expected failure short.
    sent = save_and_send(world.ours, slug, [target], body=body, timeout=10)

    assert [(row["outcome"], row["protocol"]) for row in sent] == [("success", "webmention")]
    assert django_peer_rows(world, source) == [(target, True, True, False)]
