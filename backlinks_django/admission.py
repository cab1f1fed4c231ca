"""The checks a received ping passes before anything is fetched: URLs, target, limits, switches.

Each check raises a :class:`~backlinks_django.exceptions.BacklinkError` that the protocol's
HTTP glue turns into its own answer (XML-RPC fault, TrackBack XML, HTTP status).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import urlsplit

from django.contrib.sites.models import Site
from django.db import models, transaction

from backlinks_django import keys, limits, registry, throttle, weburl
from backlinks_django.choices import Kind
from backlinks_django.conf import app_settings
from backlinks_django.exceptions import (
    AccessDenied,
    InvalidRequest,
    TargetNotFound,
    TargetNotPingable,
)
from backlinks_django.models import BlockedDomain, SiteSettings

__all__ = [
    "Admitted",
    "admit",
    "charge_source",
    "check_url",
    "forget_on_save",
    "forget_recent",
    "is_on_site",
    "policy_changed",
    "rate_wait",
    "resolve_target",
    "sender_rate",
]

logger = logging.getLogger(__name__)


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


def resolve_target(url: str, site: Site, *, recent: bool = False) -> models.Model:
    """The registered object of this site that ``url`` names (``recent``: one that takes pings
    as this process read it up to ``RECENT_TARGET_SECONDS`` ago, see :func:`admit`)."""
    if not is_on_site(url, site):
        site = _reread(site)
    if not is_on_site(url, site):
        logger.warning(
            "Fault 33 for a ping to %s: its host is not this site's domain %r (Site %s). If "
            "pings to that host are meant for this site, set the Site's domain to it.",
            url,
            site.domain,
            site.pk,
        )
        raise TargetNotPingable("The target URL is not on this site.")
    parts = urlsplit(url)
    path = parts.path or "/"
    resolve = _recent_objects if recent else registry.resolve_path
    return resolve(f"{path}?{parts.query}" if parts.query else path)


def _reread(site: Site) -> Site:
    """``site`` as the database has it now, and Django's Site cache emptied if it changed.

    ``Site.objects.get_current()`` keeps a Site in each process until that process saves it;
    a domain set from another process (``manage.py shell``, another web worker) would leave a
    running server refusing every ping to the new domain. Read only when a target looks
    foreign, so the pings that reach this site cost no query.
    """
    fresh = Site.objects.filter(pk=site.pk).first()
    if fresh is None or fresh.domain == site.domain:
        return site
    Site.objects.clear_cache()
    return fresh


def rate_wait(remote_ip: str | None, source_url: str) -> float | None:
    """Count a ping against its sender's rate and look at its source domain's; seconds until
    the busier of the two is back under its limit, or None while both are under it.

    A sender is its address, an IPv6 one its /64 (``IPV6_PREFIX``); a source domain is the
    registrable domain, so the subdomains of one domain share a budget. The domain's budget is
    spent only by pings that pass verification (:func:`charge_source`): anyone can name a third
    party's missing pages as sources, and must not use up that party's budget by doing so.
    """
    domain = _domain(source_url)
    waits = throttle.check(  # one round trip on Redis
        hits=sender_rate(remote_ip),
        peeks=[("source", domain, app_settings.RATE_LIMIT_PER_SOURCE_DOMAIN)],
    ).waits
    over = [wait for wait in waits if wait is not None]
    if not over:
        return None
    sender = keys.sender_key(remote_ip)
    logger.info("Pings from %s (sources on %s) over their rate", sender or "?", domain)
    return max(over)


def sender_rate(remote_ip: str | None) -> list[throttle.Rate]:
    """The rate a ping from ``remote_ip`` counts against (none for an unknown sender)."""
    sender = keys.sender_key(remote_ip)
    return [("ip", sender, app_settings.RATE_LIMIT_PER_IP)] if sender else []


def charge_source(source_url: str) -> None:
    """Count a verified ping against its source domain's rate (see :func:`rate_wait`)."""
    throttle.hit("source", _domain(source_url), app_settings.RATE_LIMIT_PER_SOURCE_DOMAIN)


