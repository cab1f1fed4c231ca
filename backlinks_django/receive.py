"""The one receive pipeline every protocol goes through.

request → protocol parse → :func:`receive` → Backlink row. Each step raises a
:class:`~backlinks_django.exceptions.BacklinkError` that the protocol layer
turns into its own answer (XML-RPC fault, TrackBack XML, HTTP status).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.contrib.sites.models import Site
from django.core.mail import mail_managers
from django.db import IntegrityError, models, transaction

from backlinks_django import __version__, fetch, html, registry, spam, throttle
from backlinks_django.conf import app_settings
from backlinks_django.exceptions import (
    AccessDenied,
    AlreadyRegistered,
    InvalidRequest,
    NoLinkToTarget,
    RateLimited,
    SourceNotFound,
    TargetNotPingable,
)
from backlinks_django.models import Backlink, BlockedDomain, Kind, Moderation, SiteSettings, Status
from backlinks_django.signals import backlink_received

logger = logging.getLogger(__name__)

TITLE_LENGTH = 255
BLOG_NAME_LENGTH = 255
EXCERPT_LENGTH = 1000
USER_AGENT_LENGTH = 255


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


def check_url(url: object, role: str) -> str:
    """``url`` as a stripped string if it is an absolute http(s) URL of sane length."""
    if not isinstance(url, str):
        raise InvalidRequest(f"The {role} URL must be a string.")
    url = url.strip()
    if len(url) > app_settings.MAX_URL_LENGTH:
        raise InvalidRequest(f"The {role} URL is too long.")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018 -- raises ValueError on a bad port
    except ValueError:
        raise InvalidRequest(f"The {role} URL is not valid.") from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise InvalidRequest(f"The {role} URL must be an absolute http or https URL.")
    return url


def is_on_site(url: str, site: Site) -> bool:
    """Whether ``url``'s host (and port, when the site domain names one) is the site's."""
    parts = urlsplit(url)
    site_parts = urlsplit(f"//{site.domain}")
    if (parts.hostname or "").rstrip(".") != (site_parts.hostname or "").rstrip("."):
        return False
    if site_parts.port is None:
        return parts.port in (None, 80, 443)
    default_port = 443 if parts.scheme == "https" else 80
    return (parts.port or default_port) == site_parts.port


def resolve_target(url: str, site: Site) -> models.Model:
    """The registered object of this site that ``url`` names."""
    if not is_on_site(url, site):
        raise TargetNotPingable("The target URL is not on this site.")
    parts = urlsplit(url)
    path = parts.path or "/"
    return registry.resolve_path(f"{path}?{parts.query}" if parts.query else path)


def limit_rate(remote_ip: str | None, source_url: str) -> None:
    """Raise RateLimited when the sender's address or the source's domain pinged too often."""
    if remote_ip:
        wait = throttle.hit("ip", remote_ip, app_settings.RATE_LIMIT_PER_IP)
        if wait is not None:
            logger.info("Rate-limited pings from %s", remote_ip)
            raise RateLimited(wait)
    domain = (urlsplit(source_url).hostname or "").rstrip(".")
    wait = throttle.hit("source", domain, app_settings.RATE_LIMIT_PER_SOURCE_DOMAIN)
    if wait is not None:
        logger.info("Rate-limited pings from sources on %s", domain)
        raise RateLimited(wait)


def user_agent(site: Site, purpose: str) -> str:
    """The User-Agent of our requests: app, version, site, and on whose behalf."""
    return f"backlinks_django/{__version__}; {site.domain}; {purpose}"


def verify_source(ping: Ping, target_url: str, site: Site) -> html.LinkContext:
    """Fetch the source (unless given) and return the link's context, or raise 16 / 17."""
    if ping.source_html is not None:
        return _find_link(ping.source_html, ping.source_url, target_url)
    on_behalf = f"verifying {ping.kind} from {ping.remote_ip or 'unknown'}"
    headers = {"User-Agent": user_agent(site, on_behalf)}
    if ping.remote_ip:
        headers["X-Pingback-Forwarded-For"] = ping.remote_ip
    try:
        response = fetch.fetch(ping.source_url, headers=headers, truncate=True)
    except fetch.FetchError as exc:
        raise SourceNotFound(f"The source URL could not be fetched: {exc.message}") from None
    if response.status >= 400:
        raise SourceNotFound(f"The source URL answered HTTP {response.status}.")
    if not response.is_html:
        raise NoLinkToTarget("The source is not an HTML page.")
    return _find_link(response.text, response.url, target_url)


