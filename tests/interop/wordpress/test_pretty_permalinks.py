"""Our site and a WordPress blog with pretty permalinks (``/%year%/%monthnum%/%postname%/``).

WordPress maps such a URL back to its post through its rewrite rules (``url_to_postid()``),
for pingbacks it receives and for ``getPingbacks``; TrackBacks go to ``.../trackback/``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.sites import DemoSite
from tests.interop.wordpress.actions import (
    comments_on,
    outbound,
    publish_entry,
    publish_post,
    wait_out_flood_window,
    xmlrpc_call,
)
from tests.interop.wordpress.conftest import SITE_NAME
from tests.interop.wordpress.instance import PRETTY, WordPress

pytestmark = pytest.mark.interop
PERMALINKS = PRETTY


def test_our_pingback_reaches_a_post_at_its_pretty_permalink(
    wordpress: WordPress, our_pingback: dict[str, Any]
) -> None:
    post, source = our_pingback["post"], our_pingback["source"]

    assert re.fullmatch(
        re.escape(wordpress.url("/")) + r"\d{4}/\d{2}/a-post-on-wordpress/", post["url"]
    )
    assert [(r["target_url"], r["protocol"], r["outcome"]) for r in our_pingback["outbound"]] == [
        (post["url"], "pingback", "success")
    ]
    assert [
        (c["comment_type"], c["comment_author"], c["comment_author_url"])
        for c in comments_on(wordpress, post["id"])
    ] == [("pingback", "Our entry linking WordPress", source)]
    assert xmlrpc_call(
        wordpress.url("/xmlrpc.php"), "pingback.extensions.getPingbacks", post["url"]
    ) == [source]


def test_wordpress_pingback_from_a_pretty_permalink_is_stored(
    wordpress: WordPress, wordpress_pingback: dict[str, Any]
) -> None:
    post, target = wordpress_pingback["post"], wordpress_pingback["target"]

    assert post["url"].endswith("/reading-a-django-blog/")
    assert wordpress_pingback["pinged"] == [target]
    assert [(b["kind"], b["target_url"], b["title"]) for b in wordpress_pingback["received"]] == [
        ("pingback", target, f"Reading a Django blog – {wordpress.blog_name}")
    ]


def test_our_requested_trackback_reaches_the_pretty_trackback_url(
    our_site: DemoSite, wordpress: WordPress
) -> None:
    post = publish_post(wordpress, "Pretty and tracked back", "<p>Trackbacks welcome.</p>")
    assert post["trackback_url"] == f"{post['url']}trackback/"
    wait_out_flood_window(wordpress)
    source = publish_entry(
        our_site,
        "pretty-trackback",
        "A TrackBack to a pretty URL",
        "<p>Hello.</p>",
        trackbacks=(post["trackback_url"],),
    )

    assert [(r["protocol"], r["outcome"]) for r in outbound(our_site, "pretty-trackback")] == [
        ("trackback", "success")
    ]
    assert [
        (c["comment_type"], c["comment_author"], c["comment_author_url"], c["comment_content"])
        for c in comments_on(wordpress, post["id"])
    ] == [
        ("trackback", SITE_NAME, source, "<strong>A TrackBack to a pretty URL</strong>\n\nHello.")
    ]
