"""Per-site switches: which protocols a site receives, whether it sends, how it moderates."""

from __future__ import annotations

from django.contrib.sites.models import Site
from django.db import models
from django.utils.translation import gettext_lazy as _

from backlinks_django.choices import Kind, ModerationPolicy


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
