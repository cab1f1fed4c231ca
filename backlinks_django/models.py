"""Backlinks received through any protocol, and per-site switches."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.contrib.sites.models import Site
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backlinks_django import limits
from backlinks_django.choices import Kind, MentionType, ModerationPolicy, Outcome, Status
from backlinks_django.weburl import host_key

if TYPE_CHECKING:
    from django.db.models import Model


def object_lookup(obj: Model) -> dict[str, object]:
    """Filter arguments for the rows about ``obj`` (generic relation fields)."""
    return {"content_type": ContentType.objects.get_for_model(obj), "object_id": str(obj.pk)}


class BacklinkQuerySet(models.QuerySet["Backlink"]):
    def approved(self) -> BacklinkQuerySet:
        return self.filter(status=Status.APPROVED)

    def pending(self) -> BacklinkQuerySet:
        return self.filter(status=Status.PENDING)

    def for_object(self, obj: Model) -> BacklinkQuerySet:
        return self.filter(**object_lookup(obj))


class Backlink(models.Model):
    """A link from another page to one of this site's objects, announced by a ping."""

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    reason = models.CharField(
        _("reason"),
        max_length=limits.REASON,
        blank=True,
        help_text=_("Why a check held or flagged this backlink."),
    )
    site = models.ForeignKey(Site, on_delete=models.CASCADE, verbose_name=_("site"))
    content_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, verbose_name=_("target type")
    )
    object_id = models.CharField(_("target id"), max_length=64)
    target = GenericForeignKey("content_type", "object_id")
    target_url = models.URLField(_("target URL"), max_length=limits.URL)
    source_url = models.URLField(_("source URL"), max_length=limits.URL)
    title = models.CharField(_("title"), max_length=limits.TITLE, blank=True)
    excerpt = models.TextField(_("excerpt"), blank=True)
    blog_name = models.CharField(_("blog name"), max_length=limits.BLOG_NAME, blank=True)
    mention_type = models.CharField(
        _("type"), max_length=20, choices=MentionType.choices, default=MentionType.MENTION
    )
    author_name = models.CharField(_("author"), max_length=limits.AUTHOR_NAME, blank=True)
    author_url = models.URLField(_("author URL"), max_length=limits.URL, blank=True)
    author_photo = models.URLField(_("author photo"), max_length=limits.URL, blank=True)
    published = models.DateTimeField(_("published at source"), null=True, blank=True)
    remote_ip = models.GenericIPAddressField(_("remote IP"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=limits.USER_AGENT, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = BacklinkQuerySet.as_manager()

    class Meta:
        verbose_name = _("backlink")
        verbose_name_plural = _("backlinks")
        ordering: ClassVar[list[str]] = ["-received_at"]
        permissions = [("moderate_backlink", "Can moderate backlinks")]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            # One backlink per (target, source) whatever the protocol: two
            # concurrent identical pings must end as one row.
            models.UniqueConstraint(
                fields=["content_type", "object_id", "source_url"],
                name="backlinks_one_per_target_and_source",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(
                fields=["content_type", "object_id", "status", "received_at"],
                name="backlinks_target_status",
            ),
            models.Index(fields=["status", "received_at"], name="backlinks_status_received"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.source_url}"

    @property
    def source_domain(self) -> str:
        return (urlsplit(self.source_url).hostname or "").lower()


class BlockedDomain(models.Model):
    """A source domain (and its subdomains) whose pings are refused."""

    domain = models.CharField(_("domain"), max_length=limits.HOST, unique=True)
    created_at = models.DateTimeField(_("blocked"), default=timezone.now)

    class Meta:
        verbose_name = _("blocked domain")
        verbose_name_plural = _("blocked domains")
        ordering: ClassVar[list[str]] = ["domain"]

    def __str__(self) -> str:
        return self.domain

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.domain = host_key(self.domain)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        # Before the unique check, so "Пример.com" is refused when "xn--e1afmkfd.com" exists.
        self.domain = host_key(self.domain)

    @classmethod
    def is_blocked(cls, host: str) -> bool:
        """Whether host or one of its parent domains is blocked, in whichever IDNA spelling."""
        labels = host_key(host).split(".")
        candidates = [".".join(labels[i:]) for i in range(len(labels))]
        return cls.objects.filter(domain__in=candidates).exists()


class OutboundPingQuerySet(models.QuerySet["OutboundPing"]):
    def for_object(self, obj: Model) -> OutboundPingQuerySet:
        return self.filter(**object_lookup(obj))

    def due(self) -> OutboundPingQuerySet:
        """Waiting for a first attempt, or for a retry whose time has come."""
        return self.filter(
            models.Q(outcome=Outcome.PENDING)
            | models.Q(next_attempt_at__isnull=False, next_attempt_at__lte=timezone.now())
        )

    def not_in_flight(self) -> OutboundPingQuerySet:
        """Rows no task is sending right now (unclaimed, or their claim has run out)."""
        return self.filter(
            models.Q(claimed_until__isnull=True) | models.Q(claimed_until__lte=timezone.now())
        )


class OutboundPing(models.Model):
    """One link of one of this site's objects, and what pinging it gave."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, verbose_name=_("site"))
    content_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, verbose_name=_("source type")
    )
    object_id = models.CharField(_("source id"), max_length=64)
    source = GenericForeignKey("content_type", "object_id")
    target_url = models.URLField(
        _("target URL"),
        max_length=limits.URL,
        help_text=_("The linked URL, or the TrackBack ping URL an editor asked to notify."),
    )
    protocol = models.CharField(_("protocol"), max_length=20, choices=Kind.choices, blank=True)
    endpoint = models.URLField(_("endpoint"), max_length=limits.URL, blank=True)
    requested = models.BooleanField(
        _("requested by an editor"),
        default=False,
        help_text=_("A TrackBack URL an editor entered, rather than a link found in the content."),
    )
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=Outcome.choices, default=Outcome.PENDING
    )
    fault_code = models.IntegerField(_("fault code"), null=True, blank=True)
    message = models.TextField(_("last answer or error"), blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    # Set while a task sends this row (send.claim); its value is that task's mark.
    claimed_until = models.DateTimeField(_("being sent until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    sent_at = models.DateTimeField(_("last attempt"), null=True, blank=True)

    objects = OutboundPingQuerySet.as_manager()

    class Meta:
        verbose_name = _("outbound ping")
        verbose_name_plural = _("outbound pings")
        ordering: ClassVar[list[str]] = ["-updated_at"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "target_url"],
                name="backlinks_one_outbound_per_link",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["outcome", "next_attempt_at"], name="backlinks_outbound_due"),
        ]

    def __str__(self) -> str:
        return f"{self.target_url} ({self.get_outcome_display()})"


class SiteSettingsManager(models.Manager["SiteSettings"]):
    def for_site(self, site: Site) -> SiteSettings:
        """The site's settings row, or an unsaved one holding the defaults.

        Not cached: worker processes must see a switch flipped in the admin
        at once, and the lookup is a single primary-key query.
        """
        try:
            return self.get(site=site)
        except self.model.DoesNotExist:
            return self.model(site=site)


class SiteSettings(models.Model):
    """Per-site switches; a site without a row uses the field defaults."""

    site = models.OneToOneField(
        Site, on_delete=models.CASCADE, related_name="backlink_settings", verbose_name=_("site")
    )
    receive_pingbacks = models.BooleanField(_("receive pingbacks"), default=True)
    receive_trackbacks = models.BooleanField(_("receive trackbacks"), default=True)
    receive_webmentions = models.BooleanField(_("receive webmentions"), default=True)
    send_pings = models.BooleanField(_("send pings"), default=True)
    self_pings = models.BooleanField(
        _("self-pings"),
        default=True,
        help_text=_("Ping this site's own objects when one links to another."),
    )
    moderation = models.CharField(
        _("moderation"),
        max_length=10,
        choices=ModerationPolicy.choices,
        default=ModerationPolicy.HOLD,
    )

    objects = SiteSettingsManager()

    class Meta:
        verbose_name = _("site backlink settings")
        verbose_name_plural = _("site backlink settings")

    def __str__(self) -> str:
        return str(self.site)

    def receives(self, kind: str) -> bool:
        """Whether this site accepts backlinks of ``kind``."""
        return {
            Kind.PINGBACK: self.receive_pingbacks,
            Kind.TRACKBACK: self.receive_trackbacks,
            Kind.WEBMENTION: self.receive_webmentions,
        }.get(Kind(kind), False)


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
