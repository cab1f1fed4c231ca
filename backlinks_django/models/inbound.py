"""Received pings of any protocol waiting for, or done with, their verification in a task."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from django.contrib.contenttypes.models import ContentType
from django.contrib.sites.models import Site
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backlinks_django import limits
from backlinks_django.choices import Kind
from backlinks_django.models.backlinks import Backlink


class InboundPingQuerySet(models.QuerySet["InboundPing"]):
    def waiting(self) -> InboundPingQuerySet:
        """Rows not yet verified: queued, or being verified now."""
        return self.filter(state__in=[InboundPing.State.QUEUED, InboundPing.State.VERIFYING])

    def due(self, now: datetime | None = None) -> InboundPingQuerySet:
        """Queued rows whose time has come, and rows whose verifier's claim ran out."""
        now = now or timezone.now()
        queued = Q(state=InboundPing.State.QUEUED) & (
            Q(not_before__isnull=True) | Q(not_before__lte=now)
        )
        abandoned = Q(state=InboundPing.State.VERIFYING, claimed_until__lte=now)
        return self.filter(queued | abandoned)

    def fair_order(self) -> InboundPingQuerySet:
        """Round robin over senders and source domains: by ``turn`` (see
        :func:`backlinks_django.inbound._turn_sql`), oldest first within a turn."""
        return self.order_by("turn", "received_at")


class InboundPing(models.Model):
    """A received ping waiting for, or done with, verification in a task (any protocol)."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        VERIFYING = "verifying", _("Being verified")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")
        REMOVED = "removed", _("Removed at source")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    site = models.ForeignKey(Site, on_delete=models.CASCADE, verbose_name=_("site"))
    source_url = models.URLField(_("source URL"), max_length=limits.URL)
    target_url = models.URLField(_("target URL"), max_length=limits.URL)
    # The target object when the endpoint knew it (TrackBack's per-object URLs).
    target_content_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    target_object_id = models.CharField(max_length=255, blank=True)
    # What the sender said (TrackBack's fields), as received: the spam checks judge the raw text.
    title = models.TextField(_("title"), blank=True)
    excerpt = models.TextField(_("excerpt"), blank=True)
    blog_name = models.TextField(_("blog name"), blank=True)
    remote_ip = models.GenericIPAddressField(_("remote IP"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=limits.USER_AGENT, blank=True)
    # Fairness and caps: the sender's network (keys.sender_key), the source's registrable domain.
    sender = models.CharField(_("sender"), max_length=64, blank=True)
    source_domain = models.CharField(_("source domain"), max_length=limits.HOST, blank=True)
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.QUEUED
    )
    # ``message`` may be shown to the sender; ``detail`` is for the site's staff only.
    message = models.CharField(_("message"), max_length=limits.MESSAGE, blank=True)
    detail = models.CharField(_("detail"), max_length=limits.MESSAGE, blank=True)
    backlink = models.ForeignKey(
        Backlink, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("backlink")
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # Fair queuing: the round in which the row is served (inbound._turn_sql).
    turn = models.PositiveBigIntegerField(_("turn"), default=0)
    not_before = models.DateTimeField(_("not before"), null=True, blank=True)
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = InboundPingQuerySet.as_manager()

    class Meta:
        verbose_name = _("inbound ping")
        verbose_name_plural = _("inbound pings")
        ordering: ClassVar[list[str]] = ["-received_at"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["state", "sender"], name="backlinks_inbound_sender"),
            models.Index(fields=["state", "received_at"], name="backlinks_inbound_state"),
            models.Index(fields=["state", "turn", "received_at"], name="backlinks_inbound_turn"),
            models.Index(fields=["state", "source_domain"], name="backlinks_inbound_domain"),
        ]

    def __str__(self) -> str:
        return f"{self.source_url} → {self.target_url} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state not in (self.State.QUEUED, self.State.VERIFYING)
