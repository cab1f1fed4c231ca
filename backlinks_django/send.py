"""Outbound: new links of a saved object → discovery → delivery → outbound record.

The network part (:func:`deliver_remote`) runs in a bounded thread pool and
touches no database; the calling thread records every result, so one task
holds one database connection whatever the number of links.
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.contrib.contenttypes.models import ContentType
from django.contrib.sites.models import Site
from django.db import models
from django.utils import timezone

from backlinks_django import fetch, html, limits, registry
from backlinks_django.choices import Kind, Outcome
from backlinks_django.conf import app_settings
from backlinks_django.exceptions import (
    AlreadyRegistered,
    BacklinkError,
    DeliveryError,
    NoEndpoint,
    PeerFault,
    PeerHTTPError,
    PeerRejected,
    PeerTimeout,
)
from backlinks_django.models import OutboundPing, OutboundPingQuerySet, SiteSettings
from backlinks_django.protocols import fetch_from_peer, pingback, trackback, webmention
from backlinks_django.receive import Ping, is_on_site, receive, resolve_target

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Source:
    """What we tell peers about the object whose links we ping."""

    url: str
    title: str
    excerpt: str
    blog_name: str
    html: str
    user_agent: str


@dataclass(frozen=True)
class Job:
    """One link to deliver; ``trackback_url`` is set for editor-requested TrackBacks."""

    target_url: str
    trackback_url: str = ""


@dataclass
class Result:
    outcome: Outcome
    protocol: str = ""
    endpoint: str = ""
    message: str = ""
    fault_code: int | None = None
    retry: bool = False
    flood: bool = False


# Seconds after SEND_DEADLINE that the task waits for requests cut off at the deadline.
DEADLINE_GRACE = 2.0
# Seconds a claimed row stays held beyond that, before another task may take it over.
CLAIM_MARGIN = 60.0
# Seconds between the end of the requests and the end of the claim, at the least.
CLAIM_SAFETY = 5.0
UNEXPECTED = "Unexpected error; see the server log."


@dataclass
class HostGate:
    """At most ``per_host`` requests at once to one host; pings ``interval`` seconds apart.

    Nothing passes after ``ends_at`` (a ``time.monotonic()``): the sending deadline.
    """

    per_host: int
    interval: float
    ends_at: float = math.inf
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _slots: dict[str, threading.Semaphore] = field(default_factory=dict)
    _next_ping: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    @contextmanager
    def slot(self, url: str, *, ping: bool = False) -> Iterator[None]:
        """Hold a request slot for ``url``'s host; a ``ping`` also waits for its turn."""
        host = (urlsplit(url).hostname or "").lower()
        with self._lock:
            semaphore = self._slots.setdefault(host, threading.Semaphore(self.per_host))
        with semaphore:
            if ping:
                with self._lock:
                    now = time.monotonic()
                    start = max(now, self._next_ping[host])
                    if start >= self.ends_at:
                        raise PeerTimeout("The sending deadline passed before its turn.")
                    self._next_ping[host] = start + self.interval
                if start > now:
                    time.sleep(start - now)
            yield


def deliver_remote(job: Job, source: Source, gate: HostGate) -> Result:
    """Discover the target's endpoint and ping it; never raises for a peer's failure.

    One GET of the target serves every protocol's discovery; the first protocol of
    ``SEND_PROTOCOLS`` that the target advertises is used.
    """
    try:
        with fetch.ending_by(gate.ends_at):
            return _deliver_remote(job, source, gate)
    except DeliveryError as exc:
        return _failure(exc)


def _deliver_remote(job: Job, source: Source, gate: HostGate) -> Result:
    if job.trackback_url:
        with gate.slot(job.trackback_url, ping=True):
            return _sent_trackback(job.trackback_url, source)
    with gate.slot(job.target_url):
        response = fetch_from_peer(
            job.target_url,
            headers={"User-Agent": source.user_agent},
            max_bytes=webmention.DISCOVERY_BYTES,
            truncate=True,
        )
    if response.status >= 400:
        raise PeerHTTPError(response.status)
    for protocol in app_settings.SEND_PROTOCOLS:
        result = _try_protocol(protocol, response, job, source, gate)
        if result is not None:
            return result
    raise NoEndpoint("The target advertises no endpoint this site sends to.")


