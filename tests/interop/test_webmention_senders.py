"""Webmention senders this project did not write discover our endpoint and send to us.

The senders: the ``webmentions`` library (PyPI), run by the Flask peer on publishing one of
its posts, and ``@remy/webmention``'s command line (npm), run on a post's HTML file as a
static site's build would. Each case is checked on both sides: what the sender says it did
(its store, its output) and what our site stored after its worker verified the source.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.sites import DemoSite, http
from tests.interop.webmention_peers import (
    World,
    backlinks_from,
    h_entry,
    logs_on_failure_fixture,  # noqa: F401
    publish,
    remy_cli_fixture,  # noqa: F401
    requires_python_peers,
    world_fixture,  # noqa: F401
)

pytestmark = [
    pytest.mark.interop,
    requires_python_peers(),
    pytest.mark.usefixtures("logs_on_failure"),
]


def our_entry(world: World, slug: str, title: str) -> str:
    """Publish an entry on our site; its URL."""
    publish(world.ours, slug, title, "<p>Mention me.</p>")
    return world.ours.url(f"/entries/{slug}/")


def peer_post(world: World, name: str, title: str, body: str) -> tuple[str, Path]:
    """Write one of the Flask peer's posts; its URL and its file."""
    url = world.flask_peer.url(f"/posts/{name}")
    path = world.pages / f"{name}.html"
    path.write_text(h_entry(url, title, body), encoding="utf-8")
    return url, path


def publish_on_flask_peer(world: World, source: str) -> list[str]:
    """Have the peer's ``webmentions`` sender process ``source``; the targets it records."""
    with http() as session:
        session.post(
            world.flask_peer.url("/_send"), data={"source": source}, timeout=60
        ).raise_for_status()
        sent = session.get(
            world.flask_peer.url("/webmentions"),
            params={"resource": source, "direction": "out"},
            timeout=10,
        ).json()
    return sorted(mention["target"] for mention in sent)


def run_remy(cli: Path, post: Path) -> str:
    """``webmention POST.html --send``: what it printed."""
    done = subprocess.run(
        [str(cli), str(post), "--send"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def set_receiving(site: DemoSite, **switches: bool) -> None:
    """Turn our site's ``receive_*`` switches (SiteSettings) on or off."""
    site.shell(
        """
        from django.contrib.sites.models import Site
        from backlinks_django.models import SiteSettings

        SiteSettings.objects.filter(site=Site.objects.get_current()).update(**params["switches"])
        """,
        switches={f"receive_{name}": on for name, on in switches.items()},
    )


def test_webmentions_library_reply_is_stored_verified_with_its_title_and_author(
    world: World,
) -> None:
    target = our_entry(world, "lib-reply-target", "Replied to by the library")
    source, _ = peer_post(
        world,
        "lib-reply",
        "A reply from the webmentions library",
        f'<p>Replying to <a class="u-in-reply-to" href="{target}">your post</a>, kindly.</p>',
    )

    assert publish_on_flask_peer(world, source) == [target]
    assert backlinks_from(world.ours, source) == [
        {
            "kind": "webmention",
            "status": "pending",
            "target_url": target,
            "title": "A reply from the webmentions library",
            "mention_type": "reply",
            "author_name": "Peer Author",
            "excerpt": "Replying to your post, kindly.",
        }
    ]


def test_webmentions_library_removing_the_link_marks_our_backlink_removed(world: World) -> None:
    target = our_entry(world, "lib-removed-target", "Mentioned, then not")
    source, path = peer_post(
        world,
        "lib-removed",
        "A mention soon taken back",
        f'<p>See <a href="{target}">this</a>.</p>',
    )
    assert publish_on_flask_peer(world, source) == [target]
    assert [row["status"] for row in backlinks_from(world.ours, source)] == ["pending"]

    # The library remembers what it sent, and notifies targets its post no longer links to.
    path.write_text(h_entry(source, "A mention soon taken back", "<p>Never mind.</p>"))
    assert publish_on_flask_peer(world, source) == []
    assert [row["status"] for row in backlinks_from(world.ours, source)] == ["removed"]


def test_remy_cli_sends_a_pingback_first_when_our_page_advertises_one(
    world: World, remy_cli: Path
) -> None:
    # @remy/webmention takes an X-Pingback header over a Link rel="webmention" one, and our
    # middleware sends both: so it pings, through our XML-RPC server.
    target = our_entry(world, "remy-pingback-target", "Pinged by remy")
    source, post = peer_post(
        world, "remy-pingback", "Remy's post", f'<p>Read <a href="{target}">this entry</a>.</p>'
    )

    output = run_remy(remy_cli, post)

    assert f"endpoint = {world.ours.url('/backlinks/xmlrpc/')} (pingback)" in output
    assert "status   = 200 ✓" in output
    assert backlinks_from(world.ours, source, settled=False) == [
        {
            "kind": "pingback",
            "status": "pending",
            "target_url": target,
            "title": "Remy's post | Peer",  # a pingback keeps the page's <title>
            "mention_type": "mention",
            "author_name": "Peer Author",  # and reads the page's h-entry like a Webmention
            "excerpt": "Read this entry.",
        }
    ]


def test_remy_cli_sends_a_webmention_when_our_site_takes_no_pingbacks(
    world: World, remy_cli: Path
) -> None:
    target = our_entry(world, "remy-webmention-target", "Mentioned by remy")
    source, post = peer_post(
        world,
        "remy-webmention",
        "Remy's mention",
        f'<p>Read <a href="{target}">this entry</a> too.</p>',
    )
    set_receiving(world.ours, pingbacks=False)
    try:
        output = run_remy(remy_cli, post)
    finally:
        set_receiving(world.ours, pingbacks=True)

    assert f"endpoint = {world.ours.url('/backlinks/webmention/')} (webmention)" in output
    assert "status   = 201 ✓" in output
    assert backlinks_from(world.ours, source) == [
        {
            "kind": "webmention",
            "status": "pending",
            "target_url": target,
            "title": "Remy's mention",
            "mention_type": "mention",
            "author_name": "Peer Author",
            "excerpt": "Read this entry too.",
        }
    ]
