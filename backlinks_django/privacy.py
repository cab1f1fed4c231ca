"""One person's data: found by what identifies them, exported as JSON, erased."""

from __future__ import annotations

import ipaddress
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import validate_email
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from backlinks_django import batches, keys
from backlinks_django.models import Backlink, BlockedDomain, InboundPing
from backlinks_django.weburl import host_forms, host_key, normalize_url

__all__ = [
    "Erasure",
    "Found",
    "InvalidSelector",
    "Selector",
    "erase",
    "export",
    "export_json",
    "find",
]


class InvalidSelector(ValueError):
    """A selector value that names no one (not an address, a domain, a URL or an e-mail)."""


@dataclass(frozen=True)
class Selector:
    """What identifies one person: any of these IP addresses, source domains (subdomains
    included), author URLs or e-mail addresses; a row matching any one of them is theirs."""

    ips: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    author_urls: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "ips", tuple(_address(ip) for ip in self.ips))
        object.__setattr__(self, "domains", tuple(_domain(d) for d in self.domains))
        object.__setattr__(self, "author_urls", tuple(_web_url(u) for u in self.author_urls))
        object.__setattr__(self, "emails", tuple(_email(e) for e in self.emails))
        if not (self.ips or self.domains or self.author_urls or self.emails):
            raise InvalidSelector("Name at least one IP address, domain, author URL or e-mail.")

    def as_dict(self) -> dict[str, list[str]]:
        names = ("ips", "domains", "author_urls", "emails")
        return {name: list(getattr(self, name)) for name in names if getattr(self, name)}


def _address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise InvalidSelector(f"{value!r} is not an IP address.") from None


def _domain(value: str) -> str:
    domain = host_key(value.strip().strip("[]"))
    if not domain or "/" in domain or ":" in domain or " " in domain:
        raise InvalidSelector(f"{value!r} is not a domain name.")
    return domain


def _web_url(value: str) -> str:
    url = value.strip()
    if not re.match(r"(?i)^https?://[^/?#]", url):
        raise InvalidSelector(f"{value!r} is not an http(s) URL.")
    return url


def _email(value: str) -> str:
    try:
        validate_email(value.strip())
    except ValidationError:
        raise InvalidSelector(f"{value!r} is not an e-mail address.") from None
    return value.strip()


def _ip_forms(address: str) -> set[str]:
    """An address as it may be stored: an IPv4 one also IPv4-mapped, and the reverse."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv4Address):
        return {address, f"::ffff:{address}"}
    if ip.ipv4_mapped is not None:
        return {address, f"::ffff:{ip.ipv4_mapped}", str(ip.ipv4_mapped)}
    return {address}


def _url_variants(url: str) -> set[str]:
    """The spellings of one author URL: as given, normalized, with and without the final
    slash, by http and https."""
    variants = {url, normalize_url(url)}
    variants |= {v.rstrip("/") for v in variants} | {v.rstrip("/") + "/" for v in variants}
    swapped = {re.sub(r"(?i)^https?://", "", v) for v in variants}
    return variants | {f"{scheme}://{rest}" for scheme in ("http", "https") for rest in swapped}


def _on_host(column: str, domain: str) -> Q:
    """Rows whose URL in ``column`` is on ``domain`` or one of its subdomains."""
    matches = Q()
    for form in host_forms(domain):
        pattern = rf"^https?://([^/?#@]*\.)?{re.escape(form)}\.?(:[0-9]+)?([/?#]|$)"
        # The LIKE lets the database skip most rows before it runs the regular expression.
        matches |= Q(**{f"{column}__icontains": form, f"{column}__iregex": pattern})
    return matches


def _text_contains(columns: Iterable[str], needle: str) -> Q:
    matches = Q()
    for column in columns:
        matches |= Q(**{f"{column}__icontains": needle})
    return matches


def _backlink_match(selector: Selector) -> Q:
    match = Q()
    for ip in selector.ips:
        match |= Q(remote_ip__in=_ip_forms(ip))
    for domain in selector.domains:
        for column in ("source_url", "original_url", "author_url"):
            match |= _on_host(column, domain)
    for url in selector.author_urls:
        match |= Q(author_url__in=_url_variants(url))
    for email in selector.emails:
        match |= _text_contains(("author_name", "title", "excerpt", "blog_name"), email)
    return match


def _inbound_match(selector: Selector) -> Q:
    # Queue rows that became one of the person's backlinks are theirs too.
    match = Q(backlink__in=Backlink.objects.filter(_backlink_match(selector)).values("pk"))
    for ip in selector.ips:
        match |= Q(remote_ip__in=_ip_forms(ip))
        # A row whose address is gone but whose sender key (the address, or its IPv6
        # network) was derived from it.
        match |= Q(remote_ip__isnull=True, sender=keys.sender_key(ip))
    for domain in selector.domains:
        match |= _on_host("source_url", domain)
    for email in selector.emails:
        match |= _text_contains(("title", "excerpt", "blog_name"), email)
    return match


@dataclass(frozen=True)
class Found:
    """The rows holding one person's data."""

    backlinks: models.QuerySet[Backlink]
    inbound_pings: models.QuerySet[InboundPing]
    blocked_domains: models.QuerySet[BlockedDomain]


