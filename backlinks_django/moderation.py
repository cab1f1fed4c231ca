"""One function per moderation step, on whole querysets; admin, commands and views call these."""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from backlinks_django.models import Backlink, BlockedDomain, Status
from backlinks_django.signals import backlink_approved, backlink_status_changed


def set_status(backlinks: QuerySet[Backlink], status: Status, reason: str | None = None) -> int:
    """Move ``backlinks`` to ``status``; return how many rows changed and signal them."""
    with transaction.atomic():
        ids = list(backlinks.exclude(status=status).values_list("pk", flat=True))
        changed = Backlink.objects.filter(pk__in=ids)
        values: dict[str, object] = {"status": status, "updated_at": timezone.now()}
        if reason is not None:
            values["reason"] = reason
        count = changed.update(**values)
    if count:
        backlink_status_changed.send(sender=Backlink, backlinks=changed, status=status)
        if status == Status.APPROVED:
            backlink_approved.send(sender=Backlink, backlinks=changed)
    return count


def approve(backlinks: QuerySet[Backlink]) -> int:
    """Approve: shown on the target's page."""
    return set_status(backlinks, Status.APPROVED)


def unapprove(backlinks: QuerySet[Backlink]) -> int:
    """Back to pending."""
    return set_status(backlinks, Status.PENDING)


def mark_spam(backlinks: QuerySet[Backlink]) -> int:
    """Mark as spam."""
    return set_status(backlinks, Status.SPAM)


def reject(backlinks: QuerySet[Backlink]) -> int:
    """Reject: kept for the record, never shown."""
    return set_status(backlinks, Status.REJECTED)


def block_domains(domains: Iterable[str]) -> tuple[list[str], int]:
    """Block source domains: their backlinks become spam, future pings are refused.

    Returns the newly blocked domains and how many backlinks became spam.
    """
    # Longer than a DNS name can be (older rows may hold such hosts): nothing to block.
    cleaned = sorted({d.lower().rstrip(".") for d in domains if d and len(d.rstrip(".")) <= 253})
    existing = set(
        BlockedDomain.objects.filter(domain__in=cleaned).values_list("domain", flat=True)
    )
    new = [d for d in cleaned if d not in existing]
    BlockedDomain.objects.bulk_create(
        [BlockedDomain(domain=d) for d in new], ignore_conflicts=True
    )
    if not cleaned:
        return new, 0
    from_domains = Q()
    for domain in cleaned:
        # The host is the domain or a subdomain, whatever scheme, port or path follows.
        pattern = rf"^https?://([^/?#@]*\.)?{re.escape(domain)}\.?(:[0-9]+)?([/?#]|$)"
        from_domains |= Q(source_url__iregex=pattern)
    count = set_status(Backlink.objects.filter(from_domains), Status.SPAM, reason="Blocked domain")
    return new, count
