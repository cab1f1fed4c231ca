"""Outbound: new links of a saved object → claimed rows → delivery → recorded results.

The network part is :mod:`backlinks_django.delivery`; this module decides what to send,
claims the rows, sends self-pings through the receive pipeline in-process, and records
every result. It queues no task: the task wrappers in :mod:`backlinks_django.tasks` do.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.contrib.contenttypes.models import ContentType
from django.contrib.sites.models import Site
from django.db import models
from django.utils import timezone

from backlinks_django import delivery, fetch, html, limits, registry, weburl
from backlinks_django.admission import is_on_site, resolve_target
from backlinks_django.choices import Kind, Outcome
from backlinks_django.conf import app_settings
from backlinks_django.delivery import Job, Source
from backlinks_django.exceptions import AlreadyRegistered, BacklinkError
from backlinks_django.models import Claim, OutboundPing, SiteSettings
from backlinks_django.pipeline import Ping, receive
from backlinks_django.results import Result

logger = logging.getLogger(__name__)

# Seconds a claimed row stays held beyond the deadline and its grace, before another task may
# take it over.
CLAIM_MARGIN = 60.0
# Seconds between the end of the requests and the end of the claim, at the least.
CLAIM_SAFETY = 5.0


def source_for(obj: models.Model, registration: registry.Registration, site: Site) -> Source:
    """What peers are told about ``obj``."""
    content = registration.get_content(obj)
    return Source(
        url=registration.absolute_url(obj, site.domain),
        title=html.to_plain_text(str(obj), limits.TITLE),
        excerpt=html.to_plain_text(content, limits.TRACKBACK_EXCERPT),
        blog_name=site.name,
        html=content,
        user_agent=fetch.user_agent(site.domain, "sending pings"),
    )


def links_to_ping(source: Source) -> list[str]:
    """The links of the source worth a ping: not itself, not a site's front page."""
    own = weburl.normalize_url(source.url)
    return [
        url
        for url in html.extract_links(source.html, source.url)
        if weburl.normalize_url(url) != own
        and (urlsplit(url).query or urlsplit(url).path not in ("", "/"))
    ]


def record_links(obj: models.Model, source: Source, site: Site, *, force: bool = False) -> Claim:
    """Store an outbound row for each new link of ``obj``, and claim the rows due now.

    The claim's ``busy_until`` says when other tasks sending some of these links, perhaps
    from older content, are surely done: send again then, so the receivers get this version.
    """
    content_type = ContentType.objects.get_for_model(obj)
    OutboundPing.objects.bulk_create(
        [
            OutboundPing(
                site=site, content_type=content_type, object_id=str(obj.pk), target_url=url
            )
            for url in links_to_ping(source)
        ],
        ignore_conflicts=True,
    )
    rows = OutboundPing.objects.for_object(obj).to_ping()  # never the links editors unticked
    if not force:
        # Webmention receivers update (or remove) what they hold when told again, so every
        # save re-sends to old and new Webmention targets: also to those whose last answer
        # was a refusal (a receiver may answer 400 to a notice that the link is gone, and
        # must still hear that it came back). Rows waiting for a retry are already due.
        rows = rows.due() | rows.filter(protocol=Kind.WEBMENTION, next_attempt_at__isnull=True)
    return rows.claim(app_settings.SEND_DEADLINE + delivery.DEADLINE_GRACE + CLAIM_MARGIN)


def send_object(obj: models.Model, *, force: bool = False) -> Claim:
    """Ping every new (or due, or with ``force`` every) link of ``obj``.

    Returns the rows it sent, with their results, and when other tasks' claims on the
    object's other due links end.
    """
    registration = registry.get_registration(obj)
    site = Site.objects.get_current()
    site_settings = SiteSettings.objects.for_site(site)
    if registration is None or not site_settings.send_pings or not registration.is_open(obj):
        return Claim([], None)
    source = source_for(obj, registration, site)
    claim = record_links(obj, source, site, force=force)
    deliver(claim.rows, source, site, site_settings)
    return claim


