"""Outbound: new links of a saved object → claimed rows → delivery → recorded results.

The network part is :mod:`backlinks_django.delivery`; this module decides what to send,
claims the rows, sends self-pings through the receive pipeline in-process, and records
every result; outside production it sends nothing, and imports record their links as handled
without sending (:func:`record_unsent`). It queues no task: the task wrappers in
:mod:`backlinks_django.tasks` do.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from django.contrib.contenttypes.models import ContentType
from django.contrib.sites.models import Site
from django.db import models
from django.utils import timezone

from backlinks_django import delivery, environment, fetch, html, limits, registry, weburl
from backlinks_django.admission import is_on_site, resolve_target
from backlinks_django.choices import Kind, Outcome, Protocol
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


def source_for(
    obj: models.Model, registration: registry.Registration, site: Site, *, feed_url: str = ""
) -> Source:
    """What peers (and update services) are told about ``obj``."""
    content = registration.get_content(obj)
    return Source(
        url=registration.absolute_url(obj, site.domain),
        title=html.to_plain_text(str(obj), limits.TITLE),
        excerpt=html.to_plain_text(content, limits.TRACKBACK_EXCERPT),
        blog_name=site.name,
        html=content,
        user_agent=fetch.user_agent(site.domain, "sending pings"),
        site_url=f"{app_settings.SCHEME}://{site.domain}/",
        feed_url=feed_url,
    )


def links_to_ping(source: Source) -> list[str]:
    """The links of the source worth a ping: not itself, not a site's front page."""
    return links_in(source.html, source.url)


def links_in(content: str, page_url: str) -> list[str]:
    """The links of ``content`` at ``page_url`` worth a ping (see :func:`links_to_ping`)."""
    own = weburl.normalize_url(page_url)
    return [
        url
        for url in html.extract_links(content, page_url)
        if weburl.normalize_url(url) != own
        and (urlsplit(url).query or urlsplit(url).path not in ("", "/"))
    ]


def record_links(
    obj: models.Model,
    source: Source,
    site: Site,
    *,
    force: bool = False,
    due_only: bool = False,
    services: Sequence[str] = (),
) -> Claim:
    """Store an outbound row for each new link of ``obj`` and each of the update ``services``
    not yet told of it, and claim the rows due now.

    The claim's ``busy_until`` says when other tasks sending some of these links, perhaps
    from older content, are surely done: send again then, so the receivers get this version.
    An update service is told once per object (its row's existence says it was), and again
    only when due for a retry, or with ``force``. With ``due_only`` (retries, recovery after
    a worker died) the Webmention targets already told are not told again.
    """
    OutboundPing.objects.bulk_create(
        _new_rows(obj, links_to_ping(source), services, site), ignore_conflicts=True
    )
    rows = OutboundPing.objects.for_object(obj).to_ping()  # never the links editors unticked
    if due_only and not force:
        rows = rows.due()
    elif not force:
        # Webmention receivers update (or remove) what they hold when told again, so every
        # save re-sends to old and new Webmention targets: also to those whose last answer
        # was a refusal (a receiver may answer 400 to a notice that the link is gone, and
        # must still hear that it came back). Rows waiting for a retry are already due.
        rows = rows.due() | rows.filter(protocol=Kind.WEBMENTION, next_attempt_at__isnull=True)
    return rows.claim(app_settings.SEND_DEADLINE + delivery.DEADLINE_GRACE + CLAIM_MARGIN)


def send_object(
    obj: models.Model,
    *,
    force: bool = False,
    due_only: bool = False,
    on_claim: Callable[[Claim], None] | None = None,
) -> Claim:
    """Ping every new (or due, or with ``force`` every) link of ``obj``; with ``due_only``,
    only its due links (:meth:`~backlinks_django.models.OutboundPingQuerySet.due`: new ones,
    retries whose time has come, and those a dead worker's claim left unrecorded).

    ``on_claim`` is called with the claim before anything is sent (the tasks queue the claim's
    recovery there). Returns the rows it sent, with their results, and when other tasks' claims
    on the object's other due links end.

    Delivery guarantee: each link is sent at least once, and again after a crash only if its
    result was not recorded. Each result is committed on its own as soon as its request ends,
    so a worker that dies mid-batch leaves unrecorded only the links whose requests were in
    flight (from the POST leaving to the result's commit, milliseconds after the answer) or
    not yet started; the claim's recovery sends those again, and only those, so a receiver
    may get a duplicate of an in-flight ping, and nothing else twice.
    """
    env = environment.current()
    if not env.sends:
        logger.info("Not sending the pings of %s %s: %r mode", obj._meta.label, obj.pk, env.name)
        return Claim([], None)
    if due_only and not force and not OutboundPing.objects.for_object(obj).due().exists():
        return Claim([], None)  # the usual case of a recovery: the claim's task finished
    registration = registry.get_registration(obj)
    site = Site.objects.get_current()
    site_settings = SiteSettings.objects.for_site(site)
    if registration is None or not site_settings.send_pings or not registration.is_open(obj):
        return Claim([], None)
    source = source_for(obj, registration, site, feed_url=site_settings.feed_url)
    services = site_settings.update_service_urls()
    claim = record_links(obj, source, site, force=force, due_only=due_only, services=services)
    if on_claim is not None and claim.rows:
        on_claim(claim)
    deliver(claim.rows, source, site, site_settings)
    return claim