def find(selector: Selector) -> Found:
    """Every row holding data of the person ``selector`` names."""
    blocked = Q(pk__in=[])
    for domain in selector.domains:
        blocked |= Q(domain=domain) | Q(domain__endswith=f".{domain}")
    return Found(
        backlinks=Backlink.objects.filter(_backlink_match(selector)),
        inbound_pings=InboundPing.objects.filter(_inbound_match(selector)),
        blocked_domains=BlockedDomain.objects.filter(blocked),
    )


BACKLINK_FIELDS = (
    "id",
    "kind",
    "status",
    "reason",
    "site__domain",
    "target_url",
    "source_url",
    "original_url",
    "title",
    "excerpt",
    "blog_name",
    "mention_type",
    "author_name",
    "author_url",
    "author_photo",
    "avatar",  # the stored copy's name in the site's storage (deleted with the backlink)
    "published",
    "remote_ip",
    "user_agent",
    "received_at",
    "updated_at",
)
# ``detail`` is left out: it is for the site's staff (what the fetcher saw of its network).
INBOUND_FIELDS = (
    "id",
    "kind",
    "state",
    "site__domain",
    "source_url",
    "target_url",
    "title",
    "excerpt",
    "blog_name",
    "remote_ip",
    "user_agent",
    "sender",
    "source_domain",
    "message",
    "received_at",
    "updated_at",
    "backlink_id",
)


def export(selector: Selector) -> dict[str, Any]:
    """The person's data as a JSON-ready dict (dates as datetimes: dump with
    ``DjangoJSONEncoder``): their backlinks, queue rows and blocked domains."""
    found = find(selector)

    def rows(queryset: models.QuerySet[Any], names: tuple[str, ...]) -> list[dict[str, Any]]:
        values = queryset.order_by("received_at").values(*names).iterator(chunk_size=batches.BATCH)
        return [
            {name.replace("site__domain", "site"): v for name, v in row.items()} for row in values
        ]

    return {
        "selector": selector.as_dict(),
        "exported_at": timezone.now(),
        "backlinks": rows(found.backlinks, BACKLINK_FIELDS),
        "inbound_pings": rows(found.inbound_pings, INBOUND_FIELDS),
        "blocked_domains": list(found.blocked_domains.values("domain", "created_at")),
    }


def export_json(data: dict[str, Any]) -> str:
    """An :func:`export` as JSON text."""
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)


@dataclass(frozen=True)
class Erasure:
    """Rows deleted per table (model label), and rows kept on purpose, with why."""

    deleted: dict[str, int] = field(default_factory=dict)
    kept: dict[str, tuple[int, str]] = field(default_factory=dict)


def erase(selector: Selector) -> Erasure:
    """Delete every row holding the person's data, in batches; the admin's history entries
    about those rows go too. Blocked domains are kept: they only keep refusing pings."""
    found = find(selector)
    deleted: Counter[str] = Counter()
    # Queue rows first: deleting a backlink unlinks the queue rows that matched through it.
    for model, queryset in ((InboundPing, found.inbound_pings), (Backlink, found.backlinks)):
        for ids in batches.pk_batches(queryset):
            with transaction.atomic():
                deleted.update(_delete_history(model, ids))
                _total, per_model = model._base_manager.filter(pk__in=ids).delete()
                deleted.update(per_model)
    blocked = found.blocked_domains.count()
    kept = {}
    if blocked:
        kept[BlockedDomain._meta.label] = (blocked, "kept so that the domain stays refused")
    return Erasure(deleted={k: v for k, v in deleted.items() if v}, kept=kept)


def _delete_history(model: type[models.Model], ids: list[Any]) -> dict[str, int]:
    """Delete the admin's history entries (``LogEntry``) about these rows: their names hold
    the source URL."""
    if not apps.is_installed("django.contrib.admin"):
        return {}
    from django.contrib.admin.models import LogEntry

    entries = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(model),
        object_id__in=[str(pk) for pk in ids],
    )
    return entries.delete()[1]
