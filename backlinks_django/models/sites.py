"""Per-site switches: which protocols a site receives, whether and to whom it sends, how it
moderates."""

from __future__ import annotations

from django.contrib.sites.models import Site
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from backlinks_django import limits
from backlinks_django.choices import Kind, ModerationPolicy

_url = URLValidator(schemes=["http", "https"])


def service_urls(value: str) -> list[str]:
    """The URLs of a one-a-line list: lines stripped, blank ones and repeats left out."""
    return list(dict.fromkeys(line.strip() for line in value.splitlines() if line.strip()))


def validate_service_urls(value: str) -> None:
    """Every line of ``value`` is an http(s) URL of at most ``limits.URL`` characters."""
    for url in service_urls(value):
        try:
            if len(url) > limits.URL:
                raise ValidationError("too long")
            _url(url)
        except ValidationError:
            raise ValidationError(
                _("%(url)s is not an http or https URL of at most %(max)d characters."),
                code="invalid",
                params={"url": url[:100], "max": limits.URL},
            ) from None


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
    send_pings = models.BooleanField(
        _("send pings"),
        default=True,
        help_text=_("Ping linked pages and notify update services when content is published."),
    )
    self_pings = models.BooleanField(
        _("self-pings"),
        default=True,
        help_text=_("Ping this site's own objects when one links to another."),
    )
    update_services = models.TextField(
        _("update services"),
        blank=True,
        validators=[validate_service_urls],
        help_text=_(
            "XML-RPC addresses of update services (such as http://rpc.pingomatic.com/), one a "
            "line, told with weblogUpdates.ping when content is first published."
        ),
    )
    feed_url = models.URLField(
        _("feed URL"),
        max_length=limits.URL,
        blank=True,
        help_text=_(
            "The site's feed: with it, update services are told with weblogUpdates.extendedPing."
        ),
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

    def update_service_urls(self) -> list[str]:
        """The valid URLs of :attr:`update_services` (a row saved without validation may hold
        others; they are left out)."""
        valid = []
        for url in service_urls(self.update_services):
            try:
                validate_service_urls(url)
            except ValidationError:
                continue
            valid.append(url)
        return valid

    def receives(self, kind: str) -> bool:
        """Whether this site accepts backlinks of ``kind``."""
        return {
            Kind.PINGBACK: self.receive_pingbacks,
            Kind.TRACKBACK: self.receive_trackbacks,
            Kind.WEBMENTION: self.receive_webmentions,
        }.get(Kind(kind), False)