def deliver(
    rows: Iterable[OutboundPing], source: Source, site: Site, site_settings: SiteSettings
) -> None:
    """Deliver the given claimed rows and record each result."""
    remote: list[OutboundPing] = []
    for row in rows:
        if row.requested or not is_on_site(row.target_url, site):
            remote.append(row)
        else:
            try:
                result = _deliver_self(row, source, site, site_settings)
            except Exception:
                # A site's receiver or check failed on the self-ping: the others still go.
                logger.exception("Unexpected error while self-pinging %s", row.target_url)
                result = Result(Outcome.UNREACHABLE, message=delivery.UNEXPECTED)
            row.record_result(result)
    if not remote:
        return
    # Self-pings may have been slow: the requests end well before this task's claims do, so
    # that no other task takes the rows over while they are still being sent.
    seconds = app_settings.SEND_DEADLINE
    claims = [row.claimed_until for row in remote if row.claimed_until is not None]
    if claims:
        left = (min(claims) - timezone.now()).total_seconds()
        seconds = max(0.0, min(seconds, left - delivery.DEADLINE_GRACE - CLAIM_SAFETY))
    jobs = [
        Job(row.target_url, trackback_url=row.target_url if row.requested else "")
        for row in remote
    ]
    results = delivery.deliver_all(jobs, source, seconds=seconds)
    for row, result in zip(remote, results, strict=True):
        row.record_result(result)


def notify_deleted(content_type_id: int, object_pk: str, source_url: str) -> list[OutboundPing]:
    """Tell the Webmention targets of a deleted object, so they can remove its mentions.

    The object's URL should answer 410 Gone by now; receivers fetch it to see. Rows are not
    claimed: a notice is the latest news and safe to repeat, so one being sent by a save's
    task is told again, and that task's older result is not recorded over this one.
    """
    rows = list(
        OutboundPing.objects.filter(
            content_type_id=content_type_id,
            object_id=object_pk,
            protocol=Kind.WEBMENTION,
            outcome=Outcome.SUCCESS,
            do_not_ping=False,
        ).select_related("site")
    )
    with fetch.ending_by(time.monotonic() + app_settings.SEND_DEADLINE):
        for row in rows:
            agent = fetch.user_agent(row.site.domain, "sending pings")
            try:
                result = delivery.resend_webmention(
                    row.endpoint, source_url, row.target_url, user_agent=agent
                )
            except Exception:
                logger.exception("Unexpected error while notifying %s", row.target_url)
                result = Result(Outcome.UNREACHABLE, message=delivery.UNEXPECTED)
            row.record_result(result, whatever_the_claim=True)
    return rows


def _deliver_self(
    row: OutboundPing, source: Source, site: Site, site_settings: SiteSettings
) -> Result:
    try:
        resolve_target(row.target_url, site)
    except BacklinkError:
        return Result(Outcome.NO_ENDPOINT, message="Not a page of this site that takes pings.")
    if not site_settings.self_pings:
        return Result(Outcome.SKIPPED, message="Self-pings are switched off for this site.")
    try:
        receive(
            Ping(
                kind=Kind.PINGBACK,
                source_url=source.url,
                target_url=row.target_url,
                title=source.title,
                blog_name=source.blog_name,
                user_agent=source.user_agent,
                source_html=source.html,
            ),
            site=site,
        )
    except AlreadyRegistered as error:
        return Result(Outcome.SUCCESS, Kind.PINGBACK, message=error.message, fault_code=48)
    except BacklinkError as error:
        outcome = Outcome.FAULT if error.fault_code else Outcome.REJECTED
        return Result(outcome, Kind.PINGBACK, message=error.message, fault_code=error.fault_code)
    return Result(Outcome.SUCCESS, Kind.PINGBACK, message="Delivered in-process.")
