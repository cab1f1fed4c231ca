"""Fetching a ping's source page and finding its link to the target, at receipt and later.

Verification fails with :class:`~backlinks_django.exceptions.SourceNotFound` (fault 16;
:class:`~backlinks_django.exceptions.SourceGone` for a 410) or
:class:`~backlinks_django.exceptions.NoLinkToTarget` (fault 17).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Literal

from django.contrib.sites.models import Site

from backlinks_django import fetch, limits, linksearch, mf2, moderation
from backlinks_django.choices import Kind, Status
from backlinks_django.conf import app_settings
from backlinks_django.exceptions import NoLinkToTarget, SourceGone, SourceNotFound, VerifyLater
from backlinks_django.models import Backlink

__all__ = ["Verified", "mark_removed", "reverify", "verify_source"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verified:
    """What verification found on the source page."""

    context: linksearch.LinkContext
    entry: mf2.Entry | None = None


def verify_source(
    kind: Kind,
    source_url: str,
    target_url: str,
    site: Site,
    *,
    remote_ip: str | None = None,
    source_html: str | None = None,
    budget: float | None = None,
) -> Verified:
    """Fetch the source (unless its HTML is given) and find the link, or raise 16 / 17.

    A source answering 410 Gone raises SourceGone (a SourceNotFound). With a ``budget`` (seconds:
    verification inside a web request), a source that takes longer or is larger than
    ``limits.INLINE_PAGE`` raises VerifyLater, as does a host fetched too often lately.
    """
    if source_html is not None:
        return Verified(_found(linksearch.find_link(source_html, source_url, target_url)))
    response = _fetch_source(kind, source_url, site, remote_ip, budget)
    if response.status == 410:
        raise SourceGone()
    if response.status >= 400:
        raise SourceNotFound(f"The source URL answered HTTP {response.status}.")
    context = app_settings.EXCERPT_CONTEXT
    if not response.is_html:
        if kind != Kind.WEBMENTION:
            raise NoLinkToTarget("The source is not an HTML page.")
        found = linksearch.find_mention(
            response.text, response.content_type, response.url, target_url, context
        )
        return Verified(_found(found))
    # Whatever the protocol, the page was fetched: its microformats say who wrote it and
    # whether it replies to, likes or reposts the target. They are read from a tree of the
    # page's first MICROFORMATS characters when those can hold an entry; the link's context
    # needs no tree.
    found = _found(
        linksearch.find_link(
            response.text,
            response.url,
            target_url,
            context,
            media=kind == Kind.WEBMENTION,
            tree_limit=limits.MICROFORMATS,
        )
    )
    entry = mf2.read_entry(response.text[: limits.MICROFORMATS], response.url, target_url)
    return Verified(found, entry)


def _fetch_source(
    kind: Kind, source_url: str, site: Site, remote_ip: str | None, budget: float | None
) -> fetch.Response:
    on_behalf = f"verifying {kind} from {remote_ip or 'unknown'}"
    headers = {"User-Agent": fetch.user_agent(site.domain, on_behalf)}
    if remote_ip:
        headers["X-Pingback-Forwarded-For"] = remote_ip
    try:
        if budget is None:
            return fetch.fetch(source_url, headers=headers, truncate=True)
        with fetch.ending_by(time.monotonic() + budget):
            return fetch.fetch(source_url, headers=headers, max_bytes=limits.INLINE_PAGE)
    except fetch.HostBusy as exc:
        raise VerifyLater(exc.message, exc.retry_after) from None
    except (fetch.FetchTimeout, fetch.ResponseTooLarge) as exc:
        if budget is None:
            raise _unfetchable(source_url, exc) from None
        raise VerifyLater(exc.message) from None
    except fetch.FetchError as exc:
        raise _unfetchable(source_url, exc) from None


def _unfetchable(source_url: str, error: fetch.FetchError) -> SourceNotFound:
    # Peers hear one message whatever the cause: "not a public address" and "could not be
    # resolved" would tell them how this site sees their names.
    logger.info("Source %s could not be fetched: %s", source_url, error.message)
    return SourceNotFound(detail=f"The source URL could not be fetched: {error.message}")


def _found(context: linksearch.LinkContext | None) -> linksearch.LinkContext:
    if context is None:
        raise NoLinkToTarget()
    return context


def mark_removed(backlink: Backlink) -> Backlink:
    """The source no longer links here: hide the backlink, keep it for the record."""
    moderation.set_status(
        Backlink.objects.filter(pk=backlink.pk),
        Status.REMOVED,
        reason="The source no longer links here.",
    )
    backlink.refresh_from_db()
    return backlink


def reverify(backlink: Backlink) -> Literal["ok", "removed", "unreachable"]:
    """Fetch a stored backlink's source again; mark it removed if it no longer links.

    Returns "ok", "removed" or "unreachable" (kept as it is: the failure may pass).
    """
    try:
        verify_source(Kind(backlink.kind), backlink.source_url, backlink.target_url, backlink.site)
    except (SourceGone, NoLinkToTarget):
        mark_removed(backlink)
        return "removed"
    except SourceNotFound:
        return "unreachable"
    return "ok"
