"""E-mail about received backlinks: to the managers per held backlink, to an object's author
once per batch of backlinks held or approved."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.contenttypes.models import ContentType
from django.contrib.sites.models import Site
from django.core.cache import caches
from django.core.mail import mail_managers, send_mail
from django.db import models
from django.utils import timezone

from backlinks_django import registry
from backlinks_django.choices import Status
from backlinks_django.conf import app_settings
from backlinks_django.models import Backlink

__all__ = ["notify_author", "notify_managers", "open_author_batch"]

logger = logging.getLogger(__name__)

# Seconds the time of an author's last e-mail is kept: the next one lists what came since.
_LAST_SENT_KEPT = 30 * 24 * 3600
# How far before the last e-mail the next one looks for backlinks committed late.
_OVERLAP = timedelta(seconds=60)


@dataclass(frozen=True)
class LastSent:
    """When an author was last e-mailed, and the backlinks of the overlap it listed."""

    at: datetime
    # Backlink pk → its updated_at when listed: listed again only once changed.
    listed: dict[int, datetime]


def notify_managers(backlink: Backlink) -> None:
    """E-mail ``settings.MANAGERS`` that ``backlink`` awaits moderation; a mail error is logged."""
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


def _batch_key(content_type_id: int, object_pk: str) -> str:
    return f"backlinks:author-batch:{content_type_id}:{object_pk}"


def _sent_key(content_type_id: int, object_pk: str) -> str:
    return f"backlinks:author-sent:{content_type_id}:{object_pk}"


def open_author_batch(content_type_id: int, object_pk: str) -> bool:
    """Start a batch of news for one object's author, unless one is open; whether it started.

    A batch stays open ``NOTIFY_AUTHORS_WINDOW`` seconds, in the shared ``RATE_LIMIT_CACHE``,
    so however many processes receive pings, one of them opens it and queues its e-mail.
    """
    window = app_settings.NOTIFY_AUTHORS_WINDOW
    cache = caches[app_settings.RATE_LIMIT_CACHE]
    return not window or cache.add(_batch_key(content_type_id, object_pk), 1, timeout=window)


def notify_author(obj: models.Model, since: datetime) -> int:
    """E-mail ``obj``'s author once about its backlinks held or approved since the last such
    e-mail (or ``since``); return how many it listed. A mail error is logged."""
    registration = registry.get_registration(obj)
    address = registration.get_author_email(obj) if registration is not None else ""
    if registration is None or not address:
        return 0
    key = _sent_key(ContentType.objects.get_for_model(obj).pk, str(obj.pk))
    cache = caches[app_settings.RATE_LIMIT_CACHE]
    last = cache.get(key)
    if isinstance(last, LastSent):
        since = last.at
    now = timezone.now()
    # A backlink is saved a moment before its transaction commits: look back a little further,
    # leaving out what the last e-mail listed as it is now.
    recent = (
        Backlink.objects.for_object(obj)
        .filter(status__in=[Status.PENDING, Status.APPROVED], updated_at__gte=since - _OVERLAP)
        .order_by("received_at", "pk")
    )
    listed = last.listed if isinstance(last, LastSent) else {}
    backlinks = [b for b in recent if listed.get(b.pk) != b.updated_at]
    if not backlinks:
        return 0
    site = Site.objects.get_current()
    subject, body = _author_message(obj, registration.absolute_url(obj, site.domain), backlinks)
    try:
        send_mail(subject, body, None, [address])
    except OSError:  # smtplib's errors included
        logger.warning("Could not e-mail the author of %s about %d backlinks", obj, len(backlinks))
        return 0
    overlap = {b.pk: b.updated_at for b in recent if b.updated_at >= now - _OVERLAP}
    cache.set(key, LastSent(now, overlap), timeout=_LAST_SENT_KEPT)
    return len(backlinks)


def _author_message(obj: models.Model, url: str, backlinks: list[Backlink]) -> tuple[str, str]:
    held = sum(1 for b in backlinks if b.status == Status.PENDING)
    approved = len(backlinks) - held
    counts = ", ".join(
        part
        for part in (
            f"{held} awaiting moderation" if held else "",
            f"{approved} approved" if approved else "",
        )
        if part
    )
    noun = "backlink" if len(backlinks) == 1 else "backlinks"
    subject = f"{len(backlinks)} {noun} to “{obj}” ({counts})"
    lines = [f"Backlinks to {url}:", ""]
    for backlink in backlinks:
        state = "Approved" if backlink.status == Status.APPROVED else "Awaiting moderation"
        lines.append(f"- {state}: {backlink.title or backlink.source_url}")
        lines.append(f"  {backlink.get_kind_display()} from {backlink.source_url}")
        if backlink.status == Status.PENDING and backlink.reason:
            lines.append(f"  Reason held: {backlink.reason}")
    return subject, "\n".join(lines)
