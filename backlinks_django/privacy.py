"""Personal data: the retention limits applied, and one person's data found, exported, erased."""

from __future__ import annotations

import ipaddress
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import validate_email
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from backlinks_django import inbound, keys
from backlinks_django.conf import app_settings
from backlinks_django.models import Backlink, BlockedDomain, InboundPing
from backlinks_django.weburl import host_forms, host_key, normalize_url

__all__ = [
    "Erasure",
    "Found",
    "InvalidSelector",
    "Retention",
    "Selector",
    "apply_retention",
    "delete_orphans",
    "erase",
    "export",
    "export_json",
    "find",
]

# Rows read, changed or deleted per statement: short transactions and bounded memory at any size.
BATCH = 5000

_WAITING = [InboundPing.State.QUEUED, InboundPing.State.VERIFYING]

M = TypeVar("M", bound=models.Model)


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
        values = queryset.order_by("received_at").values(*names).iterator(chunk_size=BATCH)
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
        for ids in _pk_batches(queryset):
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


@dataclass(frozen=True)
class Retention:
    """What one retention run changed."""

    backlinks_cleared: int = 0
    inbound_cleared: int = 0
    inbound_deleted: int = 0
    orphans_deleted: int = 0


def apply_retention() -> Retention:
    """Apply the retention settings; idempotent, and safe while pings arrive.

    Deletes finished queue rows older than ``INBOUND_KEEP_DAYS``; clears IP addresses and user
    agents (and queue rows' sender keys) recorded more than ``IP_KEEP_DAYS`` ago; and, with
    ``DELETE_BACKLINKS_WITH_OBJECT``, deletes backlinks whose object no longer exists.
    """
    # First: rows about to be deleted need no clearing.
    inbound_deleted = inbound.prune(app_settings.INBOUND_KEEP_DAYS)
    backlinks_cleared = inbound_cleared = 0
    if app_settings.IP_KEEP_DAYS is not None:
        cutoff = timezone.now() - timedelta(days=app_settings.IP_KEEP_DAYS)
        with_sender = Q(remote_ip__isnull=False) | ~Q(user_agent="")
        backlinks_cleared = _update(
            Backlink.objects.filter(with_sender, received_at__lt=cutoff),
            remote_ip=None,
            user_agent="",
        )
        inbound_cleared = _update(
            InboundPing.objects.exclude(state__in=_WAITING).filter(
                with_sender | ~Q(sender=""), received_at__lt=cutoff
            ),
            remote_ip=None,
            user_agent="",
            sender="",
        )
    return Retention(
        backlinks_cleared=backlinks_cleared,
        inbound_cleared=inbound_cleared,
        inbound_deleted=inbound_deleted,
        orphans_deleted=delete_orphans() if app_settings.DELETE_BACKLINKS_WITH_OBJECT else 0,
    )


def delete_orphans() -> int:
    """Delete backlinks whose object no longer exists (deleted without signals, by raw SQL,
    or while ``DELETE_BACKLINKS_WITH_OBJECT`` was off); return how many.

    Backlinks of a model that is no longer installed are kept: a missing app is no proof
    that its objects are gone.
    """
    deleted = 0
    content_types = Backlink.objects.order_by().values_list("content_type", flat=True).distinct()
    for content_type_id in list(content_types):
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        if model is None:
            continue
        object_ids = (
            Backlink.objects.filter(content_type_id=content_type_id)
            .order_by("object_id")
            .values_list("object_id", flat=True)
            .distinct()
        )
        # Read in full before deleting: a cursor still open on the table would see the deletes.
        for batch in _chunks(iter(list(object_ids)), BATCH):
            missing = _missing(model, batch)
            if missing:
                orphans = Backlink.objects.filter(
                    content_type_id=content_type_id, object_id__in=missing
                )
                deleted += sum(_delete(orphans))
    return deleted


def _missing(model: type[models.Model], object_ids: list[str]) -> list[str]:
    """Which of these ids name no object (an id the primary key cannot hold names none)."""
    pk = model._meta.pk
    assert pk is not None
    keys_by_id: dict[str, Any] = {}
    for object_id in object_ids:
        try:
            keys_by_id[object_id] = pk.to_python(object_id)
        except ValidationError:
            pass
    # The base manager: a default manager may hide objects (drafts) that still exist.
    found = model._base_manager.filter(pk__in=list(keys_by_id.values())).values_list("pk")
    existing = {str(key) for (key,) in found}
    return [
        oid for oid in object_ids if oid not in keys_by_id or str(keys_by_id[oid]) not in existing
    ]


def _pk_batches(queryset: models.QuerySet[M]) -> Iterator[list[Any]]:
    """The primary keys of ``queryset`` in batches, in key order (each batch read after the
    previous one was dealt with, so rows changed or deleted meanwhile are not read again)."""
    ordered = queryset.order_by("pk").values_list("pk", flat=True)
    last = None
    while True:
        page = ordered if last is None else ordered.filter(pk__gt=last)
        ids = list(page[:BATCH])
        if not ids:
            return
        yield ids
        last = ids[-1]


def _update(queryset: models.QuerySet[M], **values: Any) -> int:
    """``queryset.update(**values)`` in batches; how many rows changed."""
    return sum(queryset.filter(pk__in=ids).update(**values) for ids in _pk_batches(queryset))


def _delete(queryset: models.QuerySet[M]) -> Iterator[int]:
    for ids in _pk_batches(queryset):
        yield queryset.model._base_manager.filter(pk__in=ids).delete()[0]


def _chunks(items: Iterator[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
