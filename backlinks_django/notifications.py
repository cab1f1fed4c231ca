"""E-mail to the site's managers about received backlinks waiting for moderation."""

from __future__ import annotations

import logging

from django.core.mail import mail_managers

from backlinks_django.models import Backlink

__all__ = ["notify_managers"]

logger = logging.getLogger(__name__)


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
