"""The one receive pipeline every protocol goes through: admit, verify, moderate, store.

request → protocol parse → :class:`Ping` → :func:`receive` → Backlink row. Each step raises a
:class:`~backlinks_django.exceptions.BacklinkError` that the protocol's HTTP glue turns into
its own answer (XML-RPC fault, TrackBack XML, HTTP status).
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass

from django.contrib.sites.models import Site
from django.db import IntegrityError, models, transaction

from backlinks_django import html, limits, spam, text
from backlinks_django.admission import Admitted, admit, charge_source
from backlinks_django.choices import Kind, ModerationPolicy, Status
from backlinks_django.conf import app_settings
from backlinks_django.exceptions import AlreadyRegistered, NoLinkToTarget, SourceGone
from backlinks_django.models import Backlink, SiteSettings, stored_twin
from backlinks_django.notifications import notify_managers
from backlinks_django.signals import backlink_received
from backlinks_django.verification import Verified, mark_removed, verify_source

__all__ = ["Ping", "receive"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ping:
    """What a peer announced, already parsed from its protocol's wire format."""

    kind: Kind
    source_url: str
    target_url: str
    title: str = ""
    excerpt: str = ""
    blog_name: str = ""
    remote_ip: str | None = None
    user_agent: str = ""
    # Fetch the source and require a link to the target before storing.
    verify: bool = True
    # The target object when the endpoint already knows it (per-object URLs).
    target: models.Model | None = None
    # The source page's HTML when we already have it (self-pings are verified
    # against our own object's content, without an HTTP round trip).
    source_html: str | None = None

    def __post_init__(self) -> None:
        # Request metadata is stored as given, so it is made storable here, once: a proxy
        # middleware may put "unknown" into REMOTE_ADDR (PostgreSQL's inet refuses it), and
        # header values may carry control characters.
        object.__setattr__(self, "remote_ip", _ip_address(self.remote_ip))
        agent = self.user_agent if isinstance(self.user_agent, str) else ""
        object.__setattr__(self, "user_agent", text.to_single_line(agent)[: limits.USER_AGENT])