def _try_protocol(
    protocol: str, response: fetch.Response, job: Job, source: Source, gate: HostGate
) -> Result | None:
    """Ping through ``protocol`` if the target advertises it; None if it does not."""
    if protocol == Kind.WEBMENTION:
        endpoint = webmention.discover_endpoint_in(response)
        if endpoint:
            with gate.slot(endpoint, ping=True):
                answer = webmention.send(
                    endpoint, source.url, job.target_url, user_agent=source.user_agent
                )
            return Result(Outcome.SUCCESS, Kind.WEBMENTION, endpoint, answer)
    elif protocol == Kind.PINGBACK:
        server = pingback.discover_server_in(response)
        if server:
            with gate.slot(server, ping=True):
                answer = pingback.send_ping(
                    server, source.url, job.target_url, user_agent=source.user_agent
                )
            return Result(Outcome.SUCCESS, Kind.PINGBACK, server, answer)
    elif protocol == Kind.TRACKBACK and response.is_html:
        ping_url = trackback.discover_ping_url(response.text, job.target_url)
        if ping_url:
            with gate.slot(ping_url, ping=True):
                return _sent_trackback(ping_url, source)
    return None


def _sent_trackback(ping_url: str, source: Source) -> Result:
    answer = trackback.send(
        ping_url,
        url=source.url,
        title=source.title,
        excerpt=source.excerpt,
        blog_name=source.blog_name,
        user_agent=source.user_agent,
    )
    return Result(Outcome.SUCCESS, Kind.TRACKBACK, ping_url, answer)


def _failure(error: DeliveryError) -> Result:
    if isinstance(error, PeerFault):
        if error.code == 48:
            # The peer already has this backlink: that is what we wanted.
            return Result(Outcome.SUCCESS, message=error.message, fault_code=48)
        # WordPress masks every refusal but 48 as fault 0 with no message.
        outcome = Outcome.REJECTED if error.code == 0 else Outcome.FAULT
        return Result(
            outcome,
            message=error.message,
            fault_code=error.code,
            retry=error.retry,
            flood=error.code == 429,
        )
    if isinstance(error, PeerHTTPError) and error.status == 409:
        # 409 Conflict: the peer already has this backlink (our own receivers say so).
        return Result(Outcome.SUCCESS, message="Already registered at the peer.")
    outcome = {
        NoEndpoint: Outcome.NO_ENDPOINT,
        PeerRejected: Outcome.REJECTED,
        PeerHTTPError: Outcome.HTTP_ERROR,
        PeerTimeout: Outcome.TIMEOUT,
    }.get(type(error), Outcome.UNREACHABLE)
    flood = isinstance(error, PeerHTTPError) and error.status == 429
    return Result(outcome, message=error.message, retry=error.retry, flood=flood)


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
    own = html.normalize_url(source.url)
    return [
        url
        for url in html.extract_links(source.html, source.url)
        if html.normalize_url(url) != own
        and (urlsplit(url).query or urlsplit(url).path not in ("", "/"))
    ]


