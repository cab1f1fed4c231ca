"""Received pings recorded for verification in a task, and that verification (Webmention today).

The request is answered once :func:`accept_webmention` has run the checks that need no fetch
and recorded it; a task then runs :func:`process_webmention`, which puts it through the
pipeline and records how it ended (shown at the status URL).
"""

from __future__ import annotations

import logging

from django.contrib.sites.models import Site

from backlinks_django import limits
from backlinks_django.admission import admit
from backlinks_django.choices import Kind, Status
from backlinks_django.exceptions import BacklinkError, InvalidRequest
from backlinks_django.models import WebmentionRequest
from backlinks_django.pipeline import Ping, receive

__all__ = ["accept_webmention", "process_webmention"]

logger = logging.getLogger(__name__)


def accept_webmention(
    source_url: object, target_url: object, site: Site, remote_ip: str | None, user_agent: str
) -> WebmentionRequest:
    """Run the synchronous Webmention checks and record the request for verification."""
    if not isinstance(source_url, str) or not isinstance(target_url, str):
        raise InvalidRequest("Both source and target are required.")
    ping = Ping(
        kind=Kind.WEBMENTION,
        source_url=source_url,
        target_url=target_url.partition("#")[0],
        remote_ip=remote_ip,
        user_agent=user_agent,
    )
    admitted = admit(ping.kind, ping.source_url, ping.target_url, site, remote_ip=ping.remote_ip)
    return WebmentionRequest.objects.create(
        site=site,
        source_url=admitted.source_url,
        target_url=admitted.target_url,
        remote_ip=ping.remote_ip,
        user_agent=ping.user_agent,
    )


def process_webmention(request_id: str) -> WebmentionRequest | None:
    """Verify a recorded Webmention through :func:`receive`; record how it ended."""
    request = WebmentionRequest.objects.select_related("site").filter(pk=request_id).first()
    if request is None:
        return None
    ping = Ping(
        kind=Kind.WEBMENTION,
        source_url=request.source_url,
        target_url=request.target_url,
        remote_ip=request.remote_ip,
        user_agent=request.user_agent,
        rate_limit=False,
    )
    try:
        backlink = receive(ping, site=request.site)
    except BacklinkError as error:
        request.state = WebmentionRequest.State.REJECTED
        request.message = error.message[: limits.MESSAGE]
    except Exception:
        # A bug of ours met by some source page: the request must not stay "queued" forever.
        logger.exception("Unexpected error verifying Webmention %s", request.pk)
        request.state = WebmentionRequest.State.REJECTED
        request.message = "The source could not be processed."
    else:
        request.backlink = backlink
        if backlink.status == Status.REMOVED:
            request.state = WebmentionRequest.State.REMOVED
            request.message = "The source no longer links to the target."
        else:
            request.state, request.message = WebmentionRequest.State.ACCEPTED, ""
    request.save()
    return request