def _ip_address(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def receive(
    ping: Ping,
    *,
    site: Site | None = None,
    budget: float | None = None,
    admitted: Admitted | None = None,
) -> Backlink:
    """Check, verify and store one ping; return the stored backlink.

    A Webmention for a (target, source) already stored updates it, and marks it
    removed when the source is gone or no longer links; other kinds get 48. Changed content
    of a stored Webmention is moderated again. Rate limits are the caller's
    (:mod:`~backlinks_django.inbound`); ``budget`` bounds the verification's time, past
    which VerifyLater is raised.

    ``admitted`` is the admission of this very ping that the caller has just made
    (:func:`~backlinks_django.inbound.accept`, in the same request), so it is not made
    twice; such a caller has refused a ping other than a Webmention already stored, too.
    """
    site = site or Site.objects.get_current()
    if admitted is None:
        admitted = admit(ping.kind, ping.source_url, ping.target_url, site, target=ping.target)
        known_new = False
    else:
        known_new = ping.kind != Kind.WEBMENTION
    target, source_url, target_url = admitted.target, admitted.source_url, admitted.target_url
    existing = None
    if not known_new:
        existing = stored_twin(target, source_url)
    if existing is not None and ping.kind != Kind.WEBMENTION:
        raise AlreadyRegistered()

    verified: Verified | None = None
    if ping.verify:
        try:
            verified = verify_source(
                ping.kind,
                source_url,
                target_url,
                site,
                remote_ip=ping.remote_ip,
                source_html=ping.source_html,
                budget=budget,
            )
        except (SourceGone, NoLinkToTarget):
            if existing is not None:
                return mark_removed(existing)
            raise
        if ping.source_html is None:
            charge_source(source_url)

    backlink = existing or Backlink(kind=ping.kind, site=site, target=target)
    shown_before = _shown(backlink)
    _fill(backlink, ping, source_url, target_url, verified)
    if (
        existing is None
        or existing.status == Status.REMOVED
        # A source rewritten after approval must not be shown unreviewed.
        or (
            existing.status in (Status.APPROVED, Status.PENDING)
            and _shown(backlink) != shown_before
        )
    ):
        _moderate(_candidate(backlink, ping), admitted.site_settings)
    try:
        with transaction.atomic():
            backlink.save()
    except IntegrityError:
        # A concurrent identical ping won the race to the unique constraint.
        raise AlreadyRegistered() from None
    logger.info(
        "Stored %s backlink %s from %s as %s",
        backlink.kind,
        backlink.pk,
        backlink.source_domain,
        backlink.status,
    )
    if existing is None:
        backlink_received.send(sender=Backlink, backlink=backlink)
        if backlink.status == Status.PENDING and app_settings.NOTIFY_MANAGERS:
            transaction.on_commit(lambda: notify_managers(backlink))
    return backlink


def _fill(
    backlink: Backlink, ping: Ping, source_url: str, target_url: str, verified: Verified | None
) -> None:
    """Copy what the ping and the source page say onto the backlink, as plain text."""
    entry = verified.entry if verified is not None else None
    title = html.to_plain_text(ping.title, limits.TITLE)
    excerpt = html.to_plain_text(ping.excerpt, limits.EXCERPT)
    if entry is not None:
        if ping.kind == Kind.WEBMENTION:
            # A Webmention shows the post's own name and content; a pingback, by tradition,
            # the page's title and the words around the link (below).
            title = title or entry.name
            excerpt = excerpt or entry.content
        backlink.mention_type = entry.mention_type
        backlink.author_name = entry.author_name
        backlink.author_url = entry.author_url
        backlink.author_photo = entry.author_photo
        backlink.published = entry.published
        backlink.original_url = entry.url
    if verified is not None:
        title = title or verified.context.title
        excerpt = excerpt or verified.context.excerpt
    backlink.target_url = target_url
    backlink.source_url = source_url
    backlink.title = title
    backlink.excerpt = excerpt
    backlink.blog_name = html.to_plain_text(ping.blog_name, limits.BLOG_NAME)
    backlink.remote_ip = ping.remote_ip
    backlink.user_agent = ping.user_agent


def _reviewable(backlink: Backlink) -> bool:
    # An editor's spam or rejection stands whatever the source says now.
    return backlink.status in (Status.APPROVED, Status.PENDING)


def _shown(backlink: Backlink) -> tuple[object, ...]:
    """What readers see of a backlink: a change to it needs moderating again."""
    return (
        backlink.title,
        backlink.excerpt,
        backlink.blog_name,
        backlink.author_name,
        backlink.author_url,
        backlink.author_photo,
        backlink.mention_type,
        backlink.original_url,
    )


def _candidate(backlink: Backlink, ping: Ping) -> spam.Candidate:
    """What the spam checks see: the filled backlink and the sender's fields as received."""
    return spam.Candidate(
        backlink=backlink,
        kind=Kind(ping.kind),
        source_url=backlink.source_url,
        target_url=backlink.target_url,
        title=ping.title,
        excerpt=ping.excerpt,
        blog_name=ping.blog_name,
        author=backlink.author_name,
        remote_ip=ping.remote_ip,
        user_agent=ping.user_agent,
        verified=ping.verify,
    )


def _moderate(candidate: spam.Candidate, site_settings: SiteSettings) -> None:
    """Set the backlink's status and reason from the spam checks and the site's policy."""
    backlink = candidate.backlink
    verdict = spam.run_checks(candidate)
    backlink.reason = verdict.reason[: limits.REASON]
    if verdict.decision is spam.Decision.SPAM:
        backlink.status = Status.SPAM
    elif verdict.decision is spam.Decision.APPROVE:
        backlink.status = Status.APPROVED
    elif (
        verdict.decision is spam.Decision.ACCEPT
        and candidate.verified
        and site_settings.moderation == ModerationPolicy.AUTO_APPROVE
    ):
        backlink.status = Status.APPROVED
    else:
        backlink.status = Status.PENDING