def record_links(
    obj: models.Model, source: Source, site: Site, *, force: bool = False
) -> list[OutboundPing]:
    """Store an outbound row for each new link of ``obj``; return the rows due now."""
    content_type = ContentType.objects.get_for_model(obj)
    links = links_to_ping(source)
    OutboundPing.objects.bulk_create(
        [
            OutboundPing(
                site=site, content_type=content_type, object_id=str(obj.pk), target_url=url
            )
            for url in links
        ],
        ignore_conflicts=True,
    )
    rows = OutboundPing.objects.for_object(obj)
    if not force:
        # Webmention receivers update (or remove) what they hold when told again,
        # so every save re-sends to old and new Webmention targets.
        rows = rows.due() | rows.filter(protocol=Kind.WEBMENTION, outcome=Outcome.SUCCESS)
    claimed, busy_until = claim(rows)
    if busy_until is not None:
        # Another task is sending some of these links, perhaps from older content: send
        # again once it is surely done, so that the receivers get this version too.
        from backlinks_django.tasks import schedule_send

        schedule_send(content_type.pk, str(obj.pk), busy_until, "Links busy in another task")
    return claimed


def claim(rows: OutboundPingQuerySet) -> tuple[list[OutboundPing], datetime | None]:
    """Take those of ``rows`` no other task is sending, until well after the sending deadline.

    One UPDATE that re-checks ``rows``' conditions, so two tasks sending the same object at
    once (two saves in a row, several workers) never both get a row, and a row another task
    has just delivered is not taken again. Outcomes are left alone; :func:`_record` releases
    the claim, and a task that dies leaves its rows free again when the claim runs out.

    Returns the claimed rows, and when the last claim of another task on the rest ends.
    """
    seconds = app_settings.SEND_DEADLINE + DEADLINE_GRACE + CLAIM_MARGIN
    # The claim's end is this task's mark: microseconds of randomness keep two tasks apart.
    mark = timezone.now() + timedelta(seconds=seconds, microseconds=secrets.randbelow(10**6))
    candidates = list(rows.values_list("pk", flat=True))
    rows.filter(pk__in=candidates).not_in_flight().update(claimed_until=mark)
    claimed = OutboundPing.objects.filter(pk__in=candidates, claimed_until=mark)
    busy = OutboundPing.objects.filter(pk__in=candidates, claimed_until__gt=timezone.now())
    busy_until: datetime | None = busy.exclude(claimed_until=mark).aggregate(
        until=models.Max("claimed_until")
    )["until"]
    return list(claimed.select_related("site").order_by("pk")), busy_until


def send_pings(obj: models.Model, *, force: bool = False) -> list[OutboundPing]:
    """Ping every new (or due, or with ``force`` every) link of ``obj``; return the rows."""
    registration = registry.get_registration(obj)
    site = Site.objects.get_current()
    site_settings = SiteSettings.objects.for_site(site)
    if registration is None or not site_settings.send_pings or not registration.is_open(obj):
        return []
    source = source_for(obj, registration, site)
    rows = record_links(obj, source, site, force=force)
    deliver(rows, source, site, site_settings)
    return rows


