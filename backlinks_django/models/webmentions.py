"""Received Webmentions waiting for, or done with, their asynchronous verification."""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.contrib.sites.models import Site
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backlinks_django import limits
from backlinks_django.models.backlinks import Backlink


class WebmentionRequest(models.Model):
    """A received Webmention waiting for, or done with, its asynchronous verification."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")
        REMOVED = "removed", _("Removed at source")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    site = models.ForeignKey(Site, on_delete=models.CASCADE, verbose_name=_("site"))
    source_url = models.URLField(_("source URL"), max_length=limits.URL)
    target_url = models.URLField(_("target URL"), max_length=limits.URL)
    remote_ip = models.GenericIPAddressField(_("remote IP"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=limits.USER_AGENT, blank=True)
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.QUEUED
    )
    message = models.CharField(_("message"), max_length=limits.MESSAGE, blank=True)
    backlink = models.ForeignKey(
        Backlink, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("backlink")
    )
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("webmention request")
        verbose_name_plural = _("webmention requests")
        ordering: ClassVar[list[str]] = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.source_url} → {self.target_url} ({self.state})"