def _domain(source_url: str) -> str:
    return keys.domain_key(urlsplit(source_url).hostname or "")


@dataclass(frozen=True)
class Admitted:
    """A ping that passed the checks made before anything is fetched."""

    source_url: str
    target_url: str
    target: models.Model
    site_settings: SiteSettings


# How long a ping's answer may rely on the target, the site's switches and the blocked domains
# as this process last read them (a saved SiteSettings, BlockedDomain or registered object is
# seen at once by the process that saved it). What is stored is admitted again with fresh
# reads, so a ping let through by a stale read is refused when it is verified.
RECENT_SECONDS = 2.0
# Lookups remembered per table; past it the memory starts again (a flood of new host names
# costs one query each, as it did without the memory).
_RECENT_SIZE = 4096

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Recent(Generic[K, V]):
    """The answers of ``read`` in this process, each for ``seconds`` (those ``keep`` says
    may be kept)."""

    def __init__(
        self,
        read: Callable[[K], V],
        seconds: float = RECENT_SECONDS,
        keep: Callable[[V], bool] = lambda _value: True,
    ) -> None:
        self._read = read
        self._seconds = seconds
        self._keep = keep
        self._answers: dict[K, tuple[float, V]] = {}

    def __call__(self, key: K) -> V:
        now = time.monotonic()
        kept = self._answers.get(key)
        if kept is not None and kept[0] > now:
            return kept[1]
        value = self._read(key)
        if not self._keep(value):
            self._answers.pop(key, None)
            return value
        if len(self._answers) >= _RECENT_SIZE:
            self._answers.clear()
        self._answers[key] = (now + self._seconds, value)
        return value

    def clear(self) -> None:
        self._answers.clear()


def _site_settings(site_id: int) -> SiteSettings:
    return SiteSettings.objects.for_site(Site(pk=site_id))


_recent_settings: _Recent[int, SiteSettings] = _Recent(_site_settings)
# Blocked domains are read whole while there are at most this many: one query per process every
# RECENT_SECONDS, however many source hosts a flood names; past it, host by host.
_BLOCKED_READ_WHOLE = 10_000


def _blocked_domains(_all: None) -> frozenset[str] | None:
    domains = BlockedDomain.objects.order_by().values_list("domain", flat=True)
    found = list(domains[: _BLOCKED_READ_WHOLE + 1])
    return None if len(found) > _BLOCKED_READ_WHOLE else frozenset(found)


_recent_blocked_domains: _Recent[None, frozenset[str] | None] = _Recent(_blocked_domains)
_recent_hosts_blocked: _Recent[str, bool] = _Recent(BlockedDomain.is_blocked)


def _recently_blocked(host: str) -> bool:
    domains = _recent_blocked_domains(None)
    if domains is None:
        return _recent_hosts_blocked(host)
    return any(domain in domains for domain in BlockedDomain.covering(host))


# A target that takes pings is remembered longer: the answer only queues the ping, and its
# verification reads the target again. One that does not (a draft, pings closed) is not
# remembered, so that a page published in another process is not refused a moment later; nor
# is a path that names nothing (it raises). Each of those costs a query every time.
RECENT_TARGET_SECONDS = 30.0


def _takes_pings(target: models.Model) -> bool:
    registration = registry.get_registration(target)
    return (
        registration is not None
        and registration.is_published(target)
        and registration.accepts_pings(target)
    )


_recent_objects: _Recent[str, models.Model] = _Recent(
    registry.resolve_path, RECENT_TARGET_SECONDS, _takes_pings
)


def forget_recent() -> None:
    """Forget the targets, switches and blocked domains read for answers."""
    _forget_policy()
    _recent_objects.clear()


def _forget_policy() -> None:
    _recent_settings.clear()
    _recent_blocked_domains.clear()
    _recent_hosts_blocked.clear()


