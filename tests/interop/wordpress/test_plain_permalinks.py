"""Our site and a WordPress blog with plain permalinks (``/?p=N``) ping each other.

Every test looks at both sides: our rows through ``manage.py shell``, WordPress's
``wp_comments`` and posts' ``pinged`` through PHP. The ``wordpress_pingback`` and
``our_pingback`` exchanges (conftest.py) are made once per module.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.sites import DemoSite
from tests.interop.wordpress.actions import (
    POLL_TIMEOUT,
    backlinks_from,
    comments_on,
    outbound,
    post_pings,
    publish_entry,
    publish_post,
    send_wordpress_pings,
    trackback_url,
    wait_out_flood_window,
    xmlrpc_call,
)
from tests.interop.wordpress.conftest import SITE_NAME
from tests.interop.wordpress.instance import PLAIN, WordPress

pytestmark = pytest.mark.interop
PERMALINKS = PLAIN


def our_server(site: DemoSite) -> str:
    return site.url("/backlinks/xmlrpc/")


def test_wordpress_pingback_is_stored_with_the_post_title(
    wordpress: WordPress, wordpress_pingback: dict[str, Any]
) -> None:
    target = wordpress_pingback["target"]

    # WordPress counts the link as notified only when the pingback succeeded.
    assert wordpress_pingback["pinged"] == [target]
    assert wordpress_pingback["received"] == [
        {
            "kind": "pingback",
            "status": "pending",
            "target_url": target,
            # The page's <title> as WordPress writes it: post title, dash, blog name.
            "title": f"Reading a Django blog – {wordpress.blog_name}",
            "excerpt": "This morning I read an entry of a Django blog.",
            "blog_name": "",
        }
    ]


def test_wordpress_pings_again_what_it_forgot_and_takes_our_48(
    our_site: DemoSite, wordpress: WordPress
) -> None:
    targets = [
        publish_entry(our_site, f"one-of-two-{n}", f"One of two, {n}", "<p>Plain.</p>")
        for n in (1, 2)
    ]
    links = "".join(f'<a href="{url}">entry</a> ' for url in targets)
    post = publish_post(wordpress, "Two links to a Django blog", f"<p>{links}</p>")
    send_wordpress_pings(wordpress)
    # Both arrive, but WordPress 6.1 records only the last: add_ping() appends each link
    # to the `pinged` of the post object pingback() loaded before sending.
    assert post_pings(wordpress, post["id"])["pinged"] == targets[1:]
    assert sorted(b["target_url"] for b in backlinks_from(our_site, post["url"])) == targets

    # Updating the post pings the forgotten link again: we answer fault 48, "already
    # registered", which WordPress counts as pinged; we store nothing twice.
    wordpress.php("wp_update_post( array( 'ID' => $params['id'] ) );", id=post["id"])
    send_wordpress_pings(wordpress)
    assert sorted(post_pings(wordpress, post["id"])["pinged"]) == targets
    assert sorted(b["target_url"] for b in backlinks_from(our_site, post["url"])) == targets


def test_wordpress_finds_our_pingback_server_by_header_and_by_link(
    our_site: DemoSite, wordpress: WordPress
) -> None:
    entry = our_site.url("/entries/hello-backlinks/")
    found = wordpress.php(
        """
        $by_header = discover_pingback_server_uri( $params['entry'] );
        // Without the X-Pingback header, WordPress reads the page for rel="pingback".
        add_filter(
            'http_response',
            function ( $response, $args ) {
                if ( 'HEAD' === $args['method'] ) {
                    unset( $response['headers']['x-pingback'] );
                }
                return $response;
            },
            10,
            2
        );
        $result = array( $by_header, discover_pingback_server_uri( $params['entry'] ) );
        """,
        entry=entry,
    )
    assert found == [our_server(our_site), our_server(our_site)]


def test_our_pingback_reaches_a_post_at_its_plain_permalink(
    wordpress: WordPress, our_pingback: dict[str, Any]
) -> None:
    post, source = our_pingback["post"], our_pingback["source"]

    assert post["url"] == wordpress.url(f"/?p={post['id']}")
    assert our_pingback["outbound"] == [
        {
            "target_url": post["url"],
            "protocol": "pingback",
            "endpoint": wordpress.url("/xmlrpc.php"),
            "outcome": "success",
            "fault_code": None,
            "attempts": 1,
            "next_attempt_at": None,
        }
    ]
    # WordPress found the exact link in our page, and names the pingback after our <title>.
    assert comments_on(wordpress, post["id"]) == [
        {
            "comment_type": "pingback",
            "comment_author": "Our entry linking WordPress",
            "comment_author_url": source,
            "comment_content": "[&#8230;] We like this WordPress post. [&#8230;]",
            "comment_approved": "0",
        }
    ]


def test_flood_refusal_429_is_retried_after_wordpress_window(
    our_site: DemoSite, wordpress: WordPress
) -> None:
    first = publish_post(wordpress, "First of two posts", "<p>One.</p>")
    second = publish_post(wordpress, "Second of two posts", "<p>Two.</p>")
    wait_out_flood_window(wordpress)
    source = publish_entry(
        our_site,
        "two-wordpress-posts",
        "Two WordPress posts",
        f'<p>Read <a href="{first["url"]}">one</a> and <a href="{second["url"]}">two</a>.</p>',
    )

    # The second ping comes within WordPress's 15 s of the first: fault 429, not masked as 0.
    flooded = outbound(our_site, "two-wordpress-posts", until="flooded")
    assert sorted((row["outcome"], row["fault_code"]) for row in flooded) == [
        ("fault", 429),
        ("success", None),
    ]
    assert sum(len(comments_on(wordpress, post["id"])) for post in (first, second)) == 1

    # Our worker sends it again after SEND_FLOOD_WINDOW (16 s), and it is taken.
    settled = outbound(our_site, "two-wordpress-posts", count=2)
    assert {row["target_url"]: row["outcome"] for row in settled} == {
        first["url"]: "success",
        second["url"]: "success",
    }
    assert sorted(row["attempts"] for row in settled) == [1, 2]
    for post in (first, second):
        assert [
            (c["comment_type"], c["comment_author_url"])
            for c in comments_on(wordpress, post["id"])
        ] == [("pingback", source)]


def test_wordpress_trackback_without_charset_is_decoded(
    our_site: DemoSite, wordpress: WordPress
) -> None:
    target = publish_entry(our_site, "tracked-back", "Tracked back", "<p>A plain entry.</p>")
    ping_url = trackback_url(our_site, "tracked-back")
    # The editor fills in "Send trackbacks to"; the blog does not also send a pingback.
    post = publish_post(
        wordpress,
        "Zürich's crème brûlée",
        f'<p>Über den Dächern: "naïve" café, 東京, and <a href="{target}">this entry</a>...</p>',
        to_ping=ping_url,
        notify_linked=False,
    )
    sent = send_wordpress_pings(wordpress)

    requests = [headers for headers in sent if headers.startswith("POST /backlinks/trackback/")]
    assert len(requests) == 1
    assert "Content-Type: application/x-www-form-urlencoded\r\n" in requests[0]
    assert post_pings(wordpress, post["id"]) == {"pinged": [ping_url], "to_ping": []}
    assert backlinks_from(our_site, post["url"]) == [
        {
            "kind": "trackback",
            "status": "pending",
            "target_url": target,
            # WordPress sends HTML: its texturized quotes and ellipsis come as entities.
            "title": "Zürich’s crème brûlée",
            "excerpt": "Über den Dächern: “naïve” café, 東京, and this entry…",
            "blog_name": wordpress.blog_name,
        }
    ]


def test_our_requested_trackback_reaches_wordpress(
    our_site: DemoSite, wordpress: WordPress
) -> None:
    post = publish_post(wordpress, "A post taking trackbacks", "<p>Trackbacks welcome.</p>")
    assert post["trackback_url"] == wordpress.url(f"/wp-trackback.php?p={post['id']}")
    wait_out_flood_window(wordpress)
    source = publish_entry(
        our_site,
        "trackback-to-wordpress",
        "Über TrackBack",
        "<p>Grüße an WordPress.</p>",
        trackbacks=(post["trackback_url"],),
    )

    assert outbound(our_site, "trackback-to-wordpress") == [
        {
            "target_url": post["trackback_url"],
            "protocol": "trackback",
            "endpoint": post["trackback_url"],
            "outcome": "success",
            "fault_code": None,
            "attempts": 1,
            "next_attempt_at": None,
        }
    ]
    assert comments_on(wordpress, post["id"]) == [
        {
            "comment_type": "trackback",
            "comment_author": SITE_NAME,
            "comment_author_url": source,
            "comment_content": "<strong>Über TrackBack</strong>\n\nGrüße an WordPress.",
            "comment_approved": "0",
        }
    ]


def test_get_pingbacks_of_each_side_lists_what_the_other_sent(
    our_site: DemoSite,
    wordpress: WordPress,
    wordpress_pingback: dict[str, Any],
    our_pingback: dict[str, Any],
) -> None:
    # WordPress lists every pingback of the post, held for moderation or not.
    assert xmlrpc_call(
        wordpress.url("/xmlrpc.php"),
        "pingback.extensions.getPingbacks",
        our_pingback["post"]["url"],
    ) == [our_pingback["source"]]

    # WordPress asks us (its own XML-RPC client reads our answer): we list approved ones.
    ask_us = """
        include_once ABSPATH . WPINC . '/class-IXR.php';
        include_once ABSPATH . WPINC . '/class-wp-http-ixr-client.php';
        $client = new WP_HTTP_IXR_Client( $params['server'] );
        $client->query( 'pingback.extensions.getPingbacks', $params['target'] );
        $result = $client->isError() ? $client->getErrorCode() : $client->getResponse();
    """
    server, target = our_server(our_site), wordpress_pingback["target"]
    assert wordpress.php(ask_us, server=server, target=target) == []
    our_site.shell(
        """
        from backlinks_django.models import Backlink
        from backlinks_django.moderation import approve
        approve(Backlink.objects.filter(source_url=params["source"]))
        """,
        source=wordpress_pingback["post"]["url"],
    )
    assert wordpress.php(ask_us, server=server, target=target) == [
        wordpress_pingback["post"]["url"]
    ]


def test_wordpress_pingback_from_a_slow_page_is_queued_then_verified(
    our_site: DemoSite, wordpress: WordPress
) -> None:
    # The mu-plugin slow-posts.php makes this post answer after 2 s: longer than our
    # RECEIVE_BUDGET (1 s), so the request queues the ping and our worker verifies it.
    target = publish_entry(
        our_site, f"read-slowly-{wordpress.name}", "Read slowly", "<p>An entry.</p>"
    )
    post = publish_post(
        wordpress,
        "Slow: a page that takes its time",
        f'<p>I read <a href="{target}">an entry of a Django blog</a> at leisure.</p>',
    )
    answers = wordpress.php(
        """
        $answers = array();
        add_action(
            'http_api_debug',
            function ( $response, $context, $class, $args, $url ) use ( &$answers ) {
                if ( false !== strpos( $url, '/backlinks/xmlrpc/' ) ) {
                    $answers[] = is_wp_error( $response )
                        ? $response->get_error_message()
                        : wp_remote_retrieve_body( $response );
                }
            },
            10,
            5
        );
        do_all_pings();
        $result = $answers;
        """,
        timeout=120,
    )

    # WordPress heard the pingback protocol's success answer (a string, no fault)...
    assert len(answers) == 1
    assert "queued for verification" in answers[0]
    assert "faultCode" not in answers[0]
    # ... so it counts the link as notified and will not ping it again.
    assert post_pings(wordpress, post["id"])["pinged"] == [target]
    # Our worker fetched the slow page again, outside any web request, and stored it.
    queued = our_site.shell(
        """
        from backlinks_django.models import Backlink, InboundPing

        def done():
            rows = list(
                InboundPing.objects.filter(source_url=params["source"]).values(
                    "kind", "state", "message"
                )
            )
            finished = rows and all(
                row["state"] in ("accepted", "rejected") for row in rows
            )
            stored = Backlink.objects.filter(source_url=params["source"]).exists()
            return rows if finished and stored else None

        result = wait_until(done, timeout=params["poll_timeout"]) or list(
            InboundPing.objects.filter(source_url=params["source"]).values()
        )
        """,
        source=post["url"],
        poll_timeout=POLL_TIMEOUT,
        timeout=POLL_TIMEOUT + 30,
    )
    assert [(row["kind"], row["state"]) for row in queued] == [("pingback", "accepted")]
    assert backlinks_from(our_site, post["url"]) == [
        {
            "kind": "pingback",
            "status": "pending",
            "target_url": target,
            "title": f"Slow: a page that takes its time – {wordpress.blog_name}",
            "excerpt": "I read an entry of a Django blog at leisure.",
            "blog_name": "",
        }
    ]
