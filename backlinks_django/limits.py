"""Lengths the app stores or sends at most: one place for the models, the pipeline and the wire."""

from __future__ import annotations

# Stored text: the model fields' max_length, and what the pipeline crops to before storing.
TITLE = 255
BLOG_NAME = 255
AUTHOR_NAME = 255
EXCERPT = 1000
USER_AGENT = 255
REASON = 255
URL = 2000
# DNS names are at most 253 characters (RFC 1035); BlockedDomain.domain holds that many.
HOST = 253
# Peers' answers and queue messages kept for the outbound log and status pages.
MESSAGE = 500
OUTBOUND_MESSAGE = 2000
# WordPress stores at most 252 characters of a TrackBack excerpt; we send no more.
TRACKBACK_EXCERPT = 252
# Characters of a source page read into a tree for its microformats: a tree costs far more
# than the link search (bench/linksearch.py), and an h-entry starts early in its page.
MICROFORMATS = 256 * 1024
# And at most this many elements of them: a tree costs 15-40 µs per element with mf2py reading
# it, so 256 KB of short tags (85,000 elements) cost 2-3 s; a blog post page has a few thousand.
MICROFORMATS_ELEMENTS = 10_000
# Bytes of a source page read while a web request waits (RECEIVE_BUDGET): a larger page is
# verified by a task instead, so a request's parse work stays small.
INLINE_PAGE = 128 * 1024
