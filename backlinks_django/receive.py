"""The one receive pipeline every protocol goes through.

request → protocol parse → :func:`receive` → Backlink row. Each step raises a
:class:`~backlinks_django.exceptions.BacklinkError` that the protocol layer
turns into its own answer (XML-RPC fault, TrackBack XML, HTTP status).
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.contrib.sites.models import Site
from django.core.mail import mail_managers
from django.db import IntegrityError, models, transaction

from backlinks_django import (
    fetch,
    html,
    limits,
    linksearch,
    mf2,
    moderation,
    registry,
    spam,
    text,
    throttle,
    weburl,
)
from backlinks_django.choices import Kind, ModerationPolicy, Status
from backlinks_django.conf import app_settings
from backlinks_django.exceptions import (
    AccessDenied,
    AlreadyRegistered,
    BacklinkError,
    InvalidRequest,
    NoLinkToTarget,
    RateLimited,
    SourceGone,
    SourceNotFound,
    TargetNotPingable,
)
from backlinks_django.models import Backlink, BlockedDomain, SiteSettings, WebmentionRequest
from backlinks_django.signals import backlink_received

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
    # False when the rate limits were already applied (a queued Webmention).
    rate_limit: bool = True

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


def check_url(url: object, role: str) -> str:
    """``url`` as a stripped string if it is an absolute http(s) URL of sane length."""
    if not isinstance(url, str):
        raise InvalidRequest(f"The {role} URL must be a string.")
    url = url.strip()
    if len(url) > app_settings.MAX_URL_LENGTH:
        raise InvalidRequest(f"The {role} URL is too long.")
    if weburl.has_control_chars(url):
        raise InvalidRequest(f"The {role} URL contains control characters.")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018 -- raises ValueError on a bad port
    except ValueError:
        raise InvalidRequest(f"The {role} URL is not valid.") from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise InvalidRequest(f"The {role} URL must be an absolute http or https URL.")
    if len(hostname.rstrip(".")) > limits.HOST:
        raise InvalidRequest(f"The {role} URL's host name is too long.")
    if any(char.isspace() for char in hostname):
        raise InvalidRequest(f"The {role} URL's host name is not valid.")
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
    domain = weburl.host_key(urlsplit(source_url).hostname or "")  # one key per host, IDNA or not
    wait = throttle.hit("source", domain, app_settings.RATE_LIMIT_PER_SOURCE_DOMAIN)
    if wait is not None:
        logger.info("Rate-limited pings from sources on %s", domain)
        raise RateLimited(wait)


@dataclass(frozen=True)
class Verified:
    """What verification found on the source page."""

    context: linksearch.LinkContext
    entry: mf2.Entry | None = None


def verify_source(ping: Ping, target_url: str, site: Site) -> Verified:
    """Fetch the source (unless given) and find the link, or raise 16 / 17.

    A source answering 410 Gone raises SourceGone (a SourceNotFound).
    """
    if ping.source_html is not None:
        return Verified(
            _found(linksearch.find_link(ping.source_html, ping.source_url, target_url))
        )
    on_behalf = f"verifying {ping.kind} from {ping.remote_ip or 'unknown'}"
    headers = {"User-Agent": fetch.user_agent(site.domain, on_behalf)}
    if ping.remote_ip:
        headers["X-Pingback-Forwarded-For"] = ping.remote_ip
    try:
        response = fetch.fetch(ping.source_url, headers=headers, truncate=True)
    except fetch.FetchError as exc:
        raise SourceNotFound(f"The source URL could not be fetched: {exc.message}") from None
    if response.status == 410:
        raise SourceGone()
    if response.status >= 400:
        raise SourceNotFound(f"The source URL answered HTTP {response.status}.")
    context = app_settings.EXCERPT_CONTEXT
    if ping.kind == Kind.WEBMENTION:
        found = linksearch.find_mention(
            response.text, response.content_type, response.url, target_url, context
        )
        entry = (
            mf2.read_entry(response.text, response.url, target_url) if response.is_html else None
        )
        return Verified(_found(found), entry)
    if not response.is_html:
        raise NoLinkToTarget("The source is not an HTML page.")
    return Verified(_found(linksearch.find_link(response.text, response.url, target_url, context)))


def _found(context: linksearch.LinkContext | None) -> linksearch.LinkContext:
    if context is None:
        raise NoLinkToTarget()
    return context


@dataclass(frozen=True)
class Admitted:
    """A ping that passed the checks made before anything is fetched."""

    source_url: str
    target_url: str
    target: models.Model
    site_settings: SiteSettings


def admit(ping: Ping, site: Site) -> Admitted:
    """The checks that need no fetch: URLs, rate limits, target, switches, blocked domains.

    Webmention runs these synchronously and the rest of :func:`receive` in a task.
    """
    source_url = check_url(ping.source_url, "source")
    target_url = check_url(ping.target_url, "target")
    if weburl.normalize_url(source_url) == weburl.normalize_url(target_url):
        raise InvalidRequest("The source and the target are the same URL.")
    if ping.rate_limit and ping.source_html is None:  # self-pings are not rate limited
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
    return Admitted(source_url, target_url, target, site_settings)


def receive(ping: Ping, *, site: Site | None = None) -> Backlink:
    """Check, verify and store one ping; return the stored backlink.

    A Webmention for a (target, source) already stored updates it, and marks it
    removed when the source is gone or no longer links; other kinds get 48.
    """
    site = site or Site.objects.get_current()
    admitted = admit(ping, site)
    target, site_settings = admitted.target, admitted.site_settings
    source_url, target_url = admitted.source_url, admitted.target_url
    existing = Backlink.objects.for_object(target).filter(source_url=source_url).first()
    if existing is not None and ping.kind != Kind.WEBMENTION:
        raise AlreadyRegistered()

    verified: Verified | None = None
    if ping.verify:
        try:
            verified = verify_source(ping, target_url, site)
        except (SourceGone, NoLinkToTarget):
            if existing is not None:
                return _remove(existing)
            raise

    backlink = existing or Backlink(kind=ping.kind, site=site, target=target)
    _fill(backlink, ping, target_url, verified)
    if existing is None or existing.status == Status.REMOVED:
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
    if existing is None:
        backlink_received.send(sender=Backlink, backlink=backlink)
        if backlink.status == Status.PENDING and app_settings.NOTIFY_MANAGERS:
            transaction.on_commit(lambda: _notify_managers(backlink))
    return backlink


def _fill(backlink: Backlink, ping: Ping, target_url: str, verified: Verified | None) -> None:
    """Copy what the ping and the source page say onto the backlink, as plain text."""
    entry = verified.entry if verified is not None else None
    title = html.to_plain_text(ping.title, limits.TITLE)
    excerpt = html.to_plain_text(ping.excerpt, limits.EXCERPT)
    if entry is not None:
        title = title or entry.name
        excerpt = excerpt or entry.content
        backlink.mention_type = entry.mention_type
        backlink.author_name = entry.author_name
        backlink.author_url = entry.author_url
        backlink.author_photo = entry.author_photo
        backlink.published = entry.published
    if verified is not None:
        title = title or verified.context.title
        excerpt = excerpt or verified.context.excerpt
    backlink.target_url = target_url
    backlink.source_url = check_url(ping.source_url, "source")
    backlink.title = title
    backlink.excerpt = excerpt
    backlink.blog_name = html.to_plain_text(ping.blog_name, limits.BLOG_NAME)
    backlink.remote_ip = ping.remote_ip
    backlink.user_agent = ping.user_agent


def _remove(backlink: Backlink) -> Backlink:
    """The source no longer links here: hide the backlink, keep it for the record."""
    moderation.set_status(
        Backlink.objects.filter(pk=backlink.pk),
        Status.REMOVED,
        reason="The source no longer links here.",
    )
    backlink.refresh_from_db()
    return backlink


def _moderate(candidate: spam.Candidate, site_settings: SiteSettings) -> None:
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
    try:
        mail_managers(subject, body)
    except OSError:  # smtplib's errors included: the backlink is stored; only the mail failed
        logger.warning("Could not e-mail the managers about backlink %s", backlink.pk)


def accept_webmention(
    source_url: object, target_url: object, site: Site, remote_ip: str | None, user_agent: str
) -> WebmentionRequest:
    """Run the synchronous Webmention checks and record the request for verification."""
    if not isinstance(source_url, str) or not isinstance(target_url, str):
        raise InvalidRequest("Both source and target are required.")
    target_url = target_url.partition("#")[0]
    ping = Ping(
        kind=Kind.WEBMENTION,
        source_url=source_url,
        target_url=target_url,
        remote_ip=remote_ip,
        user_agent=user_agent,
    )
    admitted = admit(ping, site)
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


def reverify(backlink: Backlink) -> str:
    """Fetch an approved backlink's source again; mark it removed if it no longer links.

    Returns "ok", "removed" or "unreachable" (kept as it is: the failure may pass).
    """
    ping = Ping(
        kind=Kind(backlink.kind),
        source_url=backlink.source_url,
        target_url=backlink.target_url,
        remote_ip=None,
        user_agent="",
        rate_limit=False,
    )
    try:
        verify_source(ping, backlink.target_url, backlink.site)
    except (SourceGone, NoLinkToTarget):
        _remove(backlink)
        return "removed"
    except SourceNotFound:
        return "unreachable"
    return "ok"
