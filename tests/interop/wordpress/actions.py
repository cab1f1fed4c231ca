"""What the WordPress interop tests do on either side: publish, send pings, read what arrived.

WordPress is driven through PHP (:meth:`WordPress.php`) as its admin screens and cron would
drive it; our site through ``manage.py shell`` as its admin and worker would.
"""

from __future__ import annotations

import html
import re
import time
import xmlrpc.client
from typing import Any

from tests.e2e.sites import DemoSite, http
from tests.interop.wordpress.instance import WordPress

# Seconds to wait for pings to arrive, our worker's retries included.
POLL_TIMEOUT = 30.0
# WordPress refuses a comment (pingbacks and trackbacks are comments) less than 15 s after
# the last one from the same IP address or with the same e-mail address, empty for pings
# (wp_check_comment_flood(), wp_throttle_comment_flood()).
WORDPRESS_FLOOD_SECONDS = 15


# --- WordPress ----------------------------------------------------------------------------------


def publish_post(
    blog: WordPress, title: str, content: str, *, to_ping: str = "", notify_linked: bool = True
) -> dict[str, Any]:
    """Publish a post as its editor would; return its ``id``, ``url`` and ``trackback_url``.

    ``to_ping`` is the editor's "Send trackbacks to" field; ``notify_linked`` the blog's
    "Attempt to notify any blogs linked to from the post" (pingbacks) at publication.
    """
    return blog.php(
        """
        $notify = get_option( 'default_pingback_flag' );
        update_option( 'default_pingback_flag', $params['notify_linked'] ? '1' : '' );
        $id = wp_insert_post(
            array(
                'post_title'   => $params['title'],
                'post_content' => $params['content'],
                'post_status'  => 'publish',
                'to_ping'      => $params['to_ping'],
            ),
            true
        );
        update_option( 'default_pingback_flag', $notify );
        if ( is_wp_error( $id ) ) {
            throw new Exception( $id->get_error_message() );
        }
        $GLOBALS['post'] = get_post( $id );  // get_trackback_url() reads the loop's post
        $result = array(
            'id'            => $id,
            'url'           => get_permalink( $id ),
            'trackback_url' => get_trackback_url(),
        );
        """,
        title=title,
        content=content,
        to_ping=to_ping,
        notify_linked=notify_linked,
    )


def send_wordpress_pings(blog: WordPress) -> list[str]:
    """Run ``do_all_pings()`` as WordPress's cron does; return the request headers it sent."""
    return blog.php(
        """
        $sent = array();
        // The transport's own headers (curl's Content-Type) are only seen on the wire.
        add_action(
            'requests-curl.before_send',
            function ( &$handle ) {
                curl_setopt( $handle, CURLINFO_HEADER_OUT, true );
            }
        );
        add_action(
            'requests-curl.after_request',
            function ( &$headers, &$info ) use ( &$sent ) {
                $sent[] = isset( $info['request_header'] ) ? $info['request_header'] : '';
            },
            10,
            2
        );
        do_all_pings();
        $result = $sent;
        """,
        timeout=120,
    )


def post_pings(blog: WordPress, post_id: int) -> dict[str, list[str]]:
    """The post's ``pinged`` (links notified) and ``to_ping`` (trackbacks still to send)."""
    row = blog.php(
        """
        $result = $wpdb->get_row(
            $wpdb->prepare( "SELECT pinged, to_ping FROM $wpdb->posts WHERE ID = %d", $params['id'] ),
            ARRAY_A
        );
        """,
        id=post_id,
    )
    return {name: row[name].split() for name in ("pinged", "to_ping")}


def comments_on(blog: WordPress, post_id: int) -> list[dict[str, str]]:
    """The post's rows in ``wp_comments`` (pingbacks and trackbacks are comments), oldest first."""
    return blog.php(
        """
        $result = $wpdb->get_results(
            $wpdb->prepare(
                "SELECT comment_type, comment_author, comment_author_url, comment_content,
                    comment_approved
                FROM $wpdb->comments WHERE comment_post_ID = %d ORDER BY comment_ID",
                $params['id']
            ),
            ARRAY_A
        );
        """,
        id=post_id,
    )