def record_unsent(obj: models.Model, message: str, *, waiting_too: bool = False) -> int:
    """Record the new links of ``obj``, and the update services, as handled without sending.

    They are stored as skipped with ``message``, so no later save pings them; with
    ``waiting_too``, the object's rows waiting for a first attempt or a retry are skipped as
    well (but for those a task is sending right now). Returns how many rows were marked.
    Nothing is recorded for an object that takes no pings (unregistered, draft or closed):
    its links are pinged as usual once it is published.
    """
    registration = registry.get_registration(obj)
    if registration is None or not registration.is_open(obj):
        return 0
    site = Site.objects.get_current()
    services = SiteSettings.objects.for_site(site).update_service_urls()
    # Only the links: no title or excerpt to parse out of the content for an import.
    links = links_in(registration.get_content(obj), registration.absolute_url(obj, site.domain))
    known = set(OutboundPing.objects.for_object(obj).values_list("target_url", flat=True))
    new = _new_rows(
        obj,
        [url for url in links if url not in known],
        [url for url in services if url not in known],
        site,
        outcome=Outcome.SKIPPED,
        message=message,
    )
    OutboundPing.objects.bulk_create(new, ignore_conflicts=True)
    marked = len(new)
    if waiting_too:
        waiting = OutboundPing.objects.for_object(obj).due().not_in_flight()
        marked += waiting.update(
            outcome=Outcome.SKIPPED,
            message=message,
            next_attempt_at=None,
            claimed_until=None,  # an expired claim: not to be recovered
            updated_at=timezone.now(),
        )
    return marked


def _new_rows(
    obj: models.Model,
    links: Sequence[str],
    services: Sequence[str],
    site: Site,
    **fields: Any,
) -> list[OutboundPing]:
    """Unsaved outbound rows of ``obj`` for ``links`` and the update ``services``."""
    content_type = ContentType.objects.get_for_model(obj)

    def row(url: str, **extra: Any) -> OutboundPing:
        return OutboundPing(
            site=site,
            content_type=content_type,
            object_id=str(obj.pk),
            target_url=url,
            **fields,
            **extra,
        )

    return [row(url) for url in links] + [
        row(url, protocol=Protocol.UPDATE_SERVICE, endpoint=url) for url in services
    ]


def deliver(
    rows: Iterable[OutboundPing], source: Source, site: Site, site_settings: SiteSettings
) -> None:
    """Deliver the given claimed rows and record each result as soon as it comes."""
    remote: list[OutboundPing] = []
    for row in rows:
        if _is_update_service(row) or row.requested or not is_on_site(row.target_url, site):
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
        Job(
            row.target_url,
            trackback_url=row.target_url if row.requested else "",
            update_service=_is_update_service(row),
        )
        for row in remote
    ]
    # Each result is stored (one UPDATE, committed at once) as soon as its link is done, while
    # the others are still being sent: a worker that dies mid-batch loses only the links
    # still in flight, which its claim's recovery sends again.
    for index, result in delivery.deliver_each(jobs, source, seconds=seconds):
        remote[index].record_result(result)


def notify_deleted(content_type_id: int, object_pk: str, source_url: str) -> list[OutboundPing]:
    """Tell the Webmention targets of a deleted object, so they can remove its mentions.

    The object's URL should answer 410 Gone by now; receivers fetch it to see. Rows are not
    claimed: a notice is the latest news and safe to repeat, so one being sent by a save's
    task is told again, and that task's older result is not recorded over this one. Outside
    production nothing is sent.
    """
    if not environment.current().sends:
        return []
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


def _is_update_service(row: OutboundPing) -> bool:
    return row.protocol == Protocol.UPDATE_SERVICE and not row.requested


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
