"""One function per moderation step, on whole querysets; admin, commands and views call these."""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from backlinks_django import limits
from backlinks_django.admission import policy_changed
from backlinks_django.choices import Status
from backlinks_django.models import Backlink, BlockedDomain
from backlinks_django.signals import backlink_approved, backlink_status_changed
from backlinks_django.weburl import host_forms, host_key


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


def block_domains(hosts: Iterable[str]) -> tuple[list[str], int]:
    """Block source domains: their backlinks become spam, future pings are refused.

    Returns the domains now blocked (in their IDNA ASCII form) and how many backlinks
    became spam. A host longer than a DNS name can be (older rows may hold one) is skipped.
    """
    blocked = sorted({host_key(h) for h in hosts if h and len(host_key(h)) <= limits.HOST})
    BlockedDomain.objects.bulk_create(
        [BlockedDomain(domain=d) for d in blocked], ignore_conflicts=True
    )
    policy_changed()  # bulk_create sends no post_save
    if not blocked:
        return blocked, 0
    from_domains = Q()
    for domain in blocked:
        for form in host_forms(domain):
            # The host is the domain or a subdomain, whatever scheme, port or path follows.
            pattern = rf"^https?://([^/?#@]*\.)?{re.escape(form)}\.?(:[0-9]+)?([/?#]|$)"
            from_domains |= Q(source_url__iregex=pattern)
    count = set_status(Backlink.objects.filter(from_domains), Status.SPAM, reason="Blocked domain")
    return blocked, count