def wait_out_flood_window(blog: WordPress) -> None:
    """Sleep until WordPress takes a ping from 127.0.0.1 without calling it a flood."""
    seconds = blog.php(
        """
        $last = $wpdb->get_var(
            "SELECT MAX(comment_date_gmt) FROM $wpdb->comments
            WHERE comment_author_IP = '127.0.0.1' OR comment_author_email = ''"
        );
        $result = $last ? strtotime( $last . ' UTC' ) + $params['window'] + 1 - time() : 0;
        """,
        window=WORDPRESS_FLOOD_SECONDS,
    )
    if seconds > 0:
        time.sleep(seconds)


def xmlrpc_call(server_url: str, method: str, *args: Any) -> Any:
    """Call an XML-RPC method; a fault is raised as ``xmlrpc.client.Fault``."""
    with xmlrpc.client.ServerProxy(server_url) as proxy:
        return getattr(proxy, method)(*args)


# --- Our site -----------------------------------------------------------------------------------


def publish_entry(
    site: DemoSite, slug: str, title: str, body: str, *, trackbacks: tuple[str, ...] = ()
) -> str:
    """Publish an entry as the admin's save does; return its URL.

    Its links are pinged by our worker, and the TrackBack URLs of ``trackbacks`` too: what
    the admin's "Send trackbacks to" inline stores, in the same transaction as the entry.
    """
    site.shell(
        """
        from django.contrib.contenttypes.models import ContentType
        from django.contrib.sites.models import Site
        from django.db import transaction
        from django.utils import timezone
        from backlinks_django.models import Kind, OutboundPing
        from blog.models import Entry

        with transaction.atomic():  # the task is queued when it commits
            entry = Entry.objects.create(
                slug=params["slug"], title=params["title"], body=params["body"],
                published_at=timezone.now(), pings_open=True,
            )
            for url in params["trackbacks"]:
                OutboundPing.objects.create(
                    site=Site.objects.get_current(),
                    content_type=ContentType.objects.get_for_model(Entry),
                    object_id=str(entry.pk),
                    target_url=url,
                    endpoint=url,
                    requested=True,
                    protocol=Kind.TRACKBACK,
                )
        """,
        slug=slug,
        title=title,
        body=body,
        trackbacks=list(trackbacks),
    )
    return site.url(f"/entries/{slug}/")


def trackback_url(site: DemoSite, slug: str) -> str:
    """The TrackBack ping URL of one of our entries, from the RDF block of its page."""
    with http() as session:
        page = session.get(site.url(f"/entries/{slug}/"), timeout=10)
    page.raise_for_status()
    found = re.search(r'trackback:ping="([^"]+)"', page.text)
    assert found, f"no TrackBack RDF on {page.url}"
    return html.unescape(found.group(1))


OUTBOUND_FIELDS = ["target_url", "protocol", "endpoint", "outcome", "fault_code", "attempts"]


def outbound(site: DemoSite, slug: str, *, until: str = "settled", count: int = 1) -> list[Any]:
    """Our outbound rows of an entry once ``until`` holds (or after POLL_TIMEOUT), by URL.

    ``settled``: ``count`` rows, none waiting for a first attempt or a retry.
    ``flooded``: some row refused with WordPress's flood fault, 429, and a retry planned.
    """
    return site.shell(
        """
        from backlinks_django.models import OutboundPing, Outcome
        from blog.models import Entry

        def rows():
            entry = Entry.objects.get(slug=params["slug"])
            found = list(
                OutboundPing.objects.for_object(entry)
                .order_by("target_url")
                .values(*params["fields"], "next_attempt_at")
            )
            if params["until"] == "flooded":
                done = any(r["fault_code"] == 429 and r["next_attempt_at"] for r in found)
            else:
                done = len(found) == params["count"] and not any(
                    r["outcome"] == Outcome.PENDING or r["next_attempt_at"] for r in found
                )
            return found if done else None

        found = wait_until(rows, timeout=params["poll_timeout"])
        if found is None:
            entry = Entry.objects.get(slug=params["slug"])
            found = list(OutboundPing.objects.for_object(entry).values())
        result = found
        """,
        slug=slug,
        until=until,
        count=count,
        fields=OUTBOUND_FIELDS,
        poll_timeout=POLL_TIMEOUT,
        timeout=POLL_TIMEOUT + 30,
    )


def backlinks_from(site: DemoSite, source_url: str) -> list[dict[str, Any]]:
    """Our stored backlinks whose source is ``source_url``."""
    return site.shell(
        """
        from backlinks_django.models import Backlink
        result = list(
            Backlink.objects.filter(source_url=params["source"]).values(
                "kind", "status", "target_url", "title", "excerpt", "blog_name"
            )
        )
        """,
        source=source_url,
    )