# The version of the site's switches and blocked domains, a counter of the shared cache raised
# once a change of them commits: while it stands, a verification may apply them as this
# process read them (up to RECENT_SECONDS ago) instead of reading them again.
_POLICY = "policy"
_policy_seen: int | None = None


def policy_changed() -> None:
    """The switches or blocked domains changed: forget them here now, and in every process
    sharing the cache once the transaction commits."""
    forget_recent()
    if throttle.is_shared():
        # robust: a cache that cannot be reached must not turn a saved change into an error
        # (the other processes then apply it within RECENT_SECONDS).
        transaction.on_commit(lambda: throttle.bump(_POLICY), robust=True)


def _policy_current() -> bool:
    """Whether the switches and blocked domains this process read are as a fresh read would
    find them: the cache is shared and the policy's version has not moved since (if it has,
    they are forgotten now, and read again)."""
    global _policy_seen
    seen = throttle.version(_POLICY)
    if seen is None:
        return False
    if seen != _policy_seen:
        # Forgotten before anything is read again: what is read from now on is at least as
        # new as the change that moved the version (raised after its commit).
        _forget_policy()
        _policy_seen = seen
    return True


def forget_on_save(sender: type[models.Model], **_kwargs: object) -> None:
    """A receiver of post_save and post_delete: forget what was read for answers when a
    SiteSettings, a BlockedDomain or a registered object is saved or deleted here (and, for
    the first two, tell the processes that share the cache)."""
    if sender in (SiteSettings, BlockedDomain):
        policy_changed()
    elif registry.get_registration(sender) is not None:
        forget_recent()


def admit(
    kind: Kind,
    source_url: object,
    target_url: object,
    site: Site,
    *,
    target: models.Model | None = None,
    recent: bool = False,
) -> Admitted:
    """The checks that need no fetch: URLs, target, switches, blocked domains.

    ``target`` is the object when the endpoint already knows it (per-object URLs). An object
    that is not published answers as a missing one: a sender must not tell drafts apart.
    ``recent``: the switches and the blocked domains may be read as this process last read
    them, up to ``RECENT_SECONDS`` ago, and a target named by URL that took pings then up to
    ``RECENT_TARGET_SECONDS`` ago (for an answer that only queues the ping: a ping to a page
    just made a draft is queued, and refused when verified). Otherwise the switches and the
    blocked domains are as a fresh read finds them: read again, or, on a shared cache, as
    this process read them up to ``RECENT_SECONDS`` ago if no change has been saved since
    (:func:`policy_changed`; a change made with ``QuerySet.update()`` or SQL, which sends no
    signal, is applied within ``RECENT_SECONDS``).
    """
    source_url = check_url(source_url, "source")
    target_url = check_url(target_url, "target")
    if weburl.normalize_url(source_url) == weburl.normalize_url(target_url):
        raise InvalidRequest("The source and the target are the same URL.")
    if target is None:
        target = resolve_target(target_url, site, recent=recent)
    registration = registry.get_registration(target)
    if registration is None:
        raise TargetNotPingable("The target is not a page that takes pings.")
    if not registration.is_published(target):
        raise TargetNotFound()
    # Read again unless read a moment ago for an answer, or unchanged since (see
    # _policy_current): a verification applies a change saved anywhere at once.
    remembered = recent or _policy_current()
    site_settings = (
        _recent_settings(site.pk) if remembered else SiteSettings.objects.for_site(site)
    )
    if not site_settings.receives(kind):
        raise TargetNotPingable(f"This site does not accept {Kind(kind).label}s.")
    if not registration.accepts_pings(target):
        raise TargetNotPingable("Pings are closed for this target.")
    is_blocked = _recently_blocked if remembered else BlockedDomain.is_blocked
    if is_blocked(urlsplit(source_url).hostname or ""):
        raise AccessDenied("Pings from this source are refused.")
    return Admitted(source_url, target_url, target, site_settings)