def deliver(
    rows: Iterable[OutboundPing], source: Source, site: Site, site_settings: SiteSettings
) -> None:
    """Deliver the given outbound rows and record each result."""
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
                result = Result(Outcome.UNREACHABLE, message=UNEXPECTED)
            _record(row, result)
    if not remote:
        return
    # Self-pings may have been slow: the requests end well before this task's claims do, so
    # that no other task takes the rows over while they are still being sent.
    seconds = app_settings.SEND_DEADLINE
    claims = [row.claimed_until for row in remote if row.claimed_until is not None]
    if claims:
        left = (min(claims) - timezone.now()).total_seconds() - DEADLINE_GRACE - CLAIM_SAFETY
        seconds = max(0.0, min(seconds, left))
    ends_at = time.monotonic() + seconds
    gate = HostGate(app_settings.SEND_PER_HOST, app_settings.SEND_HOST_INTERVAL, ends_at)
    pool = ThreadPoolExecutor(max_workers=min(app_settings.SEND_CONCURRENCY, len(remote)))
    futures: dict[Future[Result], OutboundPing] = {
        pool.submit(
            deliver_remote,
            Job(row.target_url, trackback_url=row.target_url if row.requested else ""),
            source,
            gate,
        ): row
        for row in remote
    }
    # Every fetch ends by ends_at (fetch.ending_by), so the pool drains just after it; the
    # grace lets a request cut off at the deadline report its own outcome.
    done, _ = wait(futures, timeout=seconds + DEADLINE_GRACE)
    pool.shutdown(wait=False, cancel_futures=True)
    for future, row in futures.items():
        if future not in done:
            result = Result(Outcome.TIMEOUT, message="The sending deadline passed.", retry=True)
        else:
            try:
                result = future.result()
            except Exception:
                # A bug of ours met by some peer's answer: record it, and the other rows still.
                logger.exception("Unexpected error while pinging %s", row.target_url)
                result = Result(Outcome.UNREACHABLE, message=UNEXPECTED)
        _record(row, result)


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
        ).select_related("site")
    )
    with fetch.ending_by(time.monotonic() + app_settings.SEND_DEADLINE):
        for row in rows:
            agent = fetch.user_agent(row.site.domain, "sending pings")
            try:
                answer = webmention.send(
                    row.endpoint, source_url, row.target_url, user_agent=agent
                )
            except DeliveryError as exc:
                result = _failure(exc)
            except Exception:
                logger.exception("Unexpected error while notifying %s", row.target_url)
                result = Result(Outcome.UNREACHABLE, message=UNEXPECTED)
            else:
                result = Result(Outcome.SUCCESS, Kind.WEBMENTION, row.endpoint, answer)
            _record(row, result, whatever_the_claim=True)
    return rows


def retry_now(rows: models.QuerySet[OutboundPing]) -> int:
    """Make ``rows`` due at once and queue their objects; return how many rows.

    Rows being sent right now are left to that task.
    """
    from backlinks_django.tasks import enqueue_send

    idle = OutboundPing.objects.filter(pk__in=rows.values("pk")).not_in_flight()
    count = idle.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    for content_type_id, object_id in set(rows.values_list("content_type_id", "object_id")):
        enqueue_send(content_type_id, object_id)
    return count


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


def _record(row: OutboundPing, result: Result, *, whatever_the_claim: bool = False) -> bool:
    """Store the result and release this task's claim on the row; whether it was stored.

    Only the result's fields are written, and only while the row is still as this task
    claimed it: an editor's change meanwhile (the TrackBack inline) or another task's claim
    after this one ran out wins, and this result is dropped with a warning. A deletion notice
    is the latest news: it is stored ``whatever_the_claim``, and releases it.
    """
    now = timezone.now()
    row.outcome = result.outcome
    row.protocol = result.protocol or row.protocol
    row.endpoint = result.endpoint or row.endpoint
    # Peers' words: no control characters.
    row.message = html.to_single_line(result.message)[: limits.OUTBOUND_MESSAGE]
    row.fault_code = result.fault_code
    row.attempts += 1
    row.sent_at = row.updated_at = now
    row.next_attempt_at = None
    if result.retry and row.attempts < app_settings.SEND_MAX_ATTEMPTS:
        delay = app_settings.SEND_RETRY_DELAY * 2 ** (row.attempts - 1)
        if result.flood:
            delay = app_settings.SEND_FLOOD_WINDOW
        row.next_attempt_at = now + timedelta(seconds=delay)
    fields = ("outcome", "protocol", "endpoint", "message", "fault_code", "attempts", "sent_at")
    target = OutboundPing.objects.filter(pk=row.pk)
    if not whatever_the_claim:
        target = target.filter(claimed_until=row.claimed_until)
    changed = target.update(
        **{name: getattr(row, name) for name in fields},
        next_attempt_at=row.next_attempt_at,
        updated_at=now,
        claimed_until=None,
    )
    row.claimed_until = None
    if not changed:
        row.next_attempt_at = None  # not ours to retry: whoever changed the row decides
        logger.warning("Ping to %s: changed while it was sent; result not stored", row.target_url)
        return False
    logger.info("Ping to %s: %s (fault %s)", row.target_url, row.outcome, row.fault_code)
    return True