def _find_link(document: str, base_url: str, target_url: str) -> html.LinkContext:
    context = html.find_link(document, base_url, target_url, context=app_settings.EXCERPT_CONTEXT)
    if context is None:
        raise NoLinkToTarget()
    return context


def receive(ping: Ping, *, site: Site | None = None) -> Backlink:
    """Check, verify and store one ping; return the stored backlink."""
    site = site or Site.objects.get_current()
    source_url = check_url(ping.source_url, "source")
    target_url = check_url(ping.target_url, "target")
    if html.normalize_url(source_url) == html.normalize_url(target_url):
        raise InvalidRequest("The source and the target are the same URL.")
    if ping.source_html is None:  # in-process self-pings are not rate limited
        limit_rate(ping.remote_ip, source_url)

    target = ping.target if ping.target is not None else resolve_target(target_url, site)
    registration = registry.get_registration(target)
    if registration is None:
        raise TargetNotPingable("The target is not a page that takes pings.")
    site_settings = SiteSettings.objects.for_site(site)
    if not site_settings.receives(ping.kind):
        raise TargetNotPingable(f"This site does not accept {Kind(ping.kind).label}s.")
    if not registration.accepts_pings(target):
        raise TargetNotPingable("Pings are closed for this target.")
    if BlockedDomain.is_blocked(urlsplit(source_url).hostname or ""):
        raise AccessDenied("Pings from this source are refused.")
    existing = Backlink.objects.for_object(target).filter(source_url=source_url)
    if existing.exists():
        raise AlreadyRegistered()

    title = html.to_plain_text(ping.title, TITLE_LENGTH)
    excerpt = html.to_plain_text(ping.excerpt, EXCERPT_LENGTH)
    if ping.verify:
        context = verify_source(ping, target_url, site)
        title = title or context.title
        excerpt = excerpt or context.excerpt

    backlink = Backlink(
        kind=ping.kind,
        site=site,
        target=target,
        target_url=target_url,
        source_url=source_url,
        title=title,
        excerpt=excerpt,
        blog_name=html.to_plain_text(ping.blog_name, BLOG_NAME_LENGTH),
        remote_ip=ping.remote_ip,
        user_agent=ping.user_agent[:USER_AGENT_LENGTH],
    )
    _moderate(spam.Candidate(backlink, ping, verified=ping.verify), site_settings)
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
    backlink_received.send(sender=Backlink, backlink=backlink)
    if backlink.status == Status.PENDING and app_settings.NOTIFY_MANAGERS:
        transaction.on_commit(lambda: _notify_managers(backlink))
    return backlink


def _moderate(candidate: spam.Candidate, site_settings: SiteSettings) -> None:
    backlink = candidate.backlink
    verdict = spam.run_checks(candidate)
    backlink.reason = verdict.reason[:255]
    if verdict.decision is spam.Decision.SPAM:
        backlink.status = Status.SPAM
    elif (
        verdict.decision is spam.Decision.ACCEPT
        and candidate.verified
        and site_settings.moderation == Moderation.AUTO_APPROVE
    ):
        backlink.status = Status.APPROVED
    else:
        backlink.status = Status.PENDING


def _notify_managers(backlink: Backlink) -> None:
    label = backlink.title or backlink.source_url
    subject = f"{backlink.get_kind_display()} awaiting moderation: {label}"
    body = "\n".join(
        [
            f"Source: {backlink.source_url}",
            f"Target: {backlink.target_url}",
            f"Title: {backlink.title}",
            f"Excerpt: {backlink.excerpt}",
            f"Reason held: {backlink.reason or '-'}",
        ]
    )
    mail_managers(subject, body, fail_silently=True)
