"""Default values of the ``BACKLINKS`` setting (documented in the README)."""

from __future__ import annotations

from typing import Any

DEFAULTS: dict[str, Any] = {
    # "production", "staging", "development" or "local": only production sends pings. None:
    # the BACKLINKS_ENVIRONMENT environment variable, else "development" when DEBUG is on and
    # "production" when it is off.
    "ENVIRONMENT": None,
    # Networks (CIDR strings) the fetcher may reach although they are private,
    # loopback, link-local or reserved. Empty: only public addresses.
    "ALLOWED_NETWORKS": [],
    # Ports the fetcher may connect to (None: any port).
    "ALLOWED_PORTS": [80, 443],
    # Seconds to wait for a TCP connection to a remote site.
    "FETCH_CONNECT_TIMEOUT": 3.0,
    # Seconds one fetch may take from start to last byte, redirects included.
    "FETCH_DEADLINE": 10.0,
    # Bytes of body read at most (after decompression); more is an error.
    "FETCH_MAX_BYTES": 1_000_000,
    # Redirect hops followed at most; every hop is checked like the first URL.
    "FETCH_MAX_REDIRECTS": 5,
    # Fetch a trackback's source page and refuse it unless it links to the target.
    "VERIFY_TRACKBACKS": True,
    # Close pings on registered objects this many days after publication (None: never).
    "CLOSE_AFTER_DAYS": None,
    # E-mail settings.MANAGERS when a backlink is held for moderation.
    "NOTIFY_MANAGERS": False,
    # Seconds one e-mail to an object's author (the registry's author_email) gathers the
    # backlinks held or approved meanwhile; 0 sends one per backlink.
    "NOTIFY_AUTHORS_WINDOW": 300,
    # Characters of context kept on each side of the link in an excerpt.
    "EXCERPT_CONTEXT": 100,
    # Largest XML-RPC request body accepted, checked before parsing.
    "XMLRPC_MAX_BODY": 64 * 1024,
    # Dotted paths of spam checks run on every received backlink, in order.
    "SPAM_CHECKS": [
        "backlinks_django.spam.blocked_keywords",
        "backlinks_django.spam.too_many_links",
        "backlinks_django.spam.akismet",
        "backlinks_django.spam.field_lengths",
        "backlinks_django.spam.unverified",
        "backlinks_django.spam.known_domain",
        "backlinks_django.spam.pinged_domain",
    ],
    # Sending: links pinged at once by one task, and at once per host.
    "SEND_CONCURRENCY": 64,
    "SEND_PER_HOST": 2,
    # Seconds between two pings (not discovery requests) to the same host.
    "SEND_HOST_INTERVAL": 1.0,
    # Seconds one sending task may take in all; what is left is retried later.
    "SEND_DEADLINE": 60.0,
    # Attempts per link before giving up, and the first retry delay (doubled each time).
    "SEND_MAX_ATTEMPTS": 5,
    "SEND_RETRY_DELAY": 60.0,
    # Seconds to wait before retrying a peer's "too quickly" refusal (WordPress: 15 s).
    "SEND_FLOOD_WINDOW": 16.0,
    # Protocols tried for each link, in order; the first one the target advertises is used.
    "SEND_PROTOCOLS": ["webmention", "pingback", "trackback"],
    # Scheme of this site's absolute URLs in pings it sends.
    "SCHEME": "https",
    # Alias of the tasks backend (settings.TASKS) that runs sending work.
    "TASK_BACKEND": "default",
    # Rate limits as (events, seconds), or None for no limit, counted in the cache
    # RATE_LIMIT_CACHE (share it between processes: see the README).
    "RATE_LIMIT_PER_IP": (60, 60.0),
    "RATE_LIMIT_PER_SOURCE_DOMAIN": (60, 60.0),
    # Requests to any one server (the address connected to, an IPv6 one by IPV6_PREFIX),
    # counted twice apart: verifying received pings, and sending our own.
    "RATE_LIMIT_PER_FETCHED_HOST": (60, 60.0),
    "RATE_LIMIT_CACHE": "default",
    # Bits of an IPv6 sender's address that name one sender for limits and fairness (a /64
    # is what one subscriber or one server usually gets).
    "IPV6_PREFIX": 64,
    # Spam checks' parameters.
    "BLOCKED_KEYWORDS": [],
    "MAX_LINKS_IN_EXCERPT": 3,
    "MAX_TITLE_LENGTH": 255,
    "MAX_EXCERPT_LENGTH": 1000,
    "AUTO_APPROVE_KNOWN_DOMAINS": False,
    # Approve verified backlinks from domains this site has itself pinged successfully.
    "AUTO_APPROVE_PINGED_DOMAINS": False,
    "AKISMET_API_KEY": None,
    "AKISMET_BLOG_URL": None,
    # Answer to a Webmention: 201 with a Location status URL, or 202 Accepted.
    "WEBMENTION_STATUS": 201,
    # Seconds a web request may spend verifying a Pingback or TrackBack; what is not verified
    # by then (a slow or large source) is queued for a task. 0 queues every ping.
    "RECEIVE_BUDGET": 1.0,
    # Verifications running inside web requests at once, site-wide (one per sender and per
    # source domain); more are queued. Keep it below the number of web workers.
    "RECEIVE_CONCURRENCY": 2,
    # Queued pings one sender (IPV6_PREFIX) may have waiting, and all senders together;
    # beyond them pings are refused with fault 49 / HTTP 429.
    "INBOUND_QUEUE_PER_SENDER": 1000,
    "INBOUND_QUEUE_MAX": 100_000,
    # Queued pings of one sender, or from one source domain, verified at once.
    "INBOUND_CONCURRENCY": 2,
    # Queue name (of the TASK_BACKEND) for verification tasks: give it its own worker so
    # inbound work never delays sending.
    "INBOUND_TASK_QUEUE": "default",
    # Days a verified or refused queue row (with its sender's address) is kept before
    # ``manage.py process_inbound`` deletes it.
    "INBOUND_KEEP_DAYS": 30,
    # Days a sender's IP address and user agent are kept on backlinks and finished queue rows
    # before ``manage.py backlinks_privacy retention`` clears them (None: kept as long as the row).
    "IP_KEEP_DAYS": 30,
    # Delete an object's backlinks when the object is deleted; False keeps them (orphaned).
    "DELETE_BACKLINKS_WITH_OBJECT": True,
    # Longest source or target URL accepted.
    "MAX_URL_LENGTH": 2000,
    # A developer's machine: LOCAL_DEVELOPMENT_VALUES below replace the defaults of their keys
    # (keys set in BACKLINKS still win). Never on by default; check W022 warns when it is on
    # with DEBUG off.
    "LOCAL_DEVELOPMENT": False,
    # Fetch an approved backlink's author photo and keep a small copy in the default storage
    # (readers never load it from the author's server); False shows generated initials only.
    "AVATARS": True,
    # Where in the default storage the copies go (a prefix of their names).
    "AVATAR_PATH": "backlinks/avatars/",
    # Side in pixels of the square copy (stored as WebP; pages show it at 40 px).
    "AVATAR_SIZE": 96,
    # Largest photo downloaded, in bytes, and largest in pixels (width x height) decoded:
    # more is refused, so that a small file cannot expand into gigabytes (a decompression bomb).
    "AVATAR_MAX_BYTES": 1_000_000,
    "AVATAR_MAX_PIXELS": 4096 * 4096,
    # Image formats accepted (Pillow's names); anything else is refused.
    "AVATAR_FORMATS": ["JPEG", "PNG", "GIF", "WEBP"],
}

# What LOCAL_DEVELOPMENT = True sets: fetch pages of this machine and the local network on
# any port (sources and targets served by runserver), and name this site's pages http://.
# Link-local addresses (169.254.0.0/16, cloud metadata) stay refused.
LOCAL_DEVELOPMENT_VALUES: dict[str, Any] = {
    "ALLOWED_NETWORKS": [
        "127.0.0.0/8",
        "::1/128",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "fc00::/7",
    ],
    "ALLOWED_PORTS": None,
    "SCHEME": "http",
}

# Keys renamed since they were introduced: old name → new name. The old name is still read
# when the new one is not set, and system check backlinks_django.W001 asks for the rename.
RENAMED: dict[str, str] = {
    # "CHECKS" read like the system checks of checks.py.
    "CHECKS": "SPAM_CHECKS",
}
